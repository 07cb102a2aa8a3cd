"""Constants of the audit trail."""

PLATFORM_CHAIN = "platform"  # label of the chain of events with no organisation
REDACTED = "[redacted]"  # recorded instead of a secret's value (the change itself is kept)
# Namespace of the PostgreSQL advisory lock key of a chain (63 bits derived from it and the org).
LOCK_NAMESPACE = "carealign.audit.chain"
EXPORT_CHUNK_SIZE = 2000  # rows per server-side cursor fetch when streaming or verifying
MAX_LABEL = 300
MAX_USER_AGENT = 300
