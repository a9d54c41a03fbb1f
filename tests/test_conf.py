"""routerapp.conf.router_settings: settings.ROUTER itself, and the new one after it is replaced."""

from __future__ import annotations

from django.conf import settings as django_settings

from routerapp.conf import router_settings


def test_it_is_the_settings_dict_and_follows_an_override(settings):
    assert router_settings() is django_settings.ROUTER
    settings.ROUTER = {**settings.ROUTER, "MAX_MESSAGES": 7}  # override_settings: setting_changed
    assert router_settings()["MAX_MESSAGES"] == 7
    assert router_settings() is django_settings.ROUTER


def test_a_change_in_place_is_seen(monkeypatch):
    monkeypatch.setitem(django_settings.ROUTER, "MAX_MESSAGES", 9)
    assert router_settings()["MAX_MESSAGES"] == 9


def test_the_override_is_gone_after_the_test():
    assert router_settings() is django_settings.ROUTER
    assert router_settings()["MAX_MESSAGES"] != 7
