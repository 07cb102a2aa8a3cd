from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks


class EvaluationsConfig(AppConfig):
    name = "apps.evaluations"
    label = "evaluations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.audit.services import register_audited
        from apps.evaluations import models

        register_audited(models.EvaluationSuite)
        register_audited(models.Schedule)
        register_audited(models.DriftAlert)
        # Progress is written every few seconds by conditional UPDATEs (no signals); status
        # changes made that way are recorded explicitly (services.runs.audit_run_change).
        register_audited(
            models.EvaluationRun, exclude_fields=["progress", "items_done", "dispatched_at"]
        )
        checks.register(check_visibility_timeout, checks.Tags.compatibility)


def check_visibility_timeout(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn when Redis could hand a running shard to a second worker (docs C1)."""
    from django.conf import settings

    if settings.CELERY_VISIBILITY_TIMEOUT > settings.GPU_TASK_TIME_LIMIT:
        return []
    return [
        checks.Warning(
            f"CELERY_VISIBILITY_TIMEOUT ({settings.CELERY_VISIBILITY_TIMEOUT} s) is not longer "
            f"than CAREALIGN_GPU_TIME_LIMIT ({settings.GPU_TASK_TIME_LIMIT} s): Redis will "
            "deliver a long shard again while it runs. The copy is skipped, but it wastes a "
            "worker slot; raise the visibility timeout.",
            id="evaluations.W001",
        )
    ]
