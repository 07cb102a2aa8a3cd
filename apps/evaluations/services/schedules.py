"""Schedules: re-evaluate a model on a cron, through a django-celery-beat periodic task.

The periodic task is kept in step with the schedule by these services (create, update,
delete). Beat may send one due time twice (two beat processes, a restart that catches up:
docs/REFERENCE.md C3), so a firing is keyed by schedule and due time, and the run's unique
`due_key` makes the second firing create nothing.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import ParseException, crontab
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from apps.accounts.models import Organization
from apps.evaluations import selectors
from apps.evaluations.constants import (
    SCHEDULE_CLOCK_SKEW_SECONDS,
    SCHEDULE_TASK,
    SCHEDULE_TASK_PREFIX,
)
from apps.evaluations.models import EvaluationRun, EvaluationSuite, Schedule
from apps.evaluations.services.runs import run_create
from apps.registry.models import AIModel, ModelVersion

logger = logging.getLogger(__name__)

CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
# Celery matches day of month AND day of week (not cron's OR); the due time follows beat.
_MAX_DAYS_BACK = 366 * 8  # "29 2 *" with a weekday can be years apart


def parse_cron(expression: str) -> crontab:
    """A celery crontab from five fields; a ValidationError that says what is wrong."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValidationError(
            {
                "cron": [
                    f"A cron expression has five fields (minute hour day-of-month month "
                    f"day-of-week), e.g. '0 3 * * 1'; got {len(fields)} in {expression!r}."
                ]
            }
        )
    try:
        return crontab(**dict(zip(CRON_FIELDS, fields, strict=True)))
    except (ValueError, ParseException) as exc:
        raise ValidationError({"cron": [f"Invalid cron expression {expression!r}: {exc}"]}) from exc


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            {
                "cron_timezone": [
                    f"Unknown time zone {name!r}; use an IANA name like 'Europe/Paris'."
                ]
            }
        ) from exc


def last_due_time(cron: str, tz_name: str, now: datetime) -> datetime | None:
    """The latest time at or before `now` that the cron names, in its time zone."""
    schedule, tz = parse_cron(cron), parse_timezone(tz_name)
    local = now.astimezone(tz)
    hours, minutes = sorted(schedule.hour, reverse=True), sorted(schedule.minute, reverse=True)
    for back in range(_MAX_DAYS_BACK):
        day: date = local.date() - timedelta(days=back)
        if not (
            day.month in schedule.month_of_year
            and day.day in schedule.day_of_month
            and day.isoweekday() % 7 in schedule.day_of_week
        ):
            continue
        for hour in hours:
            for minute in minutes:
                candidate = datetime.combine(day, time(hour, minute), tzinfo=tz)
                if candidate <= local:
                    return candidate
    return None


def _check_targets(
    *,
    organization: Organization,
    suite: EvaluationSuite,
    model: AIModel,
    target: str,
    model_version: ModelVersion | None,
) -> None:
    if suite.organization_id != organization.pk or model.organization_id != organization.pk:
        raise ValidationError({"suite": ["The suite and the model must be in one organisation."]})
    if target == Schedule.Target.FIXED:
        if model_version is None or model_version.model_id != model.pk:
            raise ValidationError(
                {"model_version": ["A fixed-version schedule needs a version of its model."]}
            )
    elif model_version is not None:
        raise ValidationError(
            {"model_version": ["Leave it empty: the schedule follows the deployed version."]}
        )


def _sync(schedule: Schedule) -> None:
    """Make the schedule's periodic task say what the schedule says."""
    parse_cron(schedule.cron)
    tz = parse_timezone(schedule.cron_timezone)
    minute, hour, day_of_month, month_of_year, day_of_week = schedule.cron.split()
    timing = {
        "minute": minute,
        "hour": hour,
        "day_of_month": day_of_month,
        "month_of_year": month_of_year,
        "day_of_week": day_of_week,
        "timezone": tz,
    }
    # Crontab rows are shared between periodic tasks: find or add one, never edit one.
    cron_row = CrontabSchedule.objects.filter(**timing).first()
    if cron_row is None:
        cron_row = CrontabSchedule.objects.create(**timing)
    task = schedule.periodic_task or PeriodicTask(name=f"{SCHEDULE_TASK_PREFIX}{schedule.pk}")
    if task.crontab_id != cron_row.pk:
        # The database scheduler keeps the old last_run_at across a change of cron or time
        # zone, which can fire a burst of "missed" runs (docs C3): start afresh.
        task.last_run_at = None
    task.crontab = cron_row
    task.task = SCHEDULE_TASK
    task.kwargs = json.dumps({"schedule_id": schedule.pk})
    task.enabled = schedule.enabled
    task.description = (
        f"CareAlign schedule {schedule.name!r} (organisation {schedule.organization_id})"
    )
    task.save()
    if schedule.periodic_task_id != task.pk:
        schedule.periodic_task = task
        schedule.save(update_fields=["periodic_task"])


