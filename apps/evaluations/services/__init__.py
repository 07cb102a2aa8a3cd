"""Writes for evaluations, split by topic: suites, runs, shards, schedules, drift.

`sharding` is the bridge to the evaluation engine (plain data, no Django).
"""

from apps.evaluations.services.drift import drift_alert_acknowledge, drift_compare
from apps.evaluations.services.runs import (
    run_cancel,
    run_create,
    run_fail,
    run_finalize,
    run_rerun,
    run_start,
)
from apps.evaluations.services.schedules import (
    last_due_time,
    schedule_create,
    schedule_delete,
    schedule_fire,
    schedule_update,
)
from apps.evaluations.services.shards import (
    ModelChangedError,
    runs_sweep,
    shard_fail,
    shard_process,
    worker_identity,
)
from apps.evaluations.services.suites import suite_create, suite_delete, suite_new_version

__all__ = [
    "ModelChangedError",
    "drift_alert_acknowledge",
    "drift_compare",
    "last_due_time",
    "run_cancel",
    "run_create",
    "run_fail",
    "run_finalize",
    "run_rerun",
    "run_start",
    "runs_sweep",
    "schedule_create",
    "schedule_delete",
    "schedule_fire",
    "schedule_update",
    "shard_fail",
    "shard_process",
    "suite_create",
    "suite_delete",
    "suite_new_version",
    "worker_identity",
]
