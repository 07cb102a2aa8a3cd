"""Chain-of-thought versus direct answering: the reasoning prompt, answer extraction, cost.

Plain Python (no Django). A chain-of-thought answer reasons first and names its choice at
the end, often mentioning other letters on the way ("A is wrong because ..."). The parser
therefore takes the *last* explicit answer statement, in any of the six fixture languages
(en, es, fr, ru, zh, ja); failing that, a letter alone on the final line; failing that,
nothing: an unparseable answer counts as wrong and is reported, never guessed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from worker.engine.compare import ALPHA, MIN_N, Outcome, compare_versions
from worker.engine.prompts import GENERATION_INSTRUCTION, format_prompt, parse_choice
from worker.engine.stats import scipy_stats, wilson_interval
from worker.engine.types import Item

if TYPE_CHECKING:
    from worker.engine.scoring import Scorer

REASONING_INSTRUCTION = (
    "Think step by step about the clinical question, then finish with a final line of the "
    'form "Answer: X", where X is the letter of the single best option.'
)

# "answer" in each fixture language, with the optional "final/correct" and "is" around it.
_MARKERS = (
    r"(?:final\s+|correct\s+|best\s+)?answer(?:\s+is)?",
    r"(?:la\s+)?respuesta(?:\s+correcta|\s+final)?(?:\s+es)?",
    r"(?:la\s+)?(?:bonne\s+)?r[ée]ponse(?:\s+correcte|\s+finale)?(?:\s+est)?",
    r"(?:правильный\s+|окончательный\s+)?ответ",
    r"(?:正确|最终)?答案(?:是|为)?",
    r"(?:正解|答え|回答)(?:は)?",
)
_LETTER = r"[\(\[（【\*\s]*([A-J])(?![A-Za-z])"
_ANSWER = re.compile(r"(?i:" + "|".join(_MARKERS) + r")\s*(?:[:：\-–—=]|は|是)?\s*" + _LETTER)
_LAST_LINE_LETTER = re.compile(r"^[\s\*\(\[（]*([A-J])[\s\*\)\]）.。:]*$")


def extract_final_answer(text: str, letters: Sequence[str]) -> str | None:
    """The option letter a chain-of-thought answer settles on, or None when it is unclear."""
    valid = set(letters)
    found = [m.group(1) for m in _ANSWER.finditer(text) if m.group(1) in valid]
    if found:
        return found[-1]
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if lines:
        match = _LAST_LINE_LETTER.match(lines[-1])
        if match and match.group(1) in valid:
            return match.group(1)
    return None


@dataclass(frozen=True)
class ModeCost:
    """What answering in one mode cost, per item and per 1,000 items."""

    mode: str
    items: int
    generated_tokens: int
    wall_seconds: float
    device: str  # "cpu" or "gpu": which hourly price applies
    price_per_hour: float
    currency: str

    @property
    def tokens_per_item(self) -> float:
        return self.generated_tokens / self.items if self.items else 0.0

    @property
    def seconds_per_item(self) -> float:
        return self.wall_seconds / self.items if self.items else 0.0

    @property
    def cost_per_1000_items(self) -> float:
        return self.seconds_per_item * 1000 / 3600 * self.price_per_hour

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "tokens_per_item": self.tokens_per_item,
            "seconds_per_item": self.seconds_per_item,
            "cost_per_1000_items": self.cost_per_1000_items,
            "assumption": (
                f"{self.seconds_per_item:.3f} {self.device.upper()}-seconds per item x 1,000 "
                f"items at {self.price_per_hour:g} {self.currency} per {self.device.upper()}-hour"
            ),
        }


def cost_table(
    runs: Mapping[str, tuple[int, int, float]],
    *,
    device: str,
    prices: Mapping[str, float],
    currency: str,
) -> list[ModeCost]:
    """One cost row per mode from (items, generated tokens, wall seconds) and hourly prices."""
    if device not in prices:
        raise ValueError(f"no hourly price for device {device!r}; known: {', '.join(prices)}")
    return [
        ModeCost(mode, items, tokens, seconds, device, prices[device], currency)
        for mode, (items, tokens, seconds) in runs.items()
    ]


def reasoning_prompt(item: Item) -> str:
    """The chain-of-thought prompt: the options listed, then the reasoning instruction."""
    lines = [f"Context: {passage}" for passage in item.context]
    lines.append(f"Question: {item.question}")
    lines.extend(f"{letter}. {text}" for letter, text in item.options.items())
    lines.append(REASONING_INSTRUCTION)
    return "\n".join(lines)


@dataclass(frozen=True)
class StudyConfig:
    """How the two modes are run and priced; recorded in the report."""

    direct_max_new_tokens: int = 8
    reasoning_max_new_tokens: int = 256
    prices: Mapping[str, float] = field(default_factory=lambda: {"cpu": 0.05, "gpu": 2.5})
    currency: str = "USD"
    min_n: int = MIN_N


def _timed_generate(
    scorer: Scorer, prompts: list[str], max_new_tokens: int
) -> tuple[list[str], int, float]:
    started = time.perf_counter()
    texts = scorer.generate(prompts, max_new_tokens=max_new_tokens)
    seconds = time.perf_counter() - started
    tokenizer = scorer.loaded.tokenizer
    tokens = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
    return texts, tokens, seconds


def _chance_statement(correct: int, n: int, options: float) -> str | None:
    """Say so when a mode's accuracy does not beat picking an option at random."""
    if n == 0:
        return "no items"
    p = float(scipy_stats().binomtest(correct, n, 1 / options, alternative="greater").pvalue)
    if p >= ALPHA:
        return (
            f"{correct}/{n} correct does not beat chance (1/{options:g} per item; one-sided "
            f"binomial p = {p:.3g}): this mode's answers are noise"
        )
    return None


