"""A health check run in another process (the django-q2 worker) cools a deployment in the server too,
with the default setup: SQLite and a local-memory cache that no two processes share."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from routerapp.models import Deployment
from routerapp.routing import breaker
from tests.factories import create_key, create_model, create_provider
from tests.helpers import attempts, database_url, flush_history, records

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(upstream, live_url):
    provider = create_provider(name="up", base_url=upstream.base_url)
    # `err=500` fails probes and requests alike: cooled by the check, the server never tries it.
    create_model("m", [(provider, "ok"), (provider, "err=500")], num_retries=0)
    return create_key()


def healthcheck_in_another_process() -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "routerapp.settings"}
    env.pop("REDIS_URL", None)  # its own local-memory cache, as the q2 worker has by default
    return subprocess.run(
        [sys.executable, "manage.py", "healthcheck", "--timeout", "5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_health_check_in_the_worker_cools_the_deployment_in_the_server(config, live_url):
    if not settings.CACHES["default"]["BACKEND"].endswith("LocalMemoryCache"):
        # With Redis the breaker is one for every process already (tests/scale/test_multiworker.py).
        pytest.skip("the setup without a shared cache is what this tests")
    done = healthcheck_in_another_process()
    assert done.returncode == 0, done.stderr
    sick = Deployment.objects.get(upstream_model="err=500")
    assert sick.health_status == "unhealthy"
    assert breaker.cooldown_remaining(sick.id) == 0  # nothing shared through the cache

    for _ in range(12):
        response = httpx.post(
            f"{live_url}/v1/chat/completions",
            headers={"authorization": f"Bearer {config}"},
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )
        assert response.status_code == 200, response.text
    flush_history()
    tried = [a for r in records(model="m") for a in attempts(r)]
    assert len(tried) == 12 and all("err=500" not in str(a) for a in tried), tried
    assert breaker.cooldown_remaining(sick.id) > 0  # the server's own breaker, from the database
