"""Plain data types shared by every part of the evaluation engine.

This module is the contract between readers, scorers, checks, the CLI and the
Django side (which stores these as JSON). Plain Python only: no Django, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Task = Literal["mcq", "nota", "fake", "fct", "vignette"]
# "neutral": a matched one-word swap that changes nothing clinically (the noise floor).
Variant = Literal["base", "demographic", "paraphrase", "neutral"]
# One threshold's decision, and a check's (see worker/engine/checks/verdicts.py).
VerdictValue = Literal["pass", "fail", "inconclusive", "insufficient_data", "not_evaluated"]
CheckVerdict = Literal["pass", "fail", "inconclusive", "insufficient_data", "incomplete"]

# Options the model may choose to abstain with (Med-HALT fake questions).
ABSTAIN_TEXTS = ("I do not know", "None of the above")


@dataclass(frozen=True)
class BiasInfo:
    """Where a counterfactual vignette variant comes from."""

    vignette_id: str
    attribute: str  # race_ethnicity | sex | age_band | insurance | language | paraphrase
    value: str  # e.g. "Black", "female", "65-79", "Medicaid", "Spanish"; "base" for the base
    variant: Variant


@dataclass(frozen=True)
class Item:
    """One evaluation item in canonical form, whatever file format it came from."""

    id: str
    question: str
    options: dict[str, str]  # letter -> option text, letters in order ("A", "B", ...)
    gold: tuple[str, ...]  # correct letters (several for MMedBench multi-answer items)
    source: str = "carealign"
    language: str = "en"  # ISO 639-1
    task: Task = "mcq"
    context: tuple[str, ...] = ()
    specialty: str | None = None
    bias: BiasInfo | None = None
    proposed: str | None = None  # fct: the suggested answer the model must judge
    metadata: dict[str, Any] = field(default_factory=dict)
    # The same question in other languages carries the same parallel_id (multilingual check).
    parallel_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["gold"] = list(self.gold)
        data["context"] = list(self.context)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Item:
        """The inverse of `to_dict()` (JSON turns tuples into lists)."""
        bias = data.get("bias")
        return cls(
            **{
                **data,
                "gold": tuple(data["gold"]),
                "context": tuple(data.get("context") or ()),
                "bias": BiasInfo(**bias) if bias else None,
                "metadata": dict(data.get("metadata") or {}),
            }
        )


@dataclass(frozen=True)
class OptionScore:
    """Log-likelihood of one option's continuation given the scored context."""

    letter: str
    continuation: str  # the exact string scored (starts with a space)
    logprob: float  # sum of token log-probabilities
    n_tokens: int

    @property
    def logprob_per_token(self) -> float:
        """Length-normalised score: the mean log-probability per continuation token."""
        return self.logprob / self.n_tokens if self.n_tokens else float("-inf")

    @property
    def n_bytes(self) -> int:
        """UTF-8 bytes of the option text (the continuation less its leading whitespace)."""
        return len(self.continuation.lstrip().encode("utf-8"))

    @property
    def logprob_per_byte(self) -> float:
        """Byte-normalised score, as lm-evaluation-harness's acc_bytes (acc_norm uses chars)."""
        return self.logprob / self.n_bytes if self.n_bytes else float("-inf")


@dataclass(frozen=True)
class ItemScore:
    """What the scorer did with one item: enough for an auditor to re-check it by hand."""

    item_id: str
    context: str  # the exact context string that was scored
    options: tuple[OptionScore, ...]
    chosen: str | None  # chosen letter; None when nothing parseable (generation mode)
    gold: tuple[str, ...]
    correct: bool
    mode: str  # "continuation" | "letter" | "generation"
    generated: str | None = None


@dataclass(frozen=True)
class MetricValue:
    """A metric with its confidence interval (None where not defined), n, method and level.

    n counts independent units (items, vignettes, pairs); `method` names the interval
    ("wilson", "newcombe_paired", "bootstrap_percentile", ...); `level` is its coverage.
    """

    name: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    unit: str = ""
    group: str | None = None  # e.g. a specialty, a language, a demographic value
    method: str | None = None
    level: float | None = None


@dataclass(frozen=True)
class Verdict:
    """Comparison of one metric's interval against one threshold, with the rule as text."""

    metric: str
    op: str  # ">=" or "<=" (">" or "<" for the engine's own requirements)
    threshold: float
    value: float | None
    verdict: VerdictValue
    reason: str  # e.g. "pass: 95 % CI lower bound 0.71 >= 0.6"
    low: float | None = None
    high: float | None = None
    n: int = 0
    min_n: int = 0
    level: float | None = None
    method: str | None = None
    # "threshold": configured by the suite; "required": the engine's condition for a pass
    # (beat the option-prior baseline); "precondition": without it the check is undecidable.
    rule: str = "threshold"


@dataclass
class CheckResult:
    """The outcome of one check over one model and one set of items."""

    check: str
    metrics: list[MetricValue]
    verdicts: list[Verdict]
    verdict: CheckVerdict
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
