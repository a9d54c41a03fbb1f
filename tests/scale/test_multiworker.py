"""`serve --workers 2`: two server processes share one key's rate limit and one deployment's cooldown.

The servers are real `manage.py serve --workers 2 --no-worker` processes on the test database,
sharing Redis (REDIS_URL, else DB 4 on 127.0.0.1, not the DB 3 that CI's PostgreSQL run beside
this one flushes) under a key prefix of their own, and calling the fake upstream. Which worker
serves a request is the kernel's choice, so each test first finds one keep-alive connection per
worker (by looking up the server side of the socket in /proc) and then sends its requests through
those. Skipped when Redis is not reachable.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from routerapp.routing.counters import minute_window
from tests.factories import create_key, create_model, create_provider
from tests.fakes import redis_key_prefix
from tests.helpers import database_url, serve_process

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/4"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def redis_prefix():
    with redis_key_prefix(REDIS_URL, "mw") as prefix:
        yield prefix


class Workers:
    """A running `manage.py serve --workers 2` (started by serve_process) and the port it serves."""

    def __init__(self, proc: subprocess.Popen, port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log

    def worker_pids(self) -> set[int]:
        children = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return {int(pid) for pid in children.split()}

    def connections_per_worker(self, key: str, deadline_s: float = 25) -> list[http.client.HTTPConnection]:
        """One keep-alive connection to each worker process, in no particular order."""
        by_worker: dict[int, http.client.HTTPConnection] = {}
        spare = []
        deadline = time.monotonic() + deadline_s
        while len(by_worker) < 2:
            assert time.monotonic() < deadline, f"two workers never answered; see {self.log}"
            assert self.proc.poll() is None, f"serve exited; see {self.log}"
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                get(conn, "/v1/models", key)  # answered, so a worker has accepted this connection
            except (ConnectionError, OSError):
                time.sleep(0.2)
                continue
            pid = self.owner_of(conn)
            if pid is None or pid in by_worker:
                spare.append(conn)
            else:
                by_worker[pid] = conn
        for conn in spare:
            conn.close()
        return list(by_worker.values())

    def owner_of(self, conn: http.client.HTTPConnection) -> int | None:
        """The worker process holding the server end of `conn` (Linux /proc)."""
        client_port = conn.sock.getsockname()[1]
        inode = None
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if local_port == self.port and remote_port == client_port:
                inode = fields[9]
        if inode is None:
            return None
        for pid in self.worker_pids():
            fd_dir = Path(f"/proc/{pid}/fd")
            try:
                links = [os.readlink(fd) for fd in fd_dir.iterdir()]
            except (FileNotFoundError, PermissionError):
                continue
            if f"socket:[{inode}]" in links:
                return pid
        return None


@pytest.fixture
def workers(redis_prefix, transactional_db, tmp_path):
    """Start the servers lazily, once `key` exists: the test creates its config rows first, so
    both workers load them at once. Stopped with SIGTERM like in production."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": redis_prefix,
        "LOG_LEVEL": "WARNING",
    }
    with ExitStack() as stack:

        def start(key: str) -> Workers:
            log_path = tmp_path / "serve.log"
            log = stack.enter_context(log_path.open("wb"))
            proc, base = stack.enter_context(
                serve_process(
                    env, "--workers", "2", "--no-worker", key=key, stdout=log, stderr=subprocess.STDOUT
                )
            )
            return Workers(proc, int(base.rsplit(":", 1)[1]), log_path)

        yield start


def get(conn: http.client.HTTPConnection, path: str, key: str) -> tuple[int, dict[str, str], bytes]:
    conn.request("GET", path, headers={"authorization": f"Bearer {key}"})
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def ask(conn: http.client.HTTPConnection, key: str, model: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"model": model, "messages": HI})
    conn.request(
        "POST",
        "/v1/chat/completions",
        body=body,
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
    )
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def fresh_minute_keeping(conns: list[http.client.HTTPConnection], key: str, margin: float = 6) -> None:
    """tests.helpers.fresh_minute for pinned connections: wait for the next minute window if this one
    ends within `margin` seconds, pinging the connections every 2 s meanwhile, since uvicorn closes a
    keep-alive connection idle for 5 s (and a new one could land on the other worker). The pings end
    before the new window starts, so none counts in it."""
    _, left = minute_window()
    if left >= margin:
        return
    while left > 2.5:
        time.sleep(2)
        for conn in conns:
            get(conn, "/v1/models", key)
        _, left = minute_window()
    time.sleep(left + 0.05)


def test_two_workers_enforce_one_keys_rpm_limit_together(upstream, workers):
    limit = 6
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("m", [(provider, "ok")])
    key = create_key(rpm_limit=limit)
    first, second = workers(key).connections_per_worker(key)

    fresh_minute_keeping([first, second], key)
    statuses = {first: [], second: []}
    for i in range(2 * limit):
        conn = first if i % 2 == 0 else second
        status, headers, _ = ask(conn, key, "m")
        statuses[conn].append(status)
        if status == 429:
            assert int(headers["retry-after"]) >= 1

    # Alone, each worker would have admitted `limit` requests: together they admit `limit` in all.
    assert statuses[first] == [200] * (limit // 2) + [429] * (limit // 2)
    assert statuses[second] == [200] * (limit // 2) + [429] * (limit // 2)
    assert upstream.hits["ok"] == limit


def test_a_cooldown_opened_through_one_worker_is_honoured_by_the_other(upstream, workers):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    # cost-based tries the cheap, failing deployment first for as long as it is not cooling down.
    create_model(
        "m",
        [
            (provider, "err=500", {"input_cost_per_mtok": 0.1, "output_cost_per_mtok": 0.1}),
            (provider, "ok", {"input_cost_per_mtok": 5, "output_cost_per_mtok": 5}),
        ],
        strategy="cost-based",
        allowed_fails=2,
        cooldown_s=60,
        num_retries=0,
    )
    key = create_key()
    first, second = workers(key).connections_per_worker(key)

    fresh_minute_keeping([first, second], key)
    for _ in range(2):
        status, _, _ = ask(first, key, "m")
        assert status == 200  # answered by the fallback deployment
    assert upstream.hits["err=500"] == 2  # allowed_fails reached: the breaker is open

    for conn in (second, first, second, first, second):
        status, headers, _ = ask(conn, key, "m")
        assert status == 200
        assert headers["x-router-deployment"] == "up/ok"
    assert upstream.hits["err=500"] == 2
    assert upstream.hits["ok"] == 7
