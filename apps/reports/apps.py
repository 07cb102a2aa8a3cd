from django.apps import AppConfig
from django.apps import apps as django_apps


class ReportsConfig(AppConfig):
    name = "apps.reports"
    label = "reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        if not django_apps.is_installed("apps.audit"):
            return
        from apps.audit.services import register_audited
        from apps.reports.models import ComparisonReport, ModelCard, ModelDocumentation

        # Documentation edits are audited with before and after: that is its version history.
        register_audited(ModelDocumentation)
        # A card's creation is captured here; renders, issues, supersessions, downloads and
        # verifications are recorded by the services (they use conditional updates).
        register_audited(
            ModelCard, exclude_fields=("document", "completeness", "progress", "generation")
        )
        # A comparison report is frozen at creation: its creation is the one change.
        register_audited(ComparisonReport, exclude_fields=("document",))
