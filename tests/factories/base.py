"""What every factory module shares: the personas' password and `ServiceFactory`."""

from __future__ import annotations

from typing import Any

import factory

PASSWORD = "correct horse battery staple"


class ServiceFactory(factory.Factory):
    """Creates through a service: `service` gets the factory's fields as keyword arguments.

    (`build()` makes an unsaved model instance, as for any factory_boy factory.)"""

    class Meta:
        abstract = True

    @classmethod
    def service(cls, **fields: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **fields: Any) -> Any:
        return cls.service(**fields)
