"""Reads for sign-offs, stage gates and preference studies (see the modules)."""

from apps.signoffs.selectors.gates import Gate, next_stage, required_roles, stage_gate
from apps.signoffs.selectors.records import record_canonical, record_digest
from apps.signoffs.selectors.signatures import (
    SignatureState,
    signature_states,
    signatures_for_model_version,
    signoff_list,
    utc_iso,
)

__all__ = [
    "Gate",
    "SignatureState",
    "next_stage",
    "record_canonical",
    "record_digest",
    "required_roles",
    "signature_states",
    "signatures_for_model_version",
    "signoff_list",
    "stage_gate",
    "utc_iso",
]
