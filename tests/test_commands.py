"""Management commands people run: apikey, demo, serve."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.core.management import CommandError

from routerapp.models import ApiKey, hash_key
from tests.factories import create_model, create_provider
from tests.helpers import ROOT, serve_process, wait_for
from tests.helpers import run_command as run


@pytest.mark.django_db
def test_apikey_create_prints_the_key_once_on_the_last_line_and_stores_only_its_hash():
    provider = create_provider(name="sim", kind="simulated")
    create_model("fast", [(provider, "sim-small")])
    create_model("smart", [(provider, "sim-large")])
    out, _ = run("apikey", "create", "team-a", "--models", "fast,smart", "--rpm", "60", "--budget", "12.5")
    raw = out.strip().splitlines()[-1]
    assert raw.startswith("sk-rt-")
    key = ApiKey.objects.get(name="team-a")
    assert key.key_hash == hash_key(raw)
    assert raw not in (key.key_hash, key.prefix)
    assert key.allowed_models == ["fast", "smart"] and key.rpm_limit == 60 and float(key.budget_usd) == 12.5
    listing, _ = run("apikey", "list")
    assert "team-a" in listing and raw not in listing


@pytest.mark.django_db
def test_apikey_revoke_and_bad_input():
    run("apikey", "create", "gone")
    run("apikey", "revoke", "gone")
    assert not ApiKey.objects.get(name="gone").enabled
    with pytest.raises(CommandError, match="no key named"):
        run("apikey", "revoke", "missing")
    with pytest.raises(CommandError, match="already exists"):
        run("apikey", "create", "gone")
    with pytest.raises(CommandError, match="--budget"):
        run("apikey", "create", "x", "--budget", "lots")
    with pytest.raises(CommandError, match="no model named 'fats'"):
        run("apikey", "create", "x", "--models", "fats")
    with pytest.raises(CommandError, match="--expires"):
        run("apikey", "create", "x", "--expires", "2001-01-01")
    with pytest.raises(CommandError, match="--optimize: unknown optimizer strategy 'turbo'"):
        run("apikey", "create", "x", "--optimize", "compress,turbo")
    assert not ApiKey.objects.filter(name="x").exists()


@pytest.mark.django_db(transaction=True)
def test_apikey_create_optimize_sets_the_keys_strategies_as_the_request_option_would(
    live_url, upstream, client_for
):
    from routerapp.models import OptimizerTemplate

    OptimizerTemplate.objects.update_or_create(
        task_type="math", defaults={"instructions": "End with 'Final answer: N'.", "temperature": 0.0}
    )
    provider = create_provider(name="up", base_url=upstream.base_url)
    create_model("m", [(provider, "ok")], optimize=["params"])
    out, _ = run("apikey", "create", "tuned", "--optimize", "instructions,-params")
    assert ApiKey.objects.get(name="tuned").optimize == ["instructions", "-params"]
    client = client_for(out.strip().splitlines()[-1])
    math = [{"role": "user", "content": "What is 17 * 23? Show your work."}]
    client.chat.completions.create(model="m", messages=math)
    assert upstream.last["messages"][0] == {"role": "system", "content": "End with 'Final answer: N'."}
    assert "temperature" not in upstream.last  # the key's -params beats the model's params
    # A request may turn the key's strategy off, but not undo the key's opt-out.
    client.chat.completions.create(
        model="m", messages=math, extra_headers={"x-router-optimize": "-instructions,params"}
    )
    assert upstream.last["messages"] == math and "temperature" not in upstream.last


@pytest.mark.django_db(transaction=True)
def test_an_expired_key_is_refused(live_url, settings):
    from datetime import timedelta

    from django.utils import timezone

    provider = create_provider(name="sim", kind="simulated")
    create_model("fast", [(provider, "sim-small")])
    out, _ = run("apikey", "create", "soon", "--expires", "2999-01-01")
    raw = out.strip().splitlines()[-1]
    ask = lambda: httpx.get(f"{live_url}/v1/models", headers={"authorization": f"Bearer {raw}"})  # noqa: E731
    assert ask().status_code == 200
    ApiKey.objects.filter(name="soon").update(expires_at=timezone.now() - timedelta(seconds=1))
    ApiKey.objects.get(name="soon").save()  # a save, as the admin makes: the table reloads
    assert ask().status_code == 401
    listing, _ = run("apikey", "list")
    assert "expired" in listing


@pytest.mark.django_db
def test_demo_loads_config_and_prints_working_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    out, _ = run("demo", "--state-dir", str(tmp_path))
    raw = next(line.split()[-1] for line in out.splitlines() if "demo API key" in line)
    assert ApiKey.objects.get(name="demo").key_hash == hash_key(raw)
    assert "http://127.0.0.1:8123/v1" in out
    assert (tmp_path / "demo_key").stat().st_mode & 0o777 == 0o600
    password = out.split("login admin / ")[1].split(")")[0]

    # Run again (the next `make run`): the same key and password, the key's history kept.
    demo_id = ApiKey.objects.get(name="demo").id
    again, _ = run("demo", "--state-dir", str(tmp_path))
    assert raw in again and password in again
    assert ApiKey.objects.get(name="demo").id == demo_id

    # Without the kept copies it cannot show them again, and says so rather than replacing them.
    elsewhere, _ = run("demo", "--state-dir", str(tmp_path / "other"))
    assert raw not in elsewhere and "demo API key:    unchanged" in elsewhere
    assert "login admin / unchanged" in elsewhere
    assert ApiKey.objects.get(name="demo").id == demo_id


def test_serve_runs_server_and_workers_and_stops_both_on_sigterm(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}"}
    env.pop("REDIS_URL", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    demo = subprocess.run(
        [*manage, "demo", "--no-admin", "--state-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = next(line.split()[-1] for line in demo.stdout.splitlines() if "demo API key" in line)
    with serve_process(env, key=key, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as (proc, base):
        response = httpx.post(
            f"{base}/v1/chat/completions",
            headers={"authorization": f"Bearer {key}"},
            json={"model": "smart", "messages": [{"role": "user", "content": "hello"}]},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        assert children, "the django-q2 cluster was not started"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

        def gone(pid: str) -> bool:
            status = Path(f"/proc/{pid}/status")
            try:
                return "zombie" in status.read_text().lower()
            except FileNotFoundError:
                return True

        wait_for(lambda: all(gone(pid) for pid in children), timeout=10, what="the cluster to exit")
