from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The `make demo` command: builds a demonstration organisation through the services.

    It sits on the top floor, above every domain app it drives, so that `apps.common`
    (the ground floor) imports no domain app.
    """

    name = "apps.demo"
    label = "demo"
