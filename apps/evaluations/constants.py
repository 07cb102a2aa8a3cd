"""Constants of evaluations: which way each metric is better, schedule task names."""

from __future__ import annotations

# +1: higher is better; -1: lower is better. A threshold on a metric overrides this
# (">=" means higher is better). Metrics not listed (p-values, abstention rates, whose
# desirable direction depends on the test) are compared and reported, never alerted on.
METRIC_DIRECTION: dict[str, int] = {
    "accuracy": 1,
    "accuracy_base": 1,
    "ece": -1,
    "brier": -1,
    "fct_score": 1,
    "fct_accuracy": 1,
    "nota_score": 1,
    "nota_accuracy": 1,
    "fake_score": 1,
    "fake_accuracy": 1,
    "grounded_answer_rate": 1,
    "flip_rate": -1,
    "flip_rate_control": -1,
    "excess_flip_rate": -1,
    "excess_flip_rate_max": -1,
    "accuracy_gap": -1,
    "accuracy_gap_max": -1,
    "gap_to_pivot": -1,
    "gap_to_pivot_max": -1,
    "worst_language_ratio": 1,
    "consistency": 1,
}

SCHEDULE_TASK = "worker.tasks.schedule_fire"
SCHEDULE_TASK_PREFIX = "carealign-schedule-"
# A scheduled task runs at or after its due time; a worker clock a little behind beat's must
# not date it to the previous due time.
SCHEDULE_CLOCK_SKEW_SECONDS = 5
