"""Writes for model cards, split by topic: documentation, drafting (rendering), issuing, files
and downloads, verification.

Drafting is free; issuing rebuilds the card from the current data, refuses while a required
field is missing, stores every rendered file under its SHA-256 and freezes the row; the
previous issued card of the same model and profile becomes superseded in the same transaction.
"""

from apps.reports.services.base import (
    CardFileAltered,
    CardFileMissing,
    CardIncomplete,
    CardStateError,
)
from apps.reports.services.documentation import model_documentation_update
from apps.reports.services.drafting import model_card_render, model_card_request
from apps.reports.services.files import (
    JSON_ATTACHMENT,
    XML_ATTACHMENT,
    CardFile,
    card_file_name,
    card_file_path,
    model_card_file,
    render_files,
)
from apps.reports.services.issuing import (
    model_card_issue,
    model_card_issue_finish,
    model_card_issue_request,
)
from apps.reports.services.verify import (
    model_card_verify,
    model_card_verify_file,
    organization_signing_key,
)

__all__ = [
    "JSON_ATTACHMENT",
    "XML_ATTACHMENT",
    "CardFile",
    "CardFileAltered",
    "CardFileMissing",
    "CardIncomplete",
    "CardStateError",
    "card_file_name",
    "card_file_path",
    "model_card_file",
    "model_card_issue",
    "model_card_issue_finish",
    "model_card_issue_request",
    "model_card_render",
    "model_card_request",
    "model_card_verify",
    "model_card_verify_file",
    "model_documentation_update",
    "organization_signing_key",
    "render_files",
]
