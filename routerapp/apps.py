from __future__ import annotations

from django.apps import AppConfig


class RouterAppConfig(AppConfig):
    name = "routerapp"
    verbose_name = "LLM router"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from routerapp import signals  # noqa: F401 - connects the config-change receivers