def _record(
    item: Item, *, direct: tuple[str, str, str | None], reasoning: tuple[str, str, str | None]
) -> dict[str, Any]:
    """One item's record: the gold answer, and per mode the prompt, the text and the choice."""
    return {
        "item_id": item.id,
        "language": item.language,
        "specialty": item.specialty,
        "gold": list(item.gold),
        "direct": dict(zip(("prompt", "text", "chosen"), direct, strict=True)),
        "reasoning": dict(zip(("prompt", "text", "chosen"), reasoning, strict=True)),
    }


def _mode_summary(
    outcomes: dict[str, Outcome], unparseable: int, mean_options: float
) -> dict[str, Any]:
    """A mode's accuracy with its Wilson interval, unparseable answers, and whether it is noise."""
    correct = sum(o.correct for o in outcomes.values())
    interval = wilson_interval(correct, len(outcomes))
    return {
        "correct": correct,
        "n": len(outcomes),
        "accuracy": interval.value,
        "low": interval.low,
        "high": interval.high,
        "method": "wilson",
        "unparseable": unparseable,
        "noise": _chance_statement(correct, len(outcomes), mean_options),
    }


def _config_record(config: StudyConfig) -> dict[str, Any]:
    """The study's configuration as recorded, with the instructions and the answer parser."""
    return {
        **asdict(config),
        "prices": dict(config.prices),
        "reasoning_instruction": REASONING_INSTRUCTION,
        "direct_instruction": GENERATION_INSTRUCTION,
        "parser": "last explicit answer statement (six languages), else a lone "
        "letter on the last line; unparseable counts as wrong",
    }


