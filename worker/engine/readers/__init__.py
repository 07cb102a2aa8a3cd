"""Dataset readers: turn evaluation files into canonical `Item`s.

`read_items(path, fmt=None, language=None)` reads one file (or one `save_to_disk` folder) and
returns a list of `worker.engine.types.Item`. Every problem in the file is reported as a
`DatasetFormatError` naming the file, the line and the field, with a stable `code`.

Our canonical format
====================

The same item in three encodings. `fmt=None` picks one from the extension.

JSONL (`.jsonl`, one JSON object a line; blank lines are skipped)::

    {"id": "kn-001", "source": "carealign-fixtures", "language": "en", "task": "mcq",
     "question": "...", "options": {"A": "...", "B": "...", "C": "...", "D": "..."},
     "gold": ["B"], "specialty": "cardiology", "context": ["optional passage"],
     "proposed": null, "bias": null, "metadata": {}}

- Required: `id` (text), `question`, `options` (2 to 10 letters in order from A, each mapped
  to non-empty text), `gold` (a non-empty list of option letters; a single letter string is
  accepted too).
- Optional: `source` ("carealign"), `language` (ISO 639-1, default "en" or the `language`
  argument), `task` ("mcq"; one of mcq, nota, fake, fct, vignette), `specialty`, `context`
  (list of passages), `metadata` (object), `parallel_id` (text: translations of one item
  share it; the multilingual check pairs languages only through it).
- `bias` = {"vignette_id", "attribute", "value", "variant": base|demographic|paraphrase} is
  required when task is "vignette" and refused otherwise.
- `proposed` (an option letter: the answer the model must judge) is required when task is
  "fct" and refused otherwise.
- Any other top-level field is refused (a typo must not lose data silently); put extra
  information under `metadata`.

JSON (`.json`): a JSON array of the same objects, or `{"items": [...]}`.

CSV (`.csv`, comma-separated, UTF-8, header row first). Columns: `id`, `question`, `A` ... `J`
(option columns; a blank cell means the option is absent, options must have no gaps), `gold`
(letters separated by ";", e.g. `A;C`), and optionally `language`, `task`, `specialty`,
`source`, `context` (passages separated by " || "), `proposed`, `vignette_id`, `attribute`,
`value`, `variant`, `parallel_id`. Unknown columns are refused.

Items are unique on (id, language): the same id may appear once per language (parallel
multilingual items), never twice in one language.

Public formats (pass `fmt`)
===========================

- `medqa`: MedQA JSONL `{"question", "options": {"A": ...}, "answer_idx": "B", "answer",
  "meta_info"}`; ids are `medqa-<line>`.
- `medmcqa`: `{"id", "question", "opa".."opd", "cop", "subject_name", "topic_name", "exp"}`
  as JSONL or a JSON array. `cop` is 1-4 in the original files and 0-3 in the Hugging Face
  copy: decided per file (a 0 means 0-based, a 4 means 1-based; with neither, 1-based is
  assumed) and recorded in each item's metadata as `cop_base` / `cop_base_source`.
- `pubmedqa`: `ori_pqal.json` (a dict keyed by PMID with QUESTION, CONTEXTS, final_decision)
  or rows of the Hugging Face `pqa_labeled` shape (`pubid, question, context{contexts},
  final_decision`) as JSONL. Options are A=yes, B=no, C=maybe; the id is the PMID.
- `mmedbench`: MMedBench JSONL `{"question", "options", "answer_idx", "rationale"}`;
  `answer_idx` may list several letters ("A,C"). One language per file: taken from the
  `language` argument, else from the file name (`French.jsonl` -> "fr").
- `medhalt`: Med-HALT reasoning CSVs (`id, subject_name, topic_name, split_type, dataset,
  len, year, exam_name, question, options` plus `correct_index`/`correct_answer`, and
  `student_index`/`student_answer` for FCT). `options` is a JSON or Python dict string.
  A row whose gold is "None of the above" is task "nota"; a row with a student answer is
  "fct"; a row with no answer at all (reasoning_fake.csv) is "fake", with the abstain
  option(s) ("I do not know", appended when missing) as gold.
- `hf_disk`: a folder written by `datasets.Dataset.save_to_disk` (or a DatasetDict), rows in
  any shape above, recognised by their columns.

Where `line` points: 1-based line for JSONL and CSV (the line a record starts on, header =
line 1, as an editor shows it), 0-based item index for JSON arrays and Hugging Face rows,
the text line for JSON syntax and encoding errors.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from worker.engine.readers.canonical import TASKS, VARIANTS, _read_csv, _read_json, _read_jsonl
from worker.engine.readers.errors import ERROR_CODES, DatasetFormatError, _Loc

# Re-exported so errors pickled before the split (as worker.engine.readers._rebuild_error) load.
from worker.engine.readers.errors import _rebuild_error as _rebuild_error
from worker.engine.readers.fields import _LANGUAGE_RE, LETTERS
from worker.engine.readers.hf import _read_hf_disk
from worker.engine.readers.medhalt import _read_medhalt
from worker.engine.readers.medmcqa import _read_medmcqa
from worker.engine.readers.medqa import MMEDBENCH_LANGUAGES, _read_medqa, _read_mmedbench
from worker.engine.readers.pubmedqa import _read_pubmedqa
from worker.engine.readers.storable import first_problem
from worker.engine.types import Item

__all__ = [
    "ERROR_CODES",
    "FORMATS",
    "LETTERS",
    "MMEDBENCH_LANGUAGES",
    "TASKS",
    "VARIANTS",
    "DatasetFormatError",
    "read_items",
    "summarize_items",
]


FORMATS: tuple[str, ...] = (
    "jsonl",
    "csv",
    "json",
    "medqa",
    "medmcqa",
    "pubmedqa",
    "mmedbench",
    "medhalt",
    "hf_disk",
)


_EXTENSIONS = {".jsonl": "jsonl", ".csv": "csv", ".json": "json"}


_Reader = Callable[[str, "str | None"], Iterator[tuple[_Loc, Item]]]


def read_items(
    path: str | os.PathLike[str], *, fmt: str | None = None, language: str | None = None
) -> list[Item]:
    """Read a dataset file (or save_to_disk folder) into canonical items."""
    file = os.fspath(path)
    if language is not None and not _LANGUAGE_RE.match(language):
        raise ValueError(f'language must be an ISO 639-1 code such as "en", got {language!r}')
    if fmt is None:
        fmt = _infer_format(file)
    elif fmt not in FORMATS:
        raise DatasetFormatError(
            f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}",
            file=file,
            code="unsupported_format",
        )
    is_dir = os.path.isdir(file)
    if fmt == "hf_disk" and not is_dir:
        raise DatasetFormatError(
            "hf_disk expects a folder written by datasets' save_to_disk",
            file=file,
            code="unsupported_format",
        )
    if fmt != "hf_disk" and is_dir:
        raise DatasetFormatError(
            f'is a folder; format "{fmt}" reads a single file', file=file, code="unsupported_format"
        )
    return _unique(_READERS[fmt](file, language), file)


def summarize_items(items: list[Item]) -> dict[str, Any]:
    """Return what the registry stores about a dataset version's content."""
    demographics: dict[str, set[str]] = {}
    for item in items:
        if item.bias is not None and item.bias.variant == "demographic":
            demographics.setdefault(item.bias.attribute, set()).add(item.bias.value)
    return {
        "row_count": len(items),
        "languages": sorted({item.language for item in items}),
        "specialties": sorted({item.specialty for item in items if item.specialty}),
        "tasks": dict(sorted(Counter(item.task for item in items).items())),
        "demographics": {key: sorted(values) for key, values in sorted(demographics.items())},
    }


