"""Real `manage.py` processes in the default setup (SQLite, local-memory cache, no Redis).

Operator changes made by one process reach a running server; `serve` stops promptly when SIGTERM
goes to its whole process group; it refuses what it cannot do (a busy port, several workers
without a shared cache) before claiming to serve.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys

import httpx
import pytest

from tests.fakes import free_port
from tests.helpers import ROOT, serve_process, wait_for

CONFIG = """
providers:
  - {name: sim, kind: simulated, options: {seed: 1}}
models:
  - name: fast
    deployments:
      - {provider: sim, model: sim-small}
"""
MORE = (
    CONFIG
    + """
  - name: smart
    deployments:
      - {provider: sim, model: sim-large}
"""
)
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """A fresh database of its own, the demo-like config loaded, no Redis."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'router.sqlite3'}",
        "ROUTER_CONFIG_CHECK_S": "0.2",
    }
    env.pop("REDIS_URL", None)
    (tmp_path / "config.yaml").write_text(CONFIG)
    manage(env, "migrate", "-v0")
    manage(env, "importconfig", str(tmp_path / "config.yaml"))
    return env


def manage(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def new_key(env: dict, name: str) -> str:
    return manage(env, "apikey", "create", name).stdout.strip().splitlines()[-1]


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def ask(base: str, key: str, model: str = "fast") -> httpx.Response:
    return httpx.post(f"{base}/v1/chat/completions", headers=auth(key), json={"model": model, "messages": HI})


def test_revocations_new_keys_and_imported_models_reach_a_running_server(env, tmp_path):
    key = new_key(env, "a")
    with serve_process(env, "--no-worker", key=key, start_new_session=True) as (_, base):
        assert ask(base, key).status_code == 200

        manage(env, "apikey", "revoke", "a")
        wait_for(lambda: ask(base, key).status_code == 401, what="the revoked key is refused")

        second = new_key(env, "b")
        wait_for(lambda: ask(base, second).status_code == 200, what="the new key is accepted")

        (tmp_path / "more.yaml").write_text(MORE)
        manage(env, "importconfig", str(tmp_path / "more.yaml"))
        wait_for(lambda: ask(base, second, "smart").status_code == 200, what="the imported model answers")


def test_sigterm_to_the_process_group_stops_serve_and_its_cluster_losing_nothing(env):
    key = new_key(env, "a")
    sent = 20
    # With the django-q2 cluster, in a process group of its own as under systemd.
    with serve_process(
        env, key=key, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as (server, base):
        for _ in range(sent):
            assert ask(base, key).status_code == 200

        os.killpg(server.pid, signal.SIGTERM)  # what systemd does by default
        # Bounded wait, not a timing assertion: before the fix the cluster hung until killed (31 s).
        output, _ = server.communicate(timeout=15)
        assert server.returncode == 0, output
        # Checked before serve_process cleans up, which would signal what was left behind.
        cluster_pid = int(re.search(r"task worker cluster started \(pid (\d+)\)", output).group(1))
        with pytest.raises(ProcessLookupError):
            os.killpg(cluster_pid, 0)  # the cluster's process group is gone: no orphaned workers

    database = env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT COUNT(*) FROM routerapp_queryrecord").fetchone()[0] == sent


def test_serve_refuses_a_busy_port_before_saying_it_serves(env):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = manage(env, "serve", "--no-worker", "--port", str(port), check=False)
    assert done.returncode != 0
    assert "cannot listen on 127.0.0.1:" in done.stderr
    assert "serving on" not in done.stdout


def test_serve_refuses_several_workers_without_a_shared_cache(env):
    done = manage(env, "serve", "--no-worker", "--workers", "2", "--port", str(free_port()), check=False)
    assert done.returncode != 0
    assert "REDIS_URL" in done.stderr
    assert "serving on" not in done.stdout


def production_env(env: dict) -> dict:
    # Empty values, so secrets a `make run` left in this checkout's .local/ are not used either.
    env = {**env, "DEBUG": "0", "SECRET_KEY": "", "ROUTER_ENCRYPTION_KEY": ""}
    env.pop("ROUTER_ALLOW_DEV_SECRETS", None)
    return env


def test_serve_refuses_production_on_the_development_secrets(env):
    done = manage(production_env(env), "serve", "--no-worker", "--port", str(free_port()), check=False)
    assert done.returncode != 0
    assert "SECRET_KEY is the public development key" in done.stderr
    assert "ROUTER_ENCRYPTION_KEY is not set" in done.stderr
    assert "serving on" not in done.stdout


def test_check_deploy_is_clean_when_configured_as_the_readme_says(env):
    from cryptography.fernet import Fernet

    configured = {
        **production_env(env),
        # The README's "Running in production" settings:
        "SECRET_KEY": "k" * 10 + Fernet.generate_key().decode(),
        "ROUTER_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "router.example.com",
        "SECURE_SSL_REDIRECT": "1",
        "SECURE_COOKIES": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
        "SECURE_HSTS_PRELOAD": "1",
        "SECURE_PROXY_SSL_HEADER": "1",
    }
    done = manage(configured, "check", "--deploy", "--fail-level", "WARNING", check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    unconfigured = manage(production_env(env), "check", "--deploy", check=False)
    assert unconfigured.returncode != 0
    assert "routerapp.E001" in unconfigured.stderr and "routerapp.E002" in unconfigured.stderr
