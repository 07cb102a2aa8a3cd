from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from apps.common.roles import Role as Role  # re-exported: the vocabulary lives in common


class User(AbstractUser):
    """A person who signs in: compliance officer, developer, reviewer, auditor or admin."""

    @property
    def printed_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_service_account(self) -> bool:
        return hasattr(self, "service_account")

    def organization_roles(self) -> dict[int, str]:
        """Organisation id -> this user's role there (what apps.common.tenancy's Actor holds)."""
        return dict(self.memberships.values_list("organization_id", "role"))


class Organization(models.Model):
    """A tenant: a provider (hospital), a payer or a vendor. All domain data belongs to one."""

    class Kind(models.TextChoices):
        PROVIDER = "provider", "Provider"
        PAYER = "payer", "Payer"
        VENDOR = "vendor", "Vendor"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    TENANT_FIELD = "id"

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one organisation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["organization_id", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="membership_user_org_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"

    def other_admins(self) -> models.QuerySet[Membership]:
        return Membership.objects.filter(
            organization_id=self.organization_id, role=Role.ADMIN
        ).exclude(pk=self.pk)

    def clean(self) -> None:
        # An organisation always keeps an admin (nobody could manage it otherwise); the
        # services check it again under a row lock.
        if self.pk is None or self.role == Role.ADMIN:
            return
        was = Membership.objects.filter(pk=self.pk).values_list("role", flat=True).first()
        if was == Role.ADMIN and not self.other_admins().exists():
            raise ValidationError(
                {"role": ["This is the organisation's last admin: appoint another admin first."]}
            )


ROLE_COVERS_ALL = Role.ADMIN


def role_covers(holder_role: str | None, token_role: str) -> bool:
    """Whether someone holding `holder_role` may act as `token_role` (an admin may act as any)."""
    return holder_role is not None and holder_role in (token_role, ROLE_COVERS_ALL)


class ServiceAccount(models.Model):
    """A named non-person that holds API tokens ("release pipeline"); created by an admin.

    It is a user row with an unusable password and a membership (its role), so everything a
    token does is attributed to a holder; a service account can never sign (it has no password
    to re-enter, and the sign-off services refuse it by name).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_account"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="service_accounts"
    )
    name = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["organization_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="serviceaccount_org_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (service account)"


class ApiToken(models.Model):
    """A credential for automation: acts in one organisation with one role until it expires.

    Its holder (a person who made it for themselves, or a service account) is who acts: what
    the token does is attributed to the holder, and it never acts above the holder's current
    role. Only a SHA-256 digest of the secret is stored; the secret is shown once at creation.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_tokens"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="held_api_tokens"
    )
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=32, choices=Role.choices)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="apitoken_expires_after_created",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="apitoken_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class Invitation(models.Model):
    """An admin's offer of a role in their organisation to a person, by username.

    Nobody becomes a member without accepting: the invitee sees it among their own
    invitations and accepts or declines it. Creating one answers the same whether or not the
    username exists, so invitations cannot be used to find out who has an account.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        REVOKED = "revoked", "Revoked"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    username = models.CharField(max_length=150)
    role = models.CharField(max_length=32, choices=Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)

    TENANT_FIELD = "organization"

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "username"],
                condition=models.Q(status="pending"),
                name="invitation_one_pending_per_username",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="invitation_role_known"
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="invitation_expires_after_created",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.username} → {self.organization} ({self.role}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.PENDING and self.expires_at > timezone.now()
