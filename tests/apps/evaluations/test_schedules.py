"""Schedules: validation, the django-celery-beat task kept in step, once-per-due-time firing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from apps.evaluations import services
from apps.evaluations.models import EvaluationRun, Schedule
from apps.registry.models import ModelVersion
from tests.builders.evaluations import quick_suite
from tests.factories import AIModelFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(personas: Any) -> dict[str, Any]:
    model = AIModelFactory(organization=personas.org)
    return {
        "organization": personas.org,
        "suite": quick_suite(personas.org),
        "model": model,
        "deployed": ModelVersionFactory(model=model, lifecycle_stage="deployment"),
    }


def _schedule(models: dict[str, Any], **fields: Any) -> Schedule:
    values = {"name": "Weekly", "cron": "0 3 * * 1", "cron_timezone": "Europe/Paris", **fields}
    return services.schedule_create(
        organization=models["organization"],
        suite=models["suite"],
        model=models["model"],
        **values,
    )


def test_a_schedule_is_backed_by_a_periodic_task(target: dict[str, Any]) -> None:
    schedule = _schedule(target)
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert task.name == f"carealign-schedule-{schedule.pk}"
    assert task.task == "worker.tasks.schedule_fire"
    assert json.loads(task.kwargs) == {"schedule_id": schedule.pk}
    assert task.enabled
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "0",
        "3",
        "*",
        "*",
        "1",
    )
    assert str(cron.timezone) == "Europe/Paris"


def test_changing_the_cron_or_zone_moves_the_task_and_forgets_its_last_run(
    target: dict[str, Any],
) -> None:
    schedule = _schedule(target)
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    old_crontab = task.crontab_id
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=timezone.now())
    services.schedule_update(schedule=schedule, cron="30 4 * * *", cron_timezone="UTC")
    task.refresh_from_db()
    assert task.crontab_id != old_crontab and task.last_run_at is None
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == (
        "30",
        "4",
        "UTC",
    )
    # The old crontab row is shared property of django-celery-beat: left as it was.
    assert CrontabSchedule.objects.get(pk=old_crontab).hour == "3"


def test_disabling_and_deleting_a_schedule_follow_through_to_beat(
    target: dict[str, Any],
) -> None:
    schedule = _schedule(target)
    services.schedule_update(schedule=schedule, enabled=False)
    assert not PeriodicTask.objects.get(pk=schedule.periodic_task_id).enabled
    task_id = schedule.periodic_task_id
    services.schedule_delete(schedule=schedule)
    assert not PeriodicTask.objects.filter(pk=task_id).exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cron": "0 3 * *"}, "A cron expression has five fields"),
        ({"cron": "61 3 * * *"}, "Invalid cron expression '61 3 * * *'"),
        ({"cron": "0 3 * * funday"}, "Invalid cron expression"),
        ({"cron_timezone": "Mars/Olympus"}, "Unknown time zone 'Mars/Olympus'"),
    ],
)
def test_a_bad_cron_or_time_zone_is_refused_with_a_clear_message(
    target: dict[str, Any], fields: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message.replace("*", r"\*")):
        _schedule(target, **fields)
    assert not PeriodicTask.objects.filter(task="worker.tasks.schedule_fire").exists()


@pytest.mark.parametrize(
    ("cron", "zone", "now", "due"),
    [
        ("*/15 * * * *", "UTC", "2026-03-02T10:44:59+00:00", "2026-03-02T10:30:00+00:00"),
        ("0 3 * * *", "Europe/Paris", "2026-03-02T02:10:00+00:00", "2026-03-02T02:00:00+00:00"),
        ("0 3 * * *", "Europe/Paris", "2026-03-02T01:59:00+00:00", "2026-03-01T02:00:00+00:00"),
        # Celery's crontab needs day of month AND day of week: the 13th that is a Friday.
        ("0 0 13 * 5", "UTC", "2026-03-12T00:00:00+00:00", "2026-02-13T00:00:00+00:00"),
    ],
)
def test_the_due_time_is_the_latest_cron_time_not_after_now(
    cron: str, zone: str, now: str, due: str
) -> None:
    found = services.last_due_time(cron, zone, datetime.fromisoformat(now))
    assert found is not None and found.astimezone(UTC) == datetime.fromisoformat(due)
    assert found.tzinfo == ZoneInfo(zone)


def test_one_due_time_fired_by_two_beats_makes_one_run(
    target: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    # Simulated beats: the task is what each beat's message runs. The real-beat version is in
    # test_workers.py.
    schedule = _schedule(target, cron="*/5 * * * *", cron_timezone="UTC")
    due = datetime(2026, 3, 2, 10, 5, tzinfo=UTC)
    with django_capture_on_commit_callbacks():
        first = services.schedule_fire(schedule_id=schedule.pk, now=due.replace(second=1))
        again = services.schedule_fire(schedule_id=schedule.pk, now=due.replace(second=40))
        late = services.schedule_fire(schedule_id=schedule.pk, now=due.replace(minute=9))
        nxt = services.schedule_fire(schedule_id=schedule.pk, now=due.replace(minute=10))
    assert first is not None and again is None and late is None and nxt is not None
    assert list(EvaluationRun.objects.values_list("due_key", flat=True).order_by("pk")) == [
        f"schedule:{schedule.pk}:2026-03-02T10:05Z",
        f"schedule:{schedule.pk}:2026-03-02T10:10Z",
    ]
    assert first.trigger == "schedule" and first.model_version == target["deployed"]


def test_a_schedule_follows_the_deployed_version_and_the_latest_suite(
    target: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    schedule = _schedule(target, cron="* * * * *", cron_timezone="UTC")
    newer = ModelVersionFactory(model=target["model"], lifecycle_stage="deployment")
    suite_v2 = services.suite_new_version(suite=target["suite"], description="v2")
    with django_capture_on_commit_callbacks():
        run = services.schedule_fire(schedule_id=schedule.pk)
    assert run is not None and run.model_version == newer and run.suite == suite_v2
    ModelVersion.objects.filter(model=target["model"]).update(lifecycle_stage="retired")
    later = datetime(2030, 1, 1, tzinfo=UTC)
    assert services.schedule_fire(schedule_id=schedule.pk, now=later) is None


def test_a_disabled_schedule_makes_no_run(
    target: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    schedule = _schedule(target, enabled=False)
    assert services.schedule_fire(schedule_id=schedule.pk) is None
    assert not EvaluationRun.objects.exists()


def test_a_fixed_schedule_needs_a_version_of_its_model(target: dict[str, Any]) -> None:
    other = ModelVersionFactory(model=AIModelFactory(organization=target["organization"]))
    with pytest.raises(ValidationError, match="needs a version of its model"):
        _schedule(target, target="fixed", model_version=other)
