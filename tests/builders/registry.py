"""Request bodies for the registry's API that several tests post."""

from __future__ import annotations

# The smallest valid body of POST /api/v1/models/.
MODEL = {
    "name": "Triage",
    "intended_use": "Suggests triage levels.",
    "decision_role": "informs",
    "application_area": "patient_care",
    "risk_class": "low",
}
