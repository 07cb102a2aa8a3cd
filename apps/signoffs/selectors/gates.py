"""Stage gates: what a model version still needs before it may leave its lifecycle stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apps.accounts.models import Role
from apps.evaluations.models import EvaluationRun
from apps.registry.models import ModelVersion
from apps.signoffs.constants import (
    DEFAULT_REQUIRED_ROLES,
    EVALUATED_STAGES,
    STAGE_ORDER,
    Meaning,
    Stage,
)
from apps.signoffs.models import StageRequirement
from apps.signoffs.selectors.signatures import (
    SignatureState,
    signature_states,
    signoffs_of_model_version,
    utc_iso,
)

FINISHED = (EvaluationRun.Status.SUCCEEDED, EvaluationRun.Status.FAILED)


@dataclass(frozen=True)
class Gate:
    stage: str
    next_stage: str | None
    required_roles: tuple[str, ...]
    missing: list[str] = field(default_factory=list)
    latest_run: int | None = None

    @property
    def open(self) -> bool:
        return self.next_stage is not None and not self.missing


def next_stage(stage: str) -> str | None:
    index = STAGE_ORDER.index(stage)
    return STAGE_ORDER[index + 1] if index + 1 < len(STAGE_ORDER) else None


def required_roles(*, organization_id: int, stage: str) -> tuple[str, ...]:
    """The roles that must sign a stage: the organisation's setting, else the default."""
    row = StageRequirement.objects.filter(organization_id=organization_id, stage=stage).first()
    return tuple(row.roles) if row is not None else DEFAULT_REQUIRED_ROLES


def stage_requirements(*, organization_id: int) -> list[dict[str, Any]]:
    rows = {r.stage: r for r in StageRequirement.objects.filter(organization_id=organization_id)}
    return [
        {
            "stage": stage,
            "roles": list(rows[stage].roles) if stage in rows else list(DEFAULT_REQUIRED_ROLES),
            "default": stage not in rows,
        }
        for stage in STAGE_ORDER
    ]


def _role_label(role: str) -> str:
    return str(Role(role).label).lower() if role in Role.values else role


def _signature_gaps(stage: str, roles: tuple[str, ...], states: list[SignatureState]) -> list[str]:
    label = Stage(stage).label.lower()
    missing: list[str] = []
    for state in states:
        s = state.signoff
        if s.meaning == Meaning.REJECTED and state.current:
            missing.append(
                f"rejected at {label} by {s.signer_name} ({_role_label(s.signer_role)}) on "
                f"{utc_iso(s.signed_at)}" + (f": {s.comment}" if s.comment else "")
            )
    for role in roles:
        approvals = [
            st
            for st in states
            if st.signoff.meaning == Meaning.APPROVED and st.signoff.signer_role == role
        ]
        if any(st.current for st in approvals):
            continue
        stale = [st for st in approvals if st.stale and not st.withdrawn]
        if stale:
            s = stale[-1].signoff
            missing.append(
                f"the approval at {label} by {s.signer_name} ({_role_label(role)}) on "
                f"{utc_iso(s.signed_at)} is stale: the model version changed after it was "
                "signed; a current approval is needed"
            )
        else:
            missing.append(f"a current approval at {label} by a {_role_label(role)}")
    return missing


def _run_gaps(model_version: ModelVersion) -> tuple[list[str], int | None]:
    run = (
        EvaluationRun.objects.filter(model_version=model_version, status__in=FINISHED)
        .order_by("-finished_at", "-created_at")
        .first()
    )
    if run is None:
        return ["a finished evaluation run of this model version (none yet)"], None
    if run.status != EvaluationRun.Status.SUCCEEDED:
        return [f"the latest evaluation run {run.pk} failed: {run.error or 'no reason given'}"], (
            run.pk
        )
    problems = []
    checks = list(run.check_results.order_by("check_name"))
    if not checks:
        problems.append(f"the latest evaluation run {run.pk} has no check results")
    for check in checks:
        not_passed = [
            v for v in check.verdicts if isinstance(v, dict) and v.get("verdict") != "pass"
        ]
        if check.verdict == "pass" and not not_passed:
            continue
        details = "; ".join(
            f"{v.get('metric')}: {v.get('verdict')}"
            + (f" ({v['reason']})" if v.get("reason") else "")
            for v in not_passed
        )
        problems.append(
            f"the latest evaluation run {run.pk} did not pass {check.check_name} "
            f"({check.verdict})" + (f": {details}" if details else "")
        )
    return problems, run.pk


def stage_gate(*, model_version: ModelVersion) -> Gate:
    """Whether the version may move on from its current stage, and if not exactly why."""
    stage = model_version.lifecycle_stage
    following = next_stage(stage)
    roles = required_roles(organization_id=model_version.model.organization_id, stage=stage)
    if following is None:
        return Gate(stage=stage, next_stage=None, required_roles=roles)
    states = [
        st
        for st in signature_states(list(signoffs_of_model_version(model_version=model_version)))
        if st.signoff.model_version_id == model_version.pk and st.signoff.stage == stage
    ]
    missing = _signature_gaps(stage, roles, states)
    run_id = None
    if stage in EVALUATED_STAGES:
        run_missing, run_id = _run_gaps(model_version)
        missing += run_missing
    return Gate(
        stage=stage, next_stage=following, required_roles=roles, missing=missing, latest_run=run_id
    )
