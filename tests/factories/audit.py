"""Audit: events are appended to their chain by the audit service, never saved as rows."""

from __future__ import annotations

from typing import Any

import factory

from apps.accounts.models import Organization
from apps.audit.models import AuditEvent, ChainVerification
from tests.factories.accounts import OrganizationFactory
from tests.factories.base import ServiceFactory


class AuditEventFactory(ServiceFactory):
    class Meta:
        model = AuditEvent

    organization = factory.SubFactory(OrganizationFactory)
    action = "download"
    label = factory.Sequence(lambda n: f"export {n}")

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.audit.services import audit_record

        return audit_record(**fields)


class ChainVerificationFactory(ServiceFactory):
    """A queued verification of an organisation's chain (the task is not sent)."""

    class Meta:
        model = ChainVerification

    organization = factory.SubFactory(OrganizationFactory)

    @classmethod
    def service(cls, *, organization: Organization, **fields: Any) -> Any:
        from apps.audit.services import chain_verification_request

        return chain_verification_request(organization_id=organization.pk, **fields)[0]
