"""A real `manage.py serve` process, stopped with SIGTERM under load, loses no history record."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import httpx

from tests.helpers import ROOT, serve_process

CONFIG = """
providers:
  - {name: sim, kind: simulated, options: {seed: 1, latency_ms: 8, jitter_ms: 4, fail_rate: 0.1, fail_per_request: true}}
models:
  - name: fast
    num_retries: 0
    deployments:
      - {provider: sim, model: sim-small, input_cost_per_mtok: 0.1, output_cost_per_mtok: 0.4}
"""


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sigterm_under_load_loses_no_record(tmp_path):
    database = tmp_path / "router.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "ROUTER_CONFIG_CHECK_S": "1"}
    env.pop("REDIS_URL", None)  # this server's cooldowns and limits stay its own
    (tmp_path / "config.yaml").write_text(CONFIG)
    manage(env, "migrate", "-v0")
    manage(env, "importconfig", str(tmp_path / "config.yaml"))
    key = manage(env, "apikey", "create", "load").strip().splitlines()[-1]

    with serve_process(env, "--no-worker", key=key) as (server, base):
        answered = [0] * 8
        stop = threading.Event()

        def load(slot: int) -> None:
            with httpx.Client(
                base_url=base, headers={"authorization": f"Bearer {key}"}, timeout=10
            ) as client:
                while not stop.is_set():
                    try:
                        response = client.post(
                            "/v1/chat/completions",
                            json={"model": "fast", "messages": [{"role": "user", "content": f"n{slot}"}]},
                        )
                    except httpx.TransportError:
                        return  # the server stopped taking requests
                    assert response.status_code in (200, 502, 503), response.text
                    answered[slot] += 1

        workers = [threading.Thread(target=load, args=(i,)) for i in range(len(answered))]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 30
        while sum(answered) <= 50:  # under way: SIGTERM lands mid-load
            assert time.monotonic() < deadline, "the load did not get going"
            time.sleep(0.05)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        stop.set()
        for w in workers:
            w.join(10)
        assert server.returncode == 0, server.stderr.read()

    with sqlite3.connect(database) as db:
        records = db.execute("SELECT COUNT(*) FROM routerapp_queryrecord").fetchone()[0]
        failed = db.execute("SELECT COUNT(*) FROM routerapp_queryrecord WHERE status = 'error'").fetchone()[0]
        rollup = db.execute("SELECT requests FROM routerapp_statsrollup WHERE dimension = 'all'").fetchall()
    # Every answer the clients received left its record; a request the server accepted but could no
    # longer answer may have left one too (at most one per client connection).
    assert sum(answered) <= records <= sum(answered) + len(answered)
    assert failed > 0
    assert sum(r for (r,) in rollup) == records  # the rollups were written in the same transactions
