"""Admin views of evaluations, read-only: changes go through the services (and the API),
which keep suites versioned, schedules in step with beat and runs consistent."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.common.admin import TenantAdmin
from apps.evaluations.models import (
    CheckResult,
    DriftAlert,
    EvaluationRun,
    EvaluationSuite,
    RunShard,
    Schedule,
)


class ReadOnlyAdmin(TenantAdmin):
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EvaluationSuite)
class EvaluationSuiteAdmin(ReadOnlyAdmin):
    list_display = ["name", "version", "organization", "created_at"]


@admin.register(EvaluationRun)
class EvaluationRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "model_version", "suite", "status", "progress", "verdict", "created_at"]
    list_filter = ["status", "trigger"]


@admin.register(RunShard)
class RunShardAdmin(ReadOnlyAdmin):
    list_display = ["run", "index", "status", "items_done", "items_total", "worker", "attempts"]
    list_filter = ["status"]
    exclude = ["units"]


@admin.register(CheckResult)
class CheckResultAdmin(ReadOnlyAdmin):
    list_display = ["run", "check_name", "verdict"]


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyAdmin):
    list_display = ["name", "suite", "model", "target", "cron", "cron_timezone", "enabled"]


@admin.register(DriftAlert)
class DriftAlertAdmin(ReadOnlyAdmin):
    list_display = ["model", "kind", "check_name", "metric", "created_at", "acknowledged_at"]
