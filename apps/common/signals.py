"""Signals the ground floor sends and the apps above it receive (apps.common imports no
domain app: it announces, they act)."""

from __future__ import annotations

from django.dispatch import Signal

# An API write was refused (403). Sent with request=, organization_id= (the organisation the
# write targeted, or None when unknown) and reason=; the audit app records it on that chain.
write_refused = Signal()
