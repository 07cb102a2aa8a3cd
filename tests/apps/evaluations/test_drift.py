"""Drift: a scheduled run compared with the previous run of its suite on its model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import mail

from apps.audit.models import AuditEvent
from apps.evaluations import selectors, services
from apps.evaluations.models import DriftAlert, EvaluationRun
from tests.builders.evaluations import EvalSetup, finished_run, quick_suite
from tests.factories import AIModelFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(personas: Any) -> tuple[Any, Any]:
    """A suite (accuracy >= 0.5, drift tolerance 0.05) and a model version, with an owner."""
    personas.compliance_officer.email = "officer@example.org"
    personas.compliance_officer.save()
    model = AIModelFactory(organization=personas.org, owner=personas.model_developer)
    return quick_suite(personas.org), ModelVersionFactory(model=model)


def test_a_scheduled_run_that_regressed_beyond_tolerance_raises_one_alert(
    pair: tuple[Any, Any], personas: Any, django_capture_on_commit_callbacks: Any
) -> None:
    suite, version = pair
    finished_run(suite, version, accuracy=0.80)
    run = finished_run(suite, version, accuracy=0.70, trigger="schedule")
    with django_capture_on_commit_callbacks(execute=True):
        alerts = services.drift_compare(run=run)
    assert [(a.kind, a.check_name, a.metric) for a in alerts] == [
        ("regression", "knowledge", "accuracy")
    ]
    alert = alerts[0]
    assert (alert.previous_value, alert.value, alert.tolerance) == (0.80, 0.70, 0.05)
    assert "went from 0.8 to 0.7" in alert.message
    # The email, the model's flag for the portal, and the audit event.
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) >= {"officer@example.org", personas.model_developer.email}
    assert "Drift on" in mail.outbox[0].subject and alert.message in mail.outbox[0].body
    assert selectors.model_drift_flagged(version.model)
    assert AuditEvent.objects.filter(
        object_type="evaluations.driftalert", object_id=str(alert.pk), action="create"
    ).exists()
    comparison = EvaluationRun.objects.get(pk=run.pk).comparison
    overall = next(m for m in comparison["metrics"] if m["group"] is None)
    assert overall["change"] == pytest.approx(-0.10) and overall["beyond_tolerance"]


def test_equal_runs_raise_no_alert(
    pair: tuple[Any, Any], django_capture_on_commit_callbacks: Any
) -> None:
    suite, version = pair
    finished_run(suite, version, accuracy=0.80)
    run = finished_run(suite, version, accuracy=0.80, trigger="schedule")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.drift_compare(run=run) == []
    assert not DriftAlert.objects.exists() and not mail.outbox
    assert not selectors.model_drift_flagged(version.model)


def test_a_newly_failed_threshold_raises_an_alert_even_within_tolerance(
    pair: tuple[Any, Any], django_capture_on_commit_callbacks: Any
) -> None:
    suite, version = pair
    suite = services.suite_new_version(suite=suite, drift_tolerance={"knowledge.accuracy": 0.2})
    finished_run(suite, version, accuracy=0.55)
    run = finished_run(suite, version, accuracy=0.45, trigger="schedule")
    with django_capture_on_commit_callbacks(execute=True):
        alerts = services.drift_compare(run=run)
    assert [(a.kind, a.metric) for a in alerts] == [("new_failure", "accuracy")]


def test_an_improvement_is_not_an_alert_and_a_run_not_scheduled_only_compares(
    pair: tuple[Any, Any], django_capture_on_commit_callbacks: Any
) -> None:
    suite, version = pair
    finished_run(suite, version, accuracy=0.60)
    better = finished_run(suite, version, accuracy=0.90, trigger="schedule")
    assert services.drift_compare(run=better) == []
    worse = finished_run(suite, version, accuracy=0.20, trigger="api")
    assert services.drift_compare(run=worse) == []
    worse.refresh_from_db()
    assert worse.comparison["previous_run"] == better.pk and worse.comparison["regressions"] == 1


def test_acknowledging_the_alerts_clears_the_models_flag(
    pair: tuple[Any, Any], django_capture_on_commit_callbacks: Any
) -> None:
    suite, version = pair
    finished_run(suite, version, accuracy=0.80)
    run = finished_run(suite, version, accuracy=0.30, trigger="schedule")
    alerts = services.drift_compare(run=run)
    assert len(alerts) == 2  # a regression and a newly failed threshold
    for alert in alerts:
        services.drift_alert_acknowledge(alert=alert)
    assert not selectors.model_drift_flagged(version.model)


def test_two_scheduled_runs_of_an_unchanged_model_find_no_drift(
    knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any
) -> None:
    """End to end on the tiny model: the engine is deterministic, so equal runs are equal."""
    setup = knowledge_setup
    suite = services.suite_new_version(
        suite=setup.suite, drift_tolerance={"*": 0.0, "knowledge.accuracy[*]": 0.0}
    )
    schedule = services.schedule_create(
        organization=setup.org,
        name="Nightly",
        suite=suite,
        model=setup.model,
        target="fixed",
        model_version=setup.version,
        cron="0 3 * * *",
    )
    night = datetime(2026, 3, 2, 3, 0, 20, tzinfo=UTC)
    runs = []
    from worker.tasks import send_run_start

    for day in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            run = services.schedule_fire(schedule_id=schedule.pk, now=night + timedelta(days=day))
            assert run is not None
            send_run_start(run.pk)  # what the schedule_fire task does with the new run
            runs.append(run)
    first, second = EvaluationRun.objects.filter(pk__in=[r.pk for r in runs]).order_by("pk")
    assert first.status == second.status == "succeeded"
    assert second.comparison["previous_run"] == first.pk
    assert second.comparison["metrics"] and all(
        m["change"] in (0, None) for m in second.comparison["metrics"]
    )
    assert not DriftAlert.objects.exists()
