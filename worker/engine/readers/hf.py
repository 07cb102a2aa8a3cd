"""`hf_disk`: folders written by `datasets` `save_to_disk`, rows recognised by their columns."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from worker.engine.readers.canonical import _canonical_item
from worker.engine.readers.errors import DatasetFormatError, _Loc
from worker.engine.readers.medhalt import _medhalt_item
from worker.engine.readers.medmcqa import _medmcqa_items
from worker.engine.readers.medqa import _medqa_item, _mmedbench_language
from worker.engine.readers.pubmedqa import _pubmedqa_row
from worker.engine.types import Item


def _hf_shape(columns: set[str]) -> str | None:
    if {"opa", "cop"} <= columns:
        return "medmcqa"
    if "final_decision" in columns:
        return "pubmedqa"
    if "gold" in columns:
        return "canonical"
    if "answer_idx" in columns:
        mmedbench_only = {"rationale", "human_checked", "human_check_passed"}
        return "mmedbench" if columns & mmedbench_only else "medqa"
    if "options" in columns and columns & {"correct_index", "correct_answer", "split_type"}:
        return "medhalt"
    return None


def _drop_none(value: Any) -> Any:
    # Arrow gives every row every struct key, with None where a row had none.
    if isinstance(value, dict):
        return {key: item for key, item in value.items() if item is not None}
    return value


def _hf_items(
    folder: str, rows: Iterable[dict[str, Any]], shape: str, language: str | None, split: str
) -> Iterator[tuple[_Loc, Item]]:
    prefix = f"{split} " if split else ""
    located = (
        (_Loc(folder, index, f"{prefix}row [{index}]", split), row)
        for index, row in enumerate(rows)
    )
    if shape == "medmcqa":
        yield from _medmcqa_items(list(located), language or "en")
        return
    lang = _mmedbench_language(folder, language) if shape == "mmedbench" else language or "en"
    for loc, row in located:
        if shape == "canonical":
            record = {key: value for key, value in row.items() if value is not None}
            for key in ("options", "metadata", "bias"):
                if key in record:
                    record[key] = _drop_none(record[key])
            item = _canonical_item(record, loc, language=language)
        elif shape == "pubmedqa":
            item = _pubmedqa_row(row, loc, lang)
        elif shape == "medhalt":
            item = _medhalt_item(row, loc, language=lang)
        else:
            record = {**row, "options": _drop_none(row.get("options"))}
            item = _medqa_item(record, loc, language=lang, mmedbench=shape == "mmedbench")
        yield loc, item


def _read_hf_disk(folder: str, language: str | None) -> Iterator[tuple[_Loc, Item]]:
    import datasets  # heavy import, only where needed; load_from_disk never uses the hub

    try:
        loaded = datasets.load_from_disk(folder)
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise DatasetFormatError(
            f"is not a folder written by datasets' save_to_disk: {exc}",
            file=folder,
            code="unsupported_format",
        ) from None
    # A DatasetDict is read split by split; the split is kept in each item's metadata.
    is_dict = isinstance(loaded, datasets.DatasetDict)
    splits: list[tuple[str, Any]] = sorted(loaded.items()) if is_dict else [("", loaded)]
    for split, table in splits:
        columns = set(table.column_names)
        shape = _hf_shape(columns)
        if shape is None:
            raise DatasetFormatError(
                f"columns {', '.join(sorted(columns))} match no known format",
                file=folder,
                code="unsupported_format",
            )
        for loc, item in _hf_items(folder, iter(table), shape, language, split):
            yield loc, replace(item, metadata={**item.metadata, "split": split}) if split else item
