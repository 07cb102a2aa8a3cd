"""Who signed what, and how the provider keeps records (sign-offs and the audit trail)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from apps.reports.profiles import prose

if TYPE_CHECKING:
    from apps.reports.context import CardContext


def signed_test_reports(ctx: CardContext) -> str | None:
    """Test reports dated and signed by the responsible persons (current, not stale)."""
    lines = [
        f"{s['signer_name']} — {s['meaning']} — {s['signed_at']}"
        + (f" — {s['stage']}" if s.get("stage") else "")
        + f" — record sha256 `{str(s['record_digest'])[:16]}…`"
        for s in ctx.signatures
        if s.get("current") and s.get("meaning") in ("approved", "reviewed")
    ]
    return prose.bullets(lines)


def stakeholders_consulted(ctx: CardContext) -> str | None:
    """Who signed off, in what role, at which stage, and whether the signature is current."""
    lines = [
        f"{s['signer_name']} ({s.get('signer_role') or 'stakeholder'}) — {s['meaning']}"
        + (f" {s['subject']}" if s.get("subject") else "")
        + (f" at stage {s['stage']}" if s.get("stage") else "")
        + f" on {str(s['signed_at'])[:10]}"
        + ("" if s.get("current") else " (stale: the record changed after signing)")
        for s in ctx.signatures
    ]
    return prose.bullets(lines)


def operational_logging(ctx: CardContext) -> str | None:
    """Art. 12: the AI system's own logs in operation, as the organisation documents them."""
    return prose.documented(ctx, "operational_logging")


def logging_arrangements(ctx: CardContext) -> str | None:
    """The provider's record-keeping in CareAlign (not the system's Art. 12 logs)."""
    audit = ctx.audit
    if audit.get("chain_head_hash") is None and not audit.get("event_count"):
        return None
    return (
        "Every change to the registry, evaluations, documentation and cards, every sign-off, "
        "download and verification is recorded automatically in an append-only, hash-chained "
        "audit trail (who, what, when, which object, before and after); the database refuses "
        "updates and deletions, and the chain can be re-verified on demand. "
        f"At generation: {audit.get('event_count', 0):,} events for this organisation, chain "
        f"head #{audit.get('chain_head_sequence')} sha256 `{audit.get('chain_head_hash')}`."
    )
