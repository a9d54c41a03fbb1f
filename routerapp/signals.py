"""Config changes made anywhere (admin, importconfig, the API) reach every server process."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from routerapp.models import ApiKey, Deployment, Ensemble, ModelGroup, OptimizerTemplate, Provider
from routerapp.routing.table import bump_config_version

CONFIG_MODELS = (Provider, ModelGroup, Deployment, ApiKey, Ensemble, OptimizerTemplate)


@receiver(post_save)
@receiver(post_delete)
def config_changed(sender, **kwargs) -> None:
    if sender in CONFIG_MODELS:
        # In the same transaction as the change: other processes see both or neither.
        bump_config_version()
