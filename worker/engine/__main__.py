"""Command line: `python -m worker.engine make-tiny-model DIR`, `... evaluate ...`,
`... rerun RESULTS.json --out NEW.json` and `... reasoning --model M --dataset F --out S.json`
(chain-of-thought vs direct answering)."""

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
    run.add_argument(
        "--dataset",
        action="append",
        required=True,
        metavar="[CHECKS=]FILE",
        help="repeatable; CHECKS names the checks this dataset is for, e.g. "
        "knowledge=k.jsonl or knowledge,hallucination=k.jsonl (optional with one --check)",
    )
    run.add_argument("--format", dest="fmt", default=None, help="dataset format (default: guess)")
    run.add_argument("--language", help="ISO 639-1 language of the datasets (e.g. MMedBench: es)")
    run.add_argument("--check", required=True, help="comma-separated, e.g. knowledge,bias")
    run.add_argument("--config", type=Path, help="JSON file: one section per check")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument(
        "--batch-size",
        default="auto",
        help="auto (batches planned for the least padding, equal contexts shared) or a "
        "positive integer (that many items per forward pass, each in a row of its own)",
    )
    run.add_argument("--dtype", help="float32, bfloat16 or float16 (default: from device)")
    run.add_argument("--device", help="cpu, cuda or cuda:N (default: from the machine)")
    run.add_argument("--out", required=True, type=Path, help="results JSON file")

    again = commands.add_parser(
        "rerun", help="rerun a results file from its manifest; exit 0 if bit-identical, else 1"
    )
    again.add_argument("results", type=Path, help="results JSON written by evaluate")
    again.add_argument("--out", required=True, type=Path, help="new results JSON file")

    from worker.engine import reasoning_cli

    reasoning_cli.add_parser(commands)
    return parser


def _rerun(args: argparse.Namespace) -> int:
    from worker.engine.loading import ModelLoadError
    from worker.engine.readers import DatasetFormatError
    from worker.engine.rerun import MAX_DIFFERENCES, RerunError, RerunRefused, rerun

    try:
        _, found = rerun(args.results, args.out)
    except (RerunError, ModelLoadError, DatasetFormatError) as exc:
        raise CliError(str(exc)) from exc
    except RerunRefused as exc:
        print(f"error: not rerun: {exc}", file=sys.stderr)
        return 1
    if found:
        print(f"differs from {args.results} in {len(found)} place(s):")
        for line in found[:MAX_DIFFERENCES]:
            print(f"  {line}")
        print(f"wrote {args.out}")
        return 1
    print(f"reproduced: every metric, verdict and record is bit-identical to {args.results}")
    print(f"wrote {args.out}")
    return 0


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
    except RecursionError:
        raise CliError(f"cannot read --config {path}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise CliError(f"--config {path} must hold a JSON object")
    return data


def route_datasets(specs: Sequence[str], checks: Sequence[str]) -> list[tuple[Path, list[str]]]:
    """(path, checks) for each `--dataset [CHECKS=]FILE`; every dataset names its checks."""
    routed: list[tuple[Path, list[str]]] = []
    for spec in specs:
        head, sep, tail = spec.partition("=")
        names = [n.strip() for n in head.split(",") if n.strip()] if sep else []
        if sep and names and all(n.isidentifier() for n in names):
            unknown = [n for n in names if n not in checks]
            if unknown:
                raise CliError(
                    f"--dataset {spec}: {', '.join(unknown)} is not among --check "
                    f"{','.join(checks)}"
                )
            routed.append((Path(tail), names))
        elif len(checks) == 1:
            routed.append((Path(spec), list(checks)))
        else:
            raise CliError(
                f"--dataset {spec}: name the checks it is for, e.g. --dataset "
                f"{checks[0]}={spec} (several: --dataset {','.join(checks[:2])}={spec}); "
                "a dataset given to every check would count its items in checks it is not for"
            )
    for name in checks:
        if not any(name in names for _, names in routed):
            raise CliError(f"no --dataset is for check {name}; add --dataset {name}=FILE")
    return routed


def _read_datasets(
    routed: Sequence[tuple[Path, list[str]]], fmt: str | None, language: str | None
) -> tuple[dict[str, list[Any]], list[dict[str, Any]]]:
    from worker.engine.manifest import dataset_entry
    from worker.engine.readers import DatasetFormatError, read_items

    by_check: dict[str, list[Any]] = {}
    entries = []
    for path, names in routed:
        try:
            items = read_items(path, fmt=fmt, language=language)
        except DatasetFormatError as exc:
            raise CliError(f"{path}: {exc}") from exc
        except ValueError as exc:
            raise CliError(f"--language: {exc}") from exc
        except OSError as exc:
            raise CliError(f"cannot read dataset {path}: {exc.strerror or exc}") from exc
        if not items:
            raise CliError(f"dataset {path} holds no items")
        for name in names:
            by_check.setdefault(name, []).extend(items)
        entries.append(dataset_entry(path, fmt=fmt, language=language, checks=names))
    return by_check, entries


def _format_float(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _bound(value: Any) -> str:
    return "unbounded" if value is None else f"{value:.4f}"


def summary_table(checks: Sequence[dict[str, Any]]) -> str:
    """Plain-text table: one row per metric, with its CI, n and its own verdict if it has one."""
    rows = [("check", "metric", "value", "CI", "n", "verdict")]
    for result in checks:
        verdicts: dict[str, list[str]] = {}
        for v in result.get("verdicts", []):
            verdicts.setdefault(v["metric"], []).append(v["verdict"])
        for metric in result.get("metrics", []):
            key = metric["name"] + (f"[{metric['group']}]" if metric.get("group") else "")
            name = metric["name"] + (f" [{metric['group']}]" if metric.get("group") else "")
            low, high = metric.get("ci_low"), metric.get("ci_high")
            ci = "-" if low is None and high is None else f"[{_bound(low)}, {_bound(high)}]"
            if metric.get("level") and ci != "-":
                ci = f"{metric['level'] * 100:g}% {ci}"
            verdict = ", ".join(verdicts.get(key, []))
            value = _format_float(metric["value"])
            rows.append((result["check"], name, value, ci, str(metric.get("n", "")), verdict))
        rows.append((result["check"], "(overall)", "", "", "", result.get("verdict", "")))
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
    items, datasets = _read_datasets(route_datasets(args.dataset, checks), args.fmt, args.language)
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
            dataset_paths=datasets,
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
    for check in result["checks"]:
        print(f"{check['check']}: {check['verdict']} ({check['details'].get('verdict_reason')})")
    print(f"\nwrote {args.out}")
    return 0


def _reasoning(args: argparse.Namespace) -> int:
    from worker.engine import reasoning_cli

    study = reasoning_cli.run(args, CliError, _batch_size(args.batch_size))
    _write_json(args.out, study)
    print(reasoning_cli.summary(study))
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
        if args.command == "rerun":
            return _rerun(args)
        if args.command == "reasoning":
            return _reasoning(args)
        return _evaluate(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
