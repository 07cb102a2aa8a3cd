"""Install an organisation's own card-signing key and certificate (PEM files), or show the
certificate in use: `manage.py card_signing_key ORG_SLUG [--key KEY.pem --cert CERT.pem]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Organization
from apps.reports import signing


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization", help="organisation slug")
        parser.add_argument("--key", type=Path, help="private key (PEM, unencrypted)")
        parser.add_argument("--cert", type=Path, help="certificate for that key (PEM)")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=options["organization"]).first()
        if org is None:
            raise CommandError(f"no organisation with slug {options['organization']!r}")
        if bool(options["key"]) != bool(options["cert"]):
            raise CommandError("give both --key and --cert, or neither")
        try:
            if options["key"]:
                key = signing.org_key_install(
                    organization_id=org.pk,
                    key_pem=options["key"].read_bytes(),
                    cert_pem=options["cert"].read_bytes(),
                )
            else:
                key = signing.org_key(organization_id=org.pk, organization_name=org.name)
        except (OSError, signing.SigningKeyError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"certificate: {key.cert_path}")
        self.stdout.write(f"sha256 fingerprint: {key.fingerprint}")
