"""The only Celery bootstrap: configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

app = Celery("governance", include=["worker.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")


@setup_logging.connect  # type: ignore[untyped-decorator]
def config_loggers(*args: object, **kwargs: object) -> None:
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
