"""`python -m worker.engine reasoning`: the reasoning-mode study from the command line.

The same items answered directly and with chain-of-thought (worker/engine/reasoning.py):
accuracy of each mode with Wilson intervals, the paired difference with McNemar, generated
tokens, seconds and cost per 1,000 items from the given hourly prices, unparseable answers
counted wrong, and every reasoning text in the JSON written to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from worker.engine.reasoning import StudyConfig


def add_parser(commands: Any) -> None:
    study = commands.add_parser(
        "reasoning", help="chain-of-thought vs direct answering on the same multiple-choice items"
    )
    study.add_argument("--model", required=True, help="local model folder or hub id")
    study.add_argument("--revision", help="40-hex commit sha (required for a hub id)")
    study.add_argument("--dataset", required=True, type=Path, help="items (mcq items are used)")
    study.add_argument("--format", dest="fmt", default=None, help="dataset format (default: guess)")
    study.add_argument("--language", help="ISO 639-1 language of the dataset")
    study.add_argument("--items", type=int, help="answer only the first N mcq items")
    study.add_argument("--direct-max-new-tokens", type=int, default=8)
    study.add_argument("--reasoning-max-new-tokens", type=int, default=256)
    study.add_argument(
        "--price",
        action="append",
        default=[],
        metavar="DEVICE=PER_HOUR",
        help="hourly price, repeatable: --price cpu=0.05 --price gpu=2.5 (the defaults)",
    )
    study.add_argument("--currency", default="USD")
    study.add_argument("--min-n", type=int, default=30, help="minimum paired items per row")
    study.add_argument("--batch-size", default="auto", help="auto or a positive integer")
    study.add_argument("--dtype", help="float32, bfloat16 or float16 (default: from device)")
    study.add_argument("--device", help="cpu, cuda or cuda:N (default: from the machine)")
    study.add_argument("--out", required=True, type=Path, help="study JSON file")


def study_config(args: argparse.Namespace, error: type[Exception]) -> StudyConfig:
    prices = dict(StudyConfig().prices)
    for spec in args.price:
        device, sep, value = str(spec).partition("=")
        try:
            price = float(value)
        except ValueError:
            price = -1.0
        if not sep or device not in ("cpu", "gpu") or price < 0:
            raise error(f"--price {spec}: write cpu=PRICE or gpu=PRICE, a number >= 0 per hour")
        prices[device] = price
    for name in ("direct_max_new_tokens", "reasoning_max_new_tokens", "min_n"):
        if getattr(args, name) < 1:
            raise error(f"--{name.replace('_', '-')} must be a positive integer")
    if args.items is not None and args.items < 1:
        raise error("--items must be a positive integer")
    return StudyConfig(
        direct_max_new_tokens=args.direct_max_new_tokens,
        reasoning_max_new_tokens=args.reasoning_max_new_tokens,
        prices=prices,
        currency=args.currency,
        min_n=args.min_n,
    )


def summary(study: dict[str, Any]) -> str:
    lines = []
    for name, mode in study["modes"].items():
        acc = "n/a" if mode["accuracy"] is None else f"{mode['accuracy']:.4f}"
        lines.append(
            f"{name:<10} accuracy {acc} [{mode['low']:.4f}, {mode['high']:.4f}] "
            f"({mode['correct']}/{mode['n']}), unparseable {mode['unparseable']}"
            + (f" — {mode['noise']}" if mode.get("noise") else "")
        )
    overall = next(r for r in study["comparison"]["rows"] if r["dimension"] == "overall")
    d = overall["difference"]
    lines.append(
        f"reasoning - direct: {d['estimate']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}], "
        f"McNemar p = {overall['p_value']:.4g} ({overall['decision']})"
    )
    for cost in study["costs"]:
        lines.append(
            f"{cost['mode']:<10} {cost['tokens_per_item']:.1f} tokens/item, "
            f"{cost['seconds_per_item']:.4f} s/item, {cost['cost_per_1000_items']:.4f} "
            f"{cost['currency']} per 1,000 items ({cost['assumption']})"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace, error: type[Exception], batch_size: Any) -> dict[str, Any]:
    """Load, read, study; errors the user can fix are raised as `error`."""
    from worker.engine.loading import ModelLoadError, ModelSpec, load_model
    from worker.engine.readers import DatasetFormatError, read_items
    from worker.engine.reasoning import reasoning_study
    from worker.engine.scoring import Scorer

    config = study_config(args, error)
    try:
        items = read_items(args.dataset, fmt=args.fmt, language=args.language)
    except DatasetFormatError as exc:
        raise error(f"{args.dataset}: {exc}") from exc
    except OSError as exc:
        raise error(f"cannot read dataset {args.dataset}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise error(f"--language: {exc}") from exc
    items = [i for i in items if i.task == "mcq" and i.options][: args.items]
    if not items:
        raise error(f"dataset {args.dataset} holds no multiple-choice items")
    try:
        spec = ModelSpec(args.model, revision=args.revision, dtype=args.dtype, device=args.device)
        loaded = load_model(spec)
    except ModelLoadError as exc:
        raise error(str(exc)) from exc
    return reasoning_study(Scorer(loaded, batch_size=batch_size), items, config=config)
