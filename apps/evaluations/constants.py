"""Constants of evaluations: schedule task names (metric directions live with each check)."""

from __future__ import annotations

SCHEDULE_TASK = "worker.tasks.schedule_fire"
SCHEDULE_TASK_PREFIX = "carealign-schedule-"
# A scheduled task runs at or after its due time; a worker clock a little behind beat's must
# not date it to the previous due time.
SCHEDULE_CLOCK_SKEW_SECONDS = 5
