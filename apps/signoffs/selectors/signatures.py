"""Reading signatures: whether each is current, and how it is shown (21 CFR 11.50)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import models

from apps.common.tenancy import Actor, scope
from apps.registry.models import ModelVersion
from apps.signoffs.constants import TargetType
from apps.signoffs.models import TARGET_FIELDS, SignOff
from apps.signoffs.selectors.records import record_digest


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second: how every signature time is shown."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class SignatureState:
    signoff: SignOff
    current_digest: str
    withdrawn: bool

    @property
    def stale(self) -> bool:
        return self.current_digest != self.signoff.record_digest

    @property
    def current(self) -> bool:
        return not self.stale and not self.withdrawn

    @property
    def manifestation(self) -> str:
        """The printed form: name, UTC time and meaning (11.50(a))."""
        s = self.signoff
        return f"{s.signer_name} — {s.get_meaning_display()} — {utc_iso(s.signed_at)}"


class DigestCache:
    """Current digests of records, each computed once per read."""

    def __init__(self) -> None:
        self._digests: dict[tuple[str, str], str] = {}

    def digest(self, signoff: SignOff) -> str:
        key = (signoff.target_type, str(signoff.target_id))
        if key not in self._digests:
            self._digests[key] = record_digest(
                target_type=signoff.target_type, record=signoff.target
            )
        return self._digests[key]


def signature_states(
    signoffs: models.QuerySet[SignOff] | list[SignOff], cache: DigestCache | None = None
) -> list[SignatureState]:
    cache = cache or DigestCache()
    return [
        SignatureState(
            signoff=s,
            current_digest=cache.digest(s),
            withdrawn=hasattr(s, "withdrawal"),
        )
        for s in signoffs
    ]


def _with_relations(qs: models.QuerySet[SignOff]) -> models.QuerySet[SignOff]:
    return qs.select_related(*TARGET_FIELDS.values(), "withdrawal", "signer")


def signoff_list(*, actor: Actor) -> models.QuerySet[SignOff]:
    """Sign-offs the actor may read (their organisations')."""
    return _with_relations(scope(SignOff.objects.all(), actor))


def signoffs_of_model_version(*, model_version: ModelVersion) -> models.QuerySet[SignOff]:
    """Sign-offs of a model version itself and of its evaluation runs, newest first."""
    return _with_relations(
        SignOff.objects.filter(
            models.Q(model_version=model_version)
            | models.Q(evaluation_run__model_version=model_version)
        )
    ).order_by("signed_at", "id")


def signature_dict(state: SignatureState) -> dict[str, Any]:
    """A signature as cards show it (the apps.reports.selectors.card_signatures contract),
    plus the older keys the card profiles read (printed_name, role, lifecycle_stage, stale)."""
    s = state.signoff
    subject = (
        f"evaluation run {s.evaluation_run_id}"
        if s.target_type == TargetType.EVALUATION_RUN
        else f"{s.get_target_type_display().lower()} {s.target}"
    )
    return {
        "signer_name": s.signer_name,
        "signer_role": s.signer_role,
        "meaning": s.meaning,
        "stage": s.stage,
        "signed_at": utc_iso(s.signed_at),
        "record_digest": s.record_digest,
        "current": state.current,
        "comment": s.comment,
        "withdrawn": state.withdrawn,
        "target_type": s.target_type,
        "printed_name": s.signer_name,
        "role": s.signer_role,
        "lifecycle_stage": s.stage,
        "stale": not state.current,
        "subject": subject,
    }


def signatures_for_model_version(*, model_version: ModelVersion) -> list[dict[str, Any]]:
    """Every signature of a model version and its runs, oldest first, with its state."""
    states = signature_states(list(signoffs_of_model_version(model_version=model_version)))
    return [signature_dict(state) for state in states]
