"""Comparison reports a card cites, with their digests (apps/reports/comparison_report.py).

A card of a model version cites the latest paired version comparison whose candidate it is
and the latest reasoning-mode study of it; the digests let a reader fetch and verify them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.reports.context import CardContext


def cited(ctx: CardContext, *kinds: str) -> str | None:
    """One paragraph per cited report: what it is, its summary and its PDF digest."""
    lines = [
        f"{r['title']} {r['id']} ({r['created_at'][:10]}): {r['summary']}. "
        f"Signed PDF SHA-256 {r['pdf_sha256']}; JSON SHA-256 {r['json_sha256']} "
        "(verify either digest on CareAlign's verify page)."
        for r in ctx.comparison_reports
        if not kinds or r["kind"] in kinds
    ]
    return "\n\n".join(lines) or None
