"""Writes for evaluations, split by topic: suites, runs, shards, the sweeper, schedules, drift.

The evaluation itself (planning, scoring, computing checks) is the engine's
(`worker.engine.sharding`). Services never send a task: those that lead to more work return
what should happen next (`steps`), and the task layer (worker/tasks.py) sends it.
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
    ModelUnavailableError,
    shard_fail,
    shard_process,
    worker_identity,
)
from apps.evaluations.services.steps import RunPlan, ShardOutcome, SweepResult
from apps.evaluations.services.suites import suite_create, suite_delete, suite_new_version
from apps.evaluations.services.sweep import runs_sweep

__all__ = [
    "ModelChangedError",
    "ModelUnavailableError",
    "RunPlan",
    "ShardOutcome",
    "SweepResult",
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
