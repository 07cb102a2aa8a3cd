"""Writes for sign-offs, stage gates and preference studies (see the modules)."""

from apps.signoffs.services.gates import (
    GateClosed,
    model_version_stage_advance,
    stage_requirement_set,
)
from apps.signoffs.services.preferences import (
    pairs_from_upload,
    preference_judgment_create,
    preference_study_close,
    preference_study_create,
    preference_study_export,
)
from apps.signoffs.services.signing import (
    SigningLocked,
    SigningRefused,
    signing_locked_until,
    signoff_create,
    signoff_withdraw,
)

__all__ = [
    "GateClosed",
    "SigningLocked",
    "SigningRefused",
    "model_version_stage_advance",
    "pairs_from_upload",
    "preference_judgment_create",
    "preference_study_close",
    "preference_study_create",
    "preference_study_export",
    "signing_locked_until",
    "signoff_create",
    "signoff_withdraw",
    "stage_requirement_set",
]
