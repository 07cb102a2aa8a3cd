"""Lifecycle stages, signature meanings, Part 11 lockout and preference-study parameters."""

from __future__ import annotations

from datetime import timedelta

from django.db import models


class Stage(models.TextChoices):
    """A model version's lifecycle stages, in order (values as the registry stores them)."""

    DATA_CURATION = "data_curation", "Data curation"
    TRAINING = "training", "Training and alignment"
    VALIDATION = "validation", "Validation"
    DEPLOYMENT = "deployment", "Deployment"
    MONITORING = "monitoring", "Monitoring"
    RETIRED = "retired", "Retired"


STAGE_ORDER: tuple[str, ...] = tuple(Stage.values)
# Leaving these stages also needs the latest evaluation run to pass every threshold.
EVALUATED_STAGES = (Stage.VALIDATION, Stage.DEPLOYMENT)
DEFAULT_REQUIRED_ROLES: tuple[str, ...] = ("clinical_reviewer", "compliance_officer")
# Roles that may sign (auditors read; service accounts never sign).
SIGNER_ROLES = ("admin", "compliance_officer", "model_developer", "clinical_reviewer")


class Meaning(models.TextChoices):
    AUTHORED = "authored", "Authored"
    REVIEWED = "reviewed", "Reviewed"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class TargetType(models.TextChoices):
    DATASET_VERSION = "dataset_version", "Dataset version"
    MODEL_VERSION = "model_version", "Model version"
    EVALUATION_RUN = "evaluation_run", "Evaluation run"
    MODEL_CARD = "model_card", "Model card"


# 21 CFR 11.300(d)-style safeguard: this many wrong passwords within the window lock signing.
SIGNING_MAX_FAILURES = 5
SIGNING_FAILURE_WINDOW = timedelta(minutes=15)
SIGNING_LOCK = timedelta(minutes=15)

# Audit actions written by this app.
ACTION_SIGNED = "signature"
ACTION_SIGNING_FAILED = "signature_failed"
ACTION_SIGNING_LOCKED = "signature_locked"
ACTION_WITHDRAWN = "signature_withdrawn"
ACTION_STAGE_CHANGED = "stage_transition"
ACTION_STAGE_REFUSED = "stage_transition_refused"

# The canonical JSON a signature's digest is computed over (selectors/records.py documents it).
CANONICAL_VERSION = "carealign-record/1"

MAX_COMMENT = 2000
CRITERIA = ("accuracy", "safety", "completeness", "empathy")
JUDGE_ROLES = ("admin", "compliance_officer", "clinical_reviewer")
MAX_PAIRS = 5000
