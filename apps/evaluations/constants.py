"""Constants of evaluations: schedule task names (metric directions live with each check)."""

from __future__ import annotations

# A run's status as the API shows it: its stored status, or "stalled" for a queued or running
# run that makes no progress (EvaluationRun.stalled_reason says why).
RUN_DISPLAY_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "stalled")

SCHEDULE_TASK = "worker.tasks.schedule_fire"
SCHEDULE_TASK_PREFIX = "carealign-schedule-"
# A scheduled task runs at or after its due time; a worker clock a little behind beat's must
# not date it to the previous due time.
SCHEDULE_CLOCK_SKEW_SECONDS = 5
