"""Command line: `python -m worker.engine make-tiny-model DIR` and `... evaluate ...`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.engine.scoring import BatchSize

EXIT_USAGE = 2


class CliError(Exception):
    """An error the user can fix; printed as one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m worker.engine", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    tiny = commands.add_parser("make-tiny-model", help="write a tiny random GPT-2 and tokenizer")
    tiny.add_argument("directory", type=Path)
    tiny.add_argument("--seed", type=int, default=0)

    run = commands.add_parser("evaluate", help="evaluate a model on datasets with checks")
    run.add_argument("--model", required=True, help="local model folder or hub id")
    run.add_argument("--revision", help="40-hex commit sha (required for a hub id)")
    run.add_argument("--dataset", action="append", required=True, type=Path, help="repeatable")
    run.add_argument("--format", dest="fmt", default=None, help="dataset format (default: guess)")
    run.add_argument("--check", required=True, help="comma-separated, e.g. knowledge,bias")
    run.add_argument("--config", type=Path, help="JSON file: one section per check")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--batch-size", default="auto", help="auto or a positive integer")
    run.add_argument("--dtype", help="float32, bfloat16 or float16 (default: from device)")
    run.add_argument("--device", help="cpu, cuda or cuda:N (default: from the machine)")
    run.add_argument("--out", required=True, type=Path, help="results JSON file")
    return parser


def _batch_size(value: str) -> BatchSize:
    if value == "auto":
        return "auto"
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise CliError(f"--batch-size must be 'auto' or a positive integer, not {value!r}")


def _load_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read --config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CliError(f"--config {path} must hold a JSON object")
    return data


def _read_datasets(paths: Sequence[Path], fmt: str | None) -> list[Any]:
    from worker.engine.readers import DatasetFormatError, read_items

    items: list[Any] = []
    for path in paths:
        try:
            items.extend(read_items(path, fmt=fmt))
        except DatasetFormatError as exc:
            raise CliError(f"{path}: {exc}") from exc
        except OSError as exc:
            raise CliError(f"cannot read dataset {path}: {exc.strerror or exc}") from exc
    if not items:
        raise CliError("the datasets hold no items")
    return items


def _format_float(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def summary_table(checks: Sequence[dict[str, Any]]) -> str:
    """Plain-text table: one row per metric, with its CI and its verdict when it has one."""
    rows = [("check", "metric", "value", "95% CI", "verdict")]
    for result in checks:
        verdicts = {v["metric"]: v["verdict"] for v in result.get("verdicts", [])}
        for metric in result.get("metrics", []):
            name = metric["name"] + (f" [{metric['group']}]" if metric.get("group") else "")
            low, high = metric.get("ci_low"), metric.get("ci_high")
            ci = "-" if low is None or high is None else f"[{low:.4f}, {high:.4f}]"
            verdict = verdicts.get(metric["name"], "")
            rows.append((result["check"], name, _format_float(metric["value"]), ci, verdict))
        rows.append((result["check"], "(overall)", "", "", result.get("verdict", "")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from worker.engine.loading import ModelLoadError, ModelSpec
    from worker.engine.runner import UnknownCheckError, evaluate

    checks = [name.strip() for name in args.check.split(",") if name.strip()]
    if not checks:
        raise CliError("--check names no checks")
    batch_size = _batch_size(args.batch_size)
    config = _load_config(args.config)
    items = _read_datasets(args.dataset, args.fmt)
    try:
        spec = ModelSpec(args.model, revision=args.revision, dtype=args.dtype, device=args.device)
    except ModelLoadError as exc:
        raise CliError(str(exc)) from exc

    bar: tqdm[Any] | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="item", desc="scoring", file=sys.stderr)
        bar.total = total
        bar.update(done - bar.n)

    try:
        result = evaluate(
            spec,
            items,
            checks,
            config,
            progress,
            seed=args.seed,
            batch_size=batch_size,
            dataset_paths=args.dataset,
        )
    except (UnknownCheckError, ModelLoadError) as exc:
        raise CliError(str(exc)) from exc
    except ValueError as exc:
        # A check refusing its items (duplicate ids, bad thresholds) is the user's to fix.
        raise CliError(f"evaluation failed: {exc}") from exc
    finally:
        if bar is not None:
            bar.close()
    _write_json(args.out, result)
    print(summary_table(result["checks"]))
    print(f"\nwrote {args.out}")
    return 0


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Stream the JSON to a sibling file, then rename: never one whole-document string in
    memory, and never a half-written results file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "make-tiny-model":
            from worker.engine.tiny import make_tiny_model

            print(f"wrote {make_tiny_model(args.directory, seed=args.seed)}")
            return 0
        return _evaluate(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
