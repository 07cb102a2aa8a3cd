"""`manage.py verify_audit [--org SLUG]`: re-walk the audit hash chains."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Organization
from apps.audit.constants import PLATFORM_CHAIN
from apps.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Verify every audit chain (or one organisation's, or --org platform): print "
        "'N events, chain intact, head <hash>' per chain; exit 1 naming the first broken event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help=f"organisation slug, or {PLATFORM_CHAIN!r}")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["org"]
        chains: list[tuple[str, int | None]] = []
        if slug in (None, PLATFORM_CHAIN):
            chains.append((PLATFORM_CHAIN, None))
        if slug != PLATFORM_CHAIN:
            orgs = Organization.objects.order_by("slug")
            if slug:
                orgs = orgs.filter(slug=slug)
                if not orgs.exists():
                    raise CommandError(f"No organisation {slug!r}.")
            chains.extend((org.slug, org.pk) for org in orgs)
        broken = []
        for label, org_id in chains:
            result = audit_chain_verify(organization_id=org_id)
            self.stdout.write(f"{label}: {result.summary}")
            if not result.ok:
                broken.append(label)
        if broken:
            raise CommandError(f"audit chain broken: {', '.join(broken)}", returncode=1)
