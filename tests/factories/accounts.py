"""Accounts: organisations, people and memberships as rows; service accounts, tokens and
invitations through the accounts services."""

from __future__ import annotations

from typing import Any

import factory

from apps.accounts.models import (
    ApiToken,
    Invitation,
    Membership,
    Organization,
    Role,
    ServiceAccount,
    User,
)
from apps.common.models import IdempotencyKey
from tests.factories.base import PASSWORD, ServiceFactory


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    kind = Organization.Kind.PROVIDER


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.COMPLIANCE_OFFICER


def member(organization: Organization, role: str = Role.COMPLIANCE_OFFICER) -> User:
    """A new user holding `role` in `organization` (password PASSWORD)."""
    user: User = UserFactory()
    MembershipFactory(user=user, organization=organization, role=role)
    return user


class ServiceAccountFactory(ServiceFactory):
    class Meta:
        model = ServiceAccount

    organization = factory.SubFactory(OrganizationFactory)
    created_by = factory.LazyAttribute(lambda o: member(o.organization, Role.ADMIN))
    name = factory.Sequence(lambda n: f"Release pipeline {n}")
    role = Role.MODEL_DEVELOPER

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.accounts.services import service_account_create

        return service_account_create(**fields)


class ApiTokenFactory(ServiceFactory):
    """A token (its secret, shown once, is on the instance as `secret`)."""

    class Meta:
        model = ApiToken

    organization = factory.SubFactory(OrganizationFactory)
    created_by = factory.LazyAttribute(lambda o: member(o.organization, Role.MODEL_DEVELOPER))
    name = factory.Sequence(lambda n: f"token {n}")

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.accounts.services import api_token_create

        issued = api_token_create(**fields)
        issued.token.secret = issued.secret
        return issued.token


class InvitationFactory(ServiceFactory):
    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    invited_by = factory.LazyAttribute(lambda o: member(o.organization, Role.ADMIN))
    username = factory.Sequence(lambda n: f"invitee{n}")
    role = Role.CLINICAL_REVIEWER

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.accounts.services import invitation_create

        return invitation_create(**fields)


class IdempotencyKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdempotencyKey

    owner = factory.Sequence(lambda n: f"user:{n}")
    key = factory.Sequence(lambda n: f"key-{n}")
    method = "POST"
    path = "/api/v1/models/"
    request_digest = factory.Sequence(lambda n: f"{n:064x}")
    status_code = 201
    response_body = factory.LazyFunction(lambda: {"id": 1})
