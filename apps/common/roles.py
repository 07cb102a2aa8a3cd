"""The roles of the platform: the vocabulary of the one authorisation rule (apps.common.api).

It lives on the ground floor because the permission plumbing reads it; the accounts app
stores who holds which role where (Membership, ApiToken) and re-exports it as
`apps.accounts.models.Role`.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    MODEL_DEVELOPER = "model_developer", "Model developer"
    CLINICAL_REVIEWER = "clinical_reviewer", "Clinical reviewer"
    AUDITOR = "auditor", "Auditor"


ALL_ROLES = tuple(Role.values)
