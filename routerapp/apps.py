from __future__ import annotations

from django.apps import AppConfig


class RouterAppConfig(AppConfig):
    name = "routerapp"
    verbose_name = "LLM router"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate
        from django_q.signals import post_spawn

        from routerapp import production, signals  # noqa: F401 - connect receivers, register checks
        from routerapp.tasks import ensure_schedules, resume_batches_on_spawn

        post_migrate.connect(ensure_schedules, sender=self)
        post_spawn.connect(resume_batches_on_spawn, dispatch_uid="router-resume-batches")
