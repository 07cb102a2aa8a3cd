from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Server-rendered pages for compliance officers, reviewers, auditors and admins."""

    name = "apps.portal"
    label = "portal"
    verbose_name = "Portal"
