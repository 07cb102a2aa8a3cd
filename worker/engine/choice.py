"""How an answer is chosen from option scores, and the option-prior items every check scores.

Summed log-likelihood favours short options: an abstention ("I do not know") is often the
shortest option, and a model at chance then "abstains" wisely. So in continuation mode the
option is chosen by a length-controlled score, `normalization` (per check, default "byte"):
- "byte": log-likelihood / UTF-8 bytes of the option text (lm-evaluation-harness's
  acc_bytes; its acc_norm divides by characters, the same for ASCII text);
- "token": log-likelihood / tokens of the continuation;
- "none": the summed log-likelihood (lm-eval's plain acc), for comparison only.
Letter mode (" A", " B", ... one token each) needs no length control.

The option-prior baseline: each scored item gets a twin that shows the options without the
question (context "Answer:" in continuation mode, the option list in letter and generation
mode). What the model picks from the options alone is the baseline a pass must beat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from worker.engine.types import Item, ItemScore, OptionScore

NORMALIZATIONS = ("byte", "token", "none")
DEFAULT_NORMALIZATION = "byte"
PRIOR_SUFFIX = "::prior"
PRIOR_KEY = "option_prior"


def normalization(config: Mapping[str, Any], check: str) -> str:
    """The check's choice rule: `normalization`, or the older `length_normalized` flag."""
    own = config.get(check)
    own = own if isinstance(own, Mapping) else {}
    for scope in (own, config):
        if "normalization" in scope:
            rule = scope["normalization"]
            if rule not in NORMALIZATIONS:
                raise ValueError(
                    f"unknown normalization {rule!r} for check {check!r}; valid: "
                    f"{', '.join(NORMALIZATIONS)}"
                )
            return str(rule)
        if "length_normalized" in scope:
            return "token" if scope["length_normalized"] else "none"
    return DEFAULT_NORMALIZATION


def option_value(option: OptionScore, rule: str) -> float:
    """The score an option is chosen by under `rule`."""
    if rule == "byte":
        return option.logprob_per_byte
    if rule == "token":
        return option.logprob_per_token
    return option.logprob


def choose(score: ItemScore, rule: str) -> ItemScore:
    """The score with its answer chosen by `rule` (the first of equal scores, like argmax)."""
    if not score.options or score.mode != "continuation":
        return score
    best = max(score.options, key=lambda o: option_value(o, rule)).letter
    return replace(score, chosen=best, correct=best in score.gold)


def chosen(score: ItemScore | None) -> str:
    """The chosen letter(s) as the metric modules take them: "" when there is none."""
    return "" if score is None or score.chosen is None else score.chosen


def is_prior(item: Item) -> bool:
    return bool(item.metadata.get(PRIOR_KEY))


def prior_item(item: Item, *, of: str | None = None) -> Item:
    """The options of `item` without its question, context or proposal."""
    source = of or item.id
    return replace(
        item,
        id=f"{source}{PRIOR_SUFFIX}",
        question="",
        context=(),
        proposed=None,
        metadata={PRIOR_KEY: True, "prior_of": source},
    )


def with_priors(items: Sequence[Item]) -> list[Item]:
    """The items followed by the option-prior twin of each (one per distinct id and language)."""
    priors: dict[tuple[str, str], Item] = {}
    for item in items:
        twin = prior_item(item, of=str(item.metadata.get("derived_from") or item.id))
        priors.setdefault((twin.id, twin.language), twin)
    return [*items, *priors.values()]


def split_priors(
    pairs: Iterable[tuple[Item, ItemScore | None]],
) -> tuple[list[tuple[Item, ItemScore | None]], dict[tuple[str, str], ItemScore | None]]:
    """The scored items, and the prior scores keyed by (source id, language)."""
    main: list[tuple[Item, ItemScore | None]] = []
    priors: dict[tuple[str, str], ItemScore | None] = {}
    for item, score in pairs:
        if is_prior(item):
            priors[(str(item.metadata["prior_of"]), item.language)] = score
        else:
            main.append((item, score))
    return main, priors


def prior_of(item: Item, priors: Mapping[tuple[str, str], ItemScore | None]) -> ItemScore | None:
    """The prior score of a scored item (an FCT item shares its source question's prior)."""
    source = str(item.metadata.get("derived_from") or item.id)
    return priors.get((source, item.language))