def reasoning_study(
    scorer: Scorer, items: Sequence[Item], *, config: StudyConfig | None = None
) -> dict[str, Any]:
    """Answer every item directly and with chain-of-thought; compare accuracy, time and cost."""
    config = config or StudyConfig()
    items = [i for i in items if i.options and i.task == "mcq"]
    direct_prompts = [format_prompt(item, "generation") for item in items]
    cot_prompts = [reasoning_prompt(item) for item in items]
    direct_texts, direct_tokens, direct_s = _timed_generate(
        scorer, direct_prompts, config.direct_max_new_tokens
    )
    cot_texts, cot_tokens, cot_s = _timed_generate(
        scorer, cot_prompts, config.reasoning_max_new_tokens
    )
    records: list[dict[str, Any]] = []
    unparseable = {"direct": 0, "reasoning": 0}
    direct: dict[str, Outcome] = {}
    cot: dict[str, Outcome] = {}
    for item, d_text, c_text in zip(items, direct_texts, cot_texts, strict=True):
        d_choice = parse_choice(d_text, item.options)
        c_choice = extract_final_answer(c_text, list(item.options))
        key = f"{item.id}/{item.language}"
        labels = {"language": item.language, "specialty": item.specialty or ""}
        unparseable["direct"] += d_choice is None
        unparseable["reasoning"] += c_choice is None
        direct[key] = Outcome(d_choice in item.gold, labels)
        cot[key] = Outcome(c_choice in item.gold, labels)
        records.append(
            _record(
                item,
                direct=(direct_prompts[len(records)], d_text, d_choice),
                reasoning=(cot_prompts[len(records)], c_text, c_choice),
            )
        )
    device = "gpu" if scorer.loaded.device.startswith("cuda") else "cpu"
    costs = cost_table(
        {
            "direct": (len(items), direct_tokens, direct_s),
            "reasoning": (len(items), cot_tokens, cot_s),
        },
        device=device,
        prices=config.prices,
        currency=config.currency,
    )
    comparison = compare_versions(direct, cot, min_n=config.min_n)
    mean_options = sum(len(i.options) for i in items) / len(items) if items else 1.0
    modes = {
        name: _mode_summary(outcomes, unparseable[name], mean_options)
        for name, outcomes in (("direct", direct), ("reasoning", cot))
    }
    return {
        "format": "carealign.reasoning-study/1",
        "config": _config_record(config),
        "modes": modes,
        "comparison": comparison.as_dict(),
        "costs": [c.as_dict() for c in costs],
        "items": records,
    }


STUDY_KEYS = frozenset(
    {"items", "direct_max_new_tokens", "reasoning_max_new_tokens", "prices", "currency", "min_n"}
)


def study_config_from(params: Any) -> tuple[StudyConfig, int | None]:
    """A suite's `reasoning_study` parameters as a StudyConfig and the item limit (None: all);
    ValueError naming what to fix."""
    if not isinstance(params, Mapping):
        raise ValueError('reasoning_study must be an object, e.g. {"items": 200}')
    unknown = sorted(set(params) - STUDY_KEYS)
    if unknown:
        raise ValueError(
            f"reasoning_study: unknown keys {', '.join(unknown)}; "
            f"known: {', '.join(sorted(STUDY_KEYS))}"
        )
    numbers = {}
    for key in ("items", "direct_max_new_tokens", "reasoning_max_new_tokens", "min_n"):
        value = params.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"reasoning_study.{key} must be a positive integer")
        numbers[key] = value
    prices = dict(StudyConfig().prices)
    given = params.get("prices", {})
    if not isinstance(given, Mapping) or not all(
        k in ("cpu", "gpu") and isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
        for k, v in given.items()
    ):
        raise ValueError("reasoning_study.prices maps cpu and gpu to hourly prices >= 0")
    prices.update({k: float(v) for k, v in given.items()})
    currency = params.get("currency", "USD")
    if not isinstance(currency, str) or not 1 <= len(currency) <= 8:
        raise ValueError("reasoning_study.currency is a short currency code, e.g. USD")
    defaults = StudyConfig()
    config = StudyConfig(
        direct_max_new_tokens=numbers["direct_max_new_tokens"] or defaults.direct_max_new_tokens,
        reasoning_max_new_tokens=numbers["reasoning_max_new_tokens"]
        or defaults.reasoning_max_new_tokens,
        prices=prices,
        currency=currency,
        min_n=numbers["min_n"] or defaults.min_n,
    )
    return config, numbers["items"]
