from __future__ import annotations

from django.db import models

from apps.accounts.models import Organization


class AuditAction(models.TextChoices):
    """What the product records. Not bound to the field: later apps add their own actions."""

    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    LOGIN = "login", "Login"
    LOGIN_FAILED = "login_failed", "Failed login"
    LOGIN_LOCKED_OUT = "login_locked_out", "Sign-in locked out"
    LOGOUT = "logout", "Logout"
    PERMISSION_DENIED = "permission_denied", "Permission denied"
    DOWNLOAD = "download", "Download"


class AuditEvent(models.Model):
    """One link of an organisation's tamper-evident audit trail: who did what, when, to what.

    Append-only: database triggers refuse UPDATE, DELETE and TRUNCATE. `hash` is SHA-256 over
    the canonical JSON of the other fields, `prev_hash` included (see apps/audit/verify.py), so
    editing, removing or reordering an event breaks the chain from that event on. Events with
    no organisation (failed logins of unknown users, platform users) form the platform chain.
    """

    # No index of its own: every index below starts with it (one index less to write per event).
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    seq = models.PositiveBigIntegerField()
    occurred_at = models.DateTimeField()  # the database clock on PostgreSQL
    actor = models.CharField(max_length=200)  # "user:<username>", "token:<prefix>", "system:…"
    # No foreign key: deleting a user must neither touch nor be blocked by the trail.
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    source = models.CharField(max_length=100)  # api, admin, web, command:<name>, system
    action = models.CharField(max_length=32)
    object_type = models.CharField(max_length=100, blank=True)  # "<app_label>.<model>"
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)  # field -> [before, after]
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.CharField(max_length=45, blank=True)  # text: inet would re-format it
    user_agent = models.CharField(max_length=300, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["organization_id", "seq"]
        # Unique sequence and predecessor per chain: a writer that missed the chain lock gets an
        # IntegrityError instead of forking the chain. Partial, because NULLs (the platform
        # chain) are distinct in a plain unique index.
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "seq"],
                condition=models.Q(organization__isnull=False),
                name="auditevent_org_seq_unique",
            ),
            models.UniqueConstraint(
                fields=["seq"],
                condition=models.Q(organization__isnull=True),
                name="auditevent_platform_seq_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "prev_hash"],
                condition=models.Q(organization__isnull=False),
                name="auditevent_org_prev_unique",
            ),
            models.UniqueConstraint(
                fields=["prev_hash"],
                condition=models.Q(organization__isnull=True),
                name="auditevent_platform_prev_unique",
            ),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="auditevent_seq_positive"),
        ]
        indexes = [
            # The list's default order (-id) within one organisation: without it PostgreSQL
            # walks the primary key backwards through every other tenant's events.
            models.Index(fields=["organization", "id"], name="auditevent_org_id"),
            models.Index(fields=["organization", "occurred_at"], name="auditevent_org_time"),
            models.Index(
                fields=["organization", "object_type", "object_id"], name="auditevent_org_object"
            ),
            models.Index(fields=["organization", "actor"], name="auditevent_org_actor"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type} {self.object_label}".strip()


class ChainVerification(models.Model):
    """One re-walk of an organisation's chain, done by a worker: its state and what it found.

    Verifying a long trail takes minutes, so the API shows the last finished verification
    and asks for a new one instead of walking the chain inside the request.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.CharField(max_length=200, blank=True)  # the actor's label
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    intact = models.BooleanField(null=True, blank=True)
    events = models.PositiveBigIntegerField(default=0)
    head_seq = models.PositiveBigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, blank=True)
    broken_seq = models.PositiveBigIntegerField(null=True, blank=True)
    problem = models.TextField(blank=True)
    summary = models.TextField(blank=True)
    error = models.TextField(blank=True)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["organization_id", "-id"]
        indexes = [
            models.Index(fields=["organization", "status", "-id"], name="chainverify_org_status")
        ]

    def __str__(self) -> str:
        return f"verification {self.pk} of {self.organization_id}: {self.status}"
