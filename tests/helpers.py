"""Helpers tests share: import them from here, not from a conftest (conftests hold fixtures).

Requests through the live server, reads of the history, the clock's minute, and one way to run
`manage.py serve` in its own process and wait until it answers.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from django.core.management import call_command
from django.db import connection

from routerapp.models import Attempt, Deployment, QueryRecord
from routerapp.observability.writer import writer
from routerapp.routing.counters import minute_window
from routerapp.routing.table import DeploymentInfo, load_table
from tests.fakes import free_port

ROOT = Path(__file__).resolve().parents[1]
HI = [{"role": "user", "content": "hi"}]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"


def run_command(*args: Any) -> tuple[str, str]:
    """A management command in this process: its stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def stdout_of(*args: Any) -> str:
    """What a management command run in this process printed to stdout."""
    return run_command(*args)[0]


def write_config(tmp_path: Path, text: str, name: str = "config.yaml") -> str:
    """A YAML config file (dedented) for importconfig; its path."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def database_url() -> str:
    """The test database, for a subprocess (whose own settings would name another one)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def flush_history() -> None:
    """Make every record the server queued visible to the test."""
    writer.flush()


def post(live_url: str, key: str, body: dict[str, Any], *, timeout: float = 30) -> httpx.Response:
    return httpx.post(
        f"{live_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json=body,
        timeout=timeout,
    )


def ask(live_url: str, key: str, model: str, **extra: Any) -> httpx.Response:
    return post(live_url, key, {"model": model, "messages": HI, **extra})


def stream_events(live_url: str, key: str, body: dict[str, Any]) -> tuple[httpx.Response, list[str]]:
    """POST a streamed request and return the raw `data:` payloads in order ('[DONE]' included)."""
    with httpx.stream(
        "POST",
        f"{live_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={**body, "stream": True},
        timeout=30,
    ) as response:
        raw = response.read().decode()
    events = [e.removeprefix("data: ") for e in raw.split("\n\n") if e.strip()]
    return response, events


def deployment(upstream_model: str) -> Deployment:
    return Deployment.objects.get(upstream_model=upstream_model)


def routed(upstream_model: str) -> DeploymentInfo:
    """The deployment as the router sees it (what limits and the breaker take)."""
    return next(d for d in load_table().deployments.values() if d.upstream_model == upstream_model)


def records(**filters: Any) -> list[QueryRecord]:
    flush_history()
    return list(QueryRecord.objects.filter(**filters).order_by("created_at", "id"))


def attempts(record: QueryRecord) -> list[tuple[str, int, str]]:
    """(upstream model, retry, error type) per attempt, in the order they were made."""
    return [
        (a.deployment.upstream_model, a.retry, a.error_type)
        for a in Attempt.objects.filter(query=record).select_related("deployment").order_by("start_ms")
    ]


def attempt_latencies(record: QueryRecord) -> list[float]:
    """How long each attempt ran (ms, the router's own measure), in the order they were made."""
    return list(
        Attempt.objects.filter(query=record).order_by("start_ms").values_list("latency_ms", flat=True)
    )


def wait_for(predicate: Any, *, timeout: float = 60.0, every: float = 0.05, what: str = "condition") -> Any:
    """Poll until `predicate()` returns something truthy, and return it. The bound only keeps a
    broken build from hanging: it is generous, never the behaviour under test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def minute_start() -> float:
    """One second into the current minute: a moment whose minute window lasts the whole test."""
    return time.time() // 60 * 60 + 1.0


def fresh_minute(margin: float = 4.0) -> None:
    """Wait for the next minute window if this one is about to end. Only for servers in other
    processes (tests/scale), whose clocks a test cannot stop; in this process use stopped_clock."""
    _, left = minute_window()
    if left < margin:
        time.sleep(left + 0.05)


@contextmanager
def serve_process(
    env: dict[str, str], *args: str, key: str, ready_timeout: float = 30, **popen: Any
) -> Iterator[tuple[subprocess.Popen, str]]:
    """`manage.py serve --port P *args` in its own process; yields (process, base URL) once GET
    /v1/models answers 200 for `key`, and stops it (SIGTERM, then kill) afterwards: the whole
    process group, workers and task cluster included, when `start_new_session=True` gave it one."""
    port = free_port()
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.PIPE)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        text=True,
        **popen,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            try:
                if (
                    httpx.get(f"{base}/v1/models", headers={"authorization": f"Bearer {key}"}).status_code
                    == 200
                ):
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "server did not start"
            time.sleep(0.05)
        yield server, base
    finally:
        group = popen.get("start_new_session", False)
        if server.poll() is None or group:
            _signal(server, signal.SIGTERM, group)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal(server, signal.SIGKILL, group)
                server.wait()


def _signal(process: subprocess.Popen, signum: int, group: bool) -> None:
    try:
        if group:
            os.killpg(process.pid, signum)  # the group outlives its leader: the cluster, the workers
        else:
            process.send_signal(signum)
    except ProcessLookupError:
        pass
