from django.apps import AppConfig


class SignoffsConfig(AppConfig):
    name = "apps.signoffs"
    label = "signoffs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.audit.services import register_audited
        from apps.signoffs import models

        # Signatures and withdrawals write their own, fuller events (signing services); these
        # are plain records whose every change the generic capture records.
        for model in (
            models.StageRequirement,
            models.PreferenceStudy,
            models.PreferenceJudgment,
            models.PreferenceExport,
        ):
            register_audited(model)
