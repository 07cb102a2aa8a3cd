"""Drift: compare a finished run with the previous one, and alert on regressions.

Every successful run stores its comparison; a scheduled run also raises alerts. An alert is
a DriftAlert row (which the audit trail records, and which flags the model in the portal
until acknowledged) and one email per run to the organisation's admins and compliance
officers and the model's owner.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Membership, Role
from apps.evaluations import selectors
from apps.evaluations.models import DriftAlert, EvaluationRun

logger = logging.getLogger(__name__)


# long: the two alert kinds side by side, each one create with its message
def drift_compare(*, run: EvaluationRun) -> list[DriftAlert]:
    """Store `run`'s comparison with the previous run; raise alerts if it was scheduled."""
    previous = selectors.previous_run(run)
    if previous is None:
        run.comparison = {"previous_run": None}
        run.save(update_fields=["comparison"])
        return []
    comparison = selectors.run_comparison(previous=previous, run=run)
    run.comparison = comparison
    run.save(update_fields=["comparison"])
    if run.trigger != EvaluationRun.Trigger.SCHEDULE:
        return []
    model = run.model_version.model
    alerts = []
    for metric in comparison["metrics"]:
        if not metric["regression"]:
            continue
        key = metric["metric"] + (f"[{metric['group']}]" if metric["group"] else "")
        alerts.append(
            DriftAlert.objects.create(
                organization_id=run.organization_id,
                model=model,
                run=run,
                previous_run=previous,
                kind=DriftAlert.Kind.REGRESSION,
                check_name=metric["check"],
                metric=key[:80],
                previous_value=metric["previous"],
                value=metric["value"],
                tolerance=metric["tolerance"],
                message=(
                    f"{model}: {metric['check']} {key} went from {metric['previous']:.4g} to "
                    f"{metric['value']:.4g} ({metric['change']:+.4g}; tolerance "
                    f"{metric['tolerance']:g}) between run {previous.pk} and run {run.pk}."
                ),
            )
        )
    for verdict in comparison["verdicts"]:
        if not verdict["newly_failed"]:
            continue
        value = verdict["value"]
        alerts.append(
            DriftAlert.objects.create(
                organization_id=run.organization_id,
                model=model,
                run=run,
                previous_run=previous,
                kind=DriftAlert.Kind.NEW_FAILURE,
                check_name=verdict["check"],
                metric=verdict["metric"][:80],
                value=value,
                message=(
                    f"{model}: {verdict['check']} {verdict['metric']} now fails its threshold "
                    f"{verdict['threshold']} (value {'n/a' if value is None else f'{value:.4g}'}; "
                    f"previously {verdict['previous'] or 'not set'}) in run {run.pk}."
                ),
            )
        )
    if alerts:
        alert_ids = [alert.pk for alert in alerts]
        transaction.on_commit(lambda: _email(run.pk, alert_ids), robust=True)
    return alerts


def _email(run_id: int, alert_ids: list[int]) -> None:
    run = EvaluationRun.objects.select_related("model_version__model__owner").get(pk=run_id)
    model = run.model_version.model
    alerts = list(DriftAlert.objects.filter(pk__in=alert_ids).order_by("pk"))
    recipients = set(
        Membership.objects.filter(
            organization_id=run.organization_id,
            role__in=[Role.ADMIN, Role.COMPLIANCE_OFFICER],
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if model.owner is not None and model.owner.email:
        recipients.add(model.owner.email)
    if not recipients:
        logger.warning("drift on %s (run %s): nobody to email", model, run_id)
        return
    lines = [f"- {alert.message}" for alert in alerts]
    send_mail(
        subject=f"[CareAlign] Drift on {model}: {len(alerts)} alert(s) in run {run_id}",
        message=(
            f"The scheduled evaluation run {run_id} of {run.model_version} on "
            f"{run.suite} found:\n\n" + "\n".join(lines) + "\n\nAcknowledge the alerts in "
            "CareAlign (drift alerts) once they have been reviewed.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=sorted(recipients),
    )


@transaction.atomic
def drift_alert_acknowledge(*, alert: DriftAlert) -> DriftAlert:
    """Mark an alert reviewed; the model's flag clears when none is left open."""
    if alert.acknowledged_at is not None:
        raise ValidationError({"acknowledged_at": ["This alert was already acknowledged."]})
    alert.acknowledged_at = timezone.now()
    alert.save(update_fields=["acknowledged_at"])
    return alert
