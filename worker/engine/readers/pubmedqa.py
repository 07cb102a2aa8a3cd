"""PubMedQA: `ori_pqal.json` keyed by PMID, or Hugging Face `pqa_labeled` rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from worker.engine.readers.errors import DatasetFormatError, _Loc
from worker.engine.readers.fields import _context, _is_blank, _kind, _text
from worker.engine.readers.records import _iter_json_records
from worker.engine.readers.text import _first_content_line, _read_document
from worker.engine.types import Item

_PUBMEDQA_OPTIONS = {"A": "yes", "B": "no", "C": "maybe"}


def _pubmedqa_item(
    pmid: str,
    question: str,
    decision: Any,
    context: Any,
    loc: _Loc,
    *,
    language: str,
    decision_field: str,
    context_field: str,
    metadata: dict[str, Any],
) -> Item:
    if _is_blank(decision):
        raise loc.error("missing_field", "is required (yes, no or maybe)", decision_field)
    answer = str(decision).strip().lower()
    gold = [letter for letter, text in _PUBMEDQA_OPTIONS.items() if text == answer]
    if not gold:
        raise loc.error(
            "invalid_value", f"must be yes, no or maybe, got {decision!r}", decision_field
        )
    return Item(
        id=pmid,
        question=question,
        options=dict(_PUBMEDQA_OPTIONS),
        gold=tuple(gold),
        source="pubmedqa",
        language=language,
        context=_context(context, loc, context_field),
        metadata={"pmid": pmid, **{k: v for k, v in metadata.items() if v is not None}},
    )


def _pubmedqa_row(record: dict[str, Any], loc: _Loc, language: str) -> Item:
    """The Hugging Face pqa_labeled row shape."""
    context = record.get("context")
    field = "context"
    if isinstance(context, dict):
        context, field = context.get("contexts"), "context.contexts"
    return _pubmedqa_item(
        _text(record, "pubid", loc),
        _text(record, "question", loc),
        record.get("final_decision"),
        context,
        loc,
        language=language,
        decision_field="final_decision",
        context_field=field,
        metadata={"long_answer": record.get("long_answer")},
    )


def _read_pubmedqa(file: str, language: str | None) -> Iterator[tuple[_Loc, Item]]:
    lang = language or "en"
    first = _first_content_line(file)
    row_shaped = first is not None and first.startswith("[")
    if first is not None and first.startswith("{"):
        try:
            head = json.loads(first)
        except (ValueError, RecursionError):  # the full parse below says what is wrong
            head = None
        row_shaped = isinstance(head, dict) and ("pubid" in head or "question" in head)
    if row_shaped:
        for loc, record in _iter_json_records(file):
            yield loc, _pubmedqa_row(record, loc, lang)
        return

    # ori_pqal.json: json keeps the last of repeated keys, so look at the top-level pairs,
    # which the hook sees last (json builds inner objects first).
    pairs: list[list[tuple[str, Any]]] = []

    def hook(found: list[tuple[str, Any]]) -> dict[str, Any]:
        pairs.append(found)
        return dict(found)

    document = _read_document(file, object_pairs_hook=hook)
    if not isinstance(document, dict):
        raise DatasetFormatError(
            f"must be a PubMedQA ori_pqal.json object keyed by PMID, or JSONL rows; got "
            f"{_kind(document)}",
            file=file,
            code="invalid_json",
        )
    seen: set[str] = set()
    for index, (pmid, record) in enumerate(pairs[-1]):
        loc = _Loc(file, index, f'["{pmid}"]')
        if pmid in seen:
            raise loc.error("duplicate_id", f"PMID {pmid} appears twice", "id")
        seen.add(pmid)
        if not isinstance(record, dict):
            raise loc.error("invalid_json", f"must be a JSON object, got {_kind(record)}")
        yield (
            loc,
            _pubmedqa_item(
                pmid,
                _text(record, "QUESTION", loc),
                record.get("final_decision"),
                record.get("CONTEXTS"),
                loc,
                language=lang,
                decision_field="final_decision",
                context_field="CONTEXTS",
                metadata={
                    "year": record.get("YEAR"),
                    "labels": record.get("LABELS"),
                    "meshes": record.get("MESHES"),
                    "long_answer": record.get("LONG_ANSWER"),
                },
            ),
        )