@transaction.atomic
def schedule_create(
    *,
    organization: Organization,
    name: str,
    suite: EvaluationSuite,
    model: AIModel,
    cron: str,
    cron_timezone: str = "UTC",
    target: str = Schedule.Target.DEPLOYED,
    model_version: ModelVersion | None = None,
    enabled: bool = True,
) -> Schedule:
    parse_cron(cron)
    parse_timezone(cron_timezone)
    _check_targets(
        organization=organization,
        suite=suite,
        model=model,
        target=target,
        model_version=model_version,
    )
    if Schedule.objects.filter(organization=organization, name=name).exists():
        raise ValidationError({"name": ["A schedule with this name already exists."]})
    schedule = Schedule.objects.create(
        organization=organization,
        name=name,
        suite=suite,
        model=model,
        target=target,
        model_version=model_version,
        cron=" ".join(cron.split()),
        cron_timezone=cron_timezone,
        enabled=enabled,
    )
    _sync(schedule)
    return schedule


_UPDATABLE = (
    "name",
    "suite",
    "model",
    "target",
    "model_version",
    "cron",
    "cron_timezone",
    "enabled",
)


@transaction.atomic
def schedule_update(*, schedule: Schedule, **fields: Any) -> Schedule:
    unknown = set(fields) - set(_UPDATABLE)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in unknown})
    if "cron" in fields:
        parse_cron(fields["cron"])
        fields["cron"] = " ".join(fields["cron"].split())
    if "cron_timezone" in fields:
        parse_timezone(fields["cron_timezone"])
    if "target" in fields and fields["target"] == Schedule.Target.DEPLOYED:
        fields.setdefault("model_version", None)
    for name, value in fields.items():
        setattr(schedule, name, value)
    _check_targets(
        organization=schedule.organization,
        suite=schedule.suite,
        model=schedule.model,
        target=schedule.target,
        model_version=schedule.model_version,
    )
    if (
        "name" in fields
        and Schedule.objects.filter(organization=schedule.organization, name=schedule.name)
        .exclude(pk=schedule.pk)
        .exists()
    ):
        raise ValidationError({"name": ["A schedule with this name already exists."]})
    schedule.save()
    _sync(schedule)
    return schedule


@transaction.atomic
def schedule_delete(*, schedule: Schedule) -> None:
    """Delete a schedule and its periodic task; its runs stay (without a schedule)."""
    task = schedule.periodic_task
    schedule.delete()
    if task is not None:
        task.delete()


def schedule_fire(*, schedule_id: int, now: datetime | None = None) -> EvaluationRun | None:
    """Create the run of a schedule's current due time, once however often beat sends it."""
    schedule = (
        Schedule.objects.select_related("suite", "model", "model_version")
        .filter(pk=schedule_id)
        .first()
    )
    if schedule is None or not schedule.enabled:
        return None
    now = now or timezone.now()
    due = last_due_time(
        schedule.cron, schedule.cron_timezone, now + timedelta(seconds=SCHEDULE_CLOCK_SKEW_SECONDS)
    )
    due_utc = (due or now.replace(second=0, microsecond=0)).astimezone(ZoneInfo("UTC"))
    due_key = f"schedule:{schedule.pk}:{due_utc:%Y-%m-%dT%H:%MZ}"
    if EvaluationRun.objects.filter(due_key=due_key).exists():
        logger.info("schedule %s: the run due %s exists; nothing to do", schedule.pk, due_utc)
        return None
    if schedule.target == Schedule.Target.FIXED:
        version = schedule.model_version
    else:
        version = selectors.deployed_version(schedule.model)
    if version is None:
        logger.warning(
            "schedule %s: %s has no version in deployment; nothing evaluated at %s",
            schedule.pk,
            schedule.model,
            due_utc,
        )
        return None
    try:
        with transaction.atomic():
            run = run_create(
                suite=selectors.latest_suite(schedule.suite),
                model_version=version,
                trigger=EvaluationRun.Trigger.SCHEDULE,
                schedule=schedule,
                due_key=due_key,
            )
    except IntegrityError:
        # Another beat's firing of the same due time committed first.
        logger.info("schedule %s: the run due %s was created concurrently", schedule.pk, due_utc)
        return None
    logger.info("schedule %s: run %s created for %s", schedule.pk, run.pk, due_utc)
    return run