def _infer_format(file: str) -> str:
    if os.path.isdir(file):
        return "hf_disk"
    suffix = Path(file).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    raise DatasetFormatError(
        f"cannot tell the format from the extension {suffix or '(none)'!r}; name the file "
        f".jsonl, .csv or .json, or give the format (--format, one of {', '.join(FORMATS)})",
        file=file,
        code="unsupported_format",
    )


def _unique(pairs: Iterable[tuple[_Loc, Item]], file: str) -> list[Item]:
    seen: dict[tuple[str, str], _Loc] = {}
    items: list[Item] = []
    for loc, item in pairs:
        # Every reader's items, whatever their source (CSV cells parsed as JSON, Arrow rows).
        problem = first_problem(item.to_dict())
        if problem is not None:
            raise loc.error("invalid_value", problem[1], field=problem[0])
        key = (item.id, item.language)
        first = seen.get(key)
        if first is not None:
            raise loc.error(
                "duplicate_id",
                f'id "{item.id}" in language "{item.language}" already appears at '
                f"{first.place}; ids must be unique within a language",
                field="id",
            )
        seen[key] = loc
        items.append(item)
    if not items:
        raise DatasetFormatError("contains no items", file=file, code="empty")
    return items


_READERS: dict[str, _Reader] = {
    "jsonl": _read_jsonl,
    "csv": _read_csv,
    "json": _read_json,
    "medqa": _read_medqa,
    "medmcqa": _read_medmcqa,
    "pubmedqa": _read_pubmedqa,
    "mmedbench": _read_mmedbench,
    "medhalt": _read_medhalt,
    "hf_disk": _read_hf_disk,
}
