"""Check every stored card file: digest, PDF/A-3b rules, signature. Exit 1 on any problem.

`manage.py check_card_files [--all]`: issued and superseded cards (with --all, drafts too).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.reports import services, signing
from apps.reports.models import ModelCard
from apps.reports.pdf.conformance import pdfa_problems


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="drafts too")

    def handle(self, *args: Any, **options: Any) -> None:
        cards = ModelCard.objects.exclude(pdf_sha256="").select_related("model", "organization")
        if not options["all"]:
            cards = cards.filter(status__in=ModelCard.FROZEN)
        failures = 0
        for card in cards.order_by("created_at"):
            problems = self._problems(card)
            failures += bool(problems)
            verdict = "ok" if not problems else "; ".join(problems)
            self.stdout.write(f"{card} pdf {card.pdf_sha256[:12]}: {verdict}")
        if failures:
            raise CommandError(f"{failures} card(s) with problems")

    def _problems(self, card: ModelCard) -> list[str]:
        path = services.card_file_path(card.pdf_sha256, "pdf")
        try:
            content = path.read_bytes()
        except OSError as exc:
            return [f"cannot read the stored file: {exc}"]
        problems = pdfa_problems(content)
        if card.status in ModelCard.FROZEN:
            check = signing.check_pdf(content)
            if not (check.intact and check.covers_whole_file):
                problems.append(f"signature: {check.detail or 'does not hold'}")
        return problems
