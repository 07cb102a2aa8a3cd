from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "apps.registry"
    label = "registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.audit.services import register_audited
        from apps.registry import models

        for model in (
            models.AIModel,
            models.ModelVersion,
            models.ModelVersionDataset,
            models.Dataset,
            models.DatasetVersion,
        ):
            register_audited(model)
