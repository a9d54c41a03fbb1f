"""`make reliability`: the fault matrix, a soak with 5 % upstream faults, and SIGTERM under load.

Everything runs on 127.0.0.1 from this checkout alone: the project's fake upstream
(tests/fakes/openai_server.py) in a process of its own, the router as `manage.py serve` (one
worker, uvloop, as in production) on a scratch SQLite database, and an httpx load generator here.

  1. Fault matrix: tests/reliability/test_faults.py (every upstream fault, with and without a
     healthy deployment, plus the socket and task leak check).
  2. Soak: SOAK_S seconds (default 300) of closed-loop load at CONCURRENCY (default 16), i.e. as
     fast as the machine answers, over three deployments failing 5 % of attempts each (500s,
     connection resets, malformed JSON). Every request must be answered 200, every request must
     leave a history record, and the server's RSS is sampled throughout.
  3. SIGTERM: a slow upstream (300 ms) under load, then SIGTERM: requests in flight must finish,
     the history writer must flush (every answered request id is in the database), the exit must
     be clean; a restart on the same database must serve and record again.

Prints a table (faults survived, requests sent, records written, lost, 5xx, RSS start/end) and
exits non-zero if any promise was broken.

  .venv/bin/python bench/reliability.py [--soak-s 300] [--concurrency 16] [--skip-matrix]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
HI = [{"role": "user", "content": "hi"}]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Row:
    phase: str
    faults: str = "-"
    sent: int = 0
    records: int = 0
    lost: int = 0
    errors_5xx: int = 0
    rss_start: float | None = None
    rss_end: float | None = None
    ok: bool = True
    notes: list[str] = field(default_factory=list)


class Stack:
    """The fake upstream and a router on a scratch database, configured for one phase."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.database = scratch / "router.sqlite3"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.database}",
            "ROUTER_CONFIG_CHECK_S": "1",
            "PYTHONUNBUFFERED": "1",
            # serve refuses production (DEBUG off) on the development secrets (routerapp/production.py):
            # throwaway ones per run, as the scratch database they protect is thrown away too.
            "SECRET_KEY": "reliability-only-" + Fernet.generate_key().decode(),
            "ROUTER_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        }
        self.env.pop("REDIS_URL", None)
        self.upstream_port = free_port()
        self.upstream = subprocess.Popen(
            [PY, "-m", "tests.fakes.openai_server", str(self.upstream_port)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.base_url = self.upstream.stdout.readline().strip()
        self.server: subprocess.Popen | None = None
        self.port = 0
        self.manage("migrate", "-v0")
        self.key = self.manage("apikey", "create", "reliability").strip().splitlines()[-1]

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [PY, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def configure(self, models: dict[str, list[str]]) -> None:
        lines = [
            "providers:",
            f"  - {{name: fake, kind: openai, base_url: '{self.base_url}', timeout_s: 5}}",
            "models:",
        ]
        for name, deployments in models.items():
            lines += [f"  - name: {name}", "    deployments:"]
            lines += [f"      - {{provider: fake, model: '{d}'}}" for d in deployments]
        path = self.scratch / "config.yaml"
        path.write_text("\n".join(lines) + "\n")
        self.manage("importconfig", str(path))

    def start(self) -> None:
        self.port = free_port()
        self.log = open(self.scratch / f"serve-{self.port}.log", "w")  # noqa: SIM115
        self.server = subprocess.Popen(
            [PY, "manage.py", "serve", "--no-worker", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60  # a restart after a long soak opens a big database
        while True:
            try:
                response = httpx.get(f"{self.url}/v1/models", headers=self.headers, timeout=2)
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.server.poll() is not None:
                # The scratch folder goes with the run: say what the server said.
                self.log.flush()
                tail = (self.scratch / f"serve-{self.port}.log").read_text()[-3000:]
                raise RuntimeError(f"the router did not start; its log ended with:\n{tail}")
            time.sleep(0.1)

    def stop(self, timeout: float = 40) -> int:
        assert self.server is not None
        self.server.send_signal(signal.SIGTERM)
        try:
            code = self.server.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.server.kill()
            code = -9
        self.log.close()
        return code

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key}"}

    def records(self, model: str) -> tuple[int, set[str]]:
        """How many history records the requests for `model` left, and their request ids."""
        with sqlite3.connect(self.database) as db:
            rows = db.execute("SELECT request_id FROM routerapp_queryrecord WHERE model = ?", (model,))
            ids = {r for (r,) in rows}
        return len(ids), ids

    def close(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.kill()
        self.upstream.terminate()
        self.upstream.wait(10)


@dataclass
class Load:
    statuses: Counter = field(default_factory=Counter)
    answered_ids: list[str] = field(default_factory=list)
    transport_errors: int = 0
    # Requests sent before `cutoff` (perf_counter) that got no answer.
    unanswered_before_cutoff: int = 0
    cutoff: float | None = None

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + self.transport_errors


async def generate(stack: Stack, model: str, *, seconds: float, concurrency: int, load: Load) -> None:
    """Closed-loop load: `concurrency` clients, each sending its next request once answered."""
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=stack.url, headers=stack.headers, timeout=30, limits=limits
    ) as client:

        async def one_client(slot: int) -> None:
            n = 0
            while time.perf_counter() < stop_at:
                n += 1
                began = time.perf_counter()
                body = {"model": model, "messages": [{"role": "user", "content": f"c{slot} n{n}"}]}
                try:
                    response = await client.post("/v1/chat/completions", json=body)
                except httpx.TransportError:
                    load.transport_errors += 1
                    if load.cutoff is not None and began < load.cutoff:
                        load.unanswered_before_cutoff += 1
                    if stack.server is not None and stack.server.poll() is not None:
                        return  # the server is gone: this client stops
                    await asyncio.sleep(0.05)
                    continue
                load.statuses[response.status_code] += 1
                if "x-request-id" in response.headers:
                    load.answered_ids.append(response.headers["x-request-id"])

        await asyncio.gather(*(one_client(i) for i in range(concurrency)))


def run_matrix() -> Row:
    row = Row("fault matrix")
    done = subprocess.run(
        [
            PY,
            "-m",
            "pytest",
            "tests/reliability/test_faults.py",
            # One -q: with the project's own addopts (-q) on top, pytest drops the summary line
            # ("37 passed") this reads, and the matrix reported 0/0.
            "-o",
            "addopts=",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:logging",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    passed = int(m.group(1)) if (m := re.search(r"(\d+) passed", tail)) else 0
    failed = int(m.group(1)) if (m := re.search(r"(\d+) failed", tail)) else 0
    errors = int(m.group(1)) if (m := re.search(r"(\d+) error", tail)) else 0
    row.faults = f"{passed}/{passed + failed + errors}"
    row.ok = done.returncode == 0 and passed > 0
    if not row.ok:
        row.notes.append(tail)
    return row


def run_soak(stack: Stack, seconds: float, concurrency: int) -> Row:
    row = Row(f"soak {seconds:g}s, 5% faults")
    faulty = [
        "ok;fail=0.05;as=500;seed=1",
        "ok;fail=0.05;as=reset;seed=2",
        "ok;fail=0.05;as=malformed;seed=3",
    ]
    stack.configure({"soak": faulty, "warmup": faulty})
    stack.start()
    # Warm up (connection pools, lazy imports) under another model name, then measure from there.
    asyncio.run(
        generate(stack, "warmup", seconds=min(5.0, seconds / 10), concurrency=concurrency, load=Load())
    )
    row.rss_start = rss_mb(stack.server.pid)
    load = Load()
    samples: list[float] = []

    async def soak() -> None:
        task = asyncio.ensure_future(
            generate(stack, "soak", seconds=seconds, concurrency=concurrency, load=load)
        )
        while not task.done():
            await asyncio.sleep(min(10.0, seconds / 6))
            samples.append(rss_mb(stack.server.pid))
        await task

    began = time.perf_counter()
    asyncio.run(soak())
    elapsed = time.perf_counter() - began
    row.rss_end = rss_mb(stack.server.pid)
    code = stack.stop()  # the writer flushes on the way out: now every record is in
    row.sent = load.sent
    row.records, _ = stack.records("soak")
    row.lost = row.sent - row.records
    row.errors_5xx = sum(n for status, n in load.statuses.items() if status >= 500)
    not_ok = sum(n for status, n in load.statuses.items() if status != 200) + load.transport_errors
    row.notes.append(
        f"{row.sent / elapsed:.0f} req/s; RSS samples {', '.join(f'{s:.0f}' for s in samples)} MB"
    )
    row.ok = code == 0 and row.lost == 0 and not_ok == 0 and (row.rss_end - row.rss_start) < 40
    if not_ok:
        row.notes.append(
            f"non-200 answers or transport errors: {dict(load.statuses)}, {load.transport_errors}"
        )
    return row


def run_sigterm(stack: Stack, concurrency: int) -> Row:
    row = Row("SIGTERM under load + restart")
    stack.configure({"slow": ["ok;delay=300", "ok;delay=300;n=2"]})
    stack.start()
    row.rss_start = rss_mb(stack.server.pid)
    load = Load()

    async def load_then_signal() -> None:
        task = asyncio.ensure_future(generate(stack, "slow", seconds=30, concurrency=concurrency, load=load))
        await asyncio.sleep(3)
        row.rss_end = rss_mb(stack.server.pid)
        # Requests sent up to now are in flight at the signal: each must get its answer.
        load.cutoff = time.perf_counter()
        stack.server.send_signal(signal.SIGTERM)
        await task

    asyncio.run(load_then_signal())
    code = stack.server.wait(40)
    stack.log.close()
    after, ids = stack.records("slow")
    answered = set(load.answered_ids)
    # Sent: what the router answered, and what was in flight at the signal yet got no answer.
    row.sent = sum(load.statuses.values()) + load.unanswered_before_cutoff
    row.records = after
    row.lost = len(answered - ids)
    row.errors_5xx = sum(n for status, n in load.statuses.items() if status >= 500)
    in_flight_lost = load.unanswered_before_cutoff
    row.notes.append(f"{len(answered)} answered before the exit; exit code {code}")
    ok = code == 0 and row.lost == 0 and in_flight_lost == 0 and row.errors_5xx == 0
    if in_flight_lost:
        row.notes.append(f"{in_flight_lost} requests in flight at the signal got no answer")
    # Restart on the same database: it serves and records again.
    stack.start()
    restart = Load()
    asyncio.run(generate(stack, "slow", seconds=2, concurrency=4, load=restart))
    stack.stop()
    final, final_ids = stack.records("slow")
    restarted_ok = restart.statuses == Counter({200: restart.sent}) and set(restart.answered_ids) <= final_ids
    row.notes.append(f"restart: {restart.sent} requests, {final - after} records")
    row.sent += restart.sent
    row.records += final - after
    row.ok = ok and restarted_ok and final - after == restart.sent
    return row


def table(rows: list[Row]) -> str:
    def mb(v: float | None) -> str:
        return "-" if v is None else f"{v:.0f} MB"

    lines = [
        "| phase | faults survived | requests sent | records written | lost | 5xx | RSS start | RSS end | result |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.phase} | {r.faults} | {r.sent} | {r.records} | {r.lost} | {r.errors_5xx} "
            f"| {mb(r.rss_start)} | {mb(r.rss_end)} | {'ok' if r.ok else 'FAILED'} |"
        )
    notes = [f"- {r.phase}: {n}" for r in rows for n in r.notes]
    return "\n".join(lines + ([""] + notes if notes else []))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--soak-s", type=float, default=float(os.environ.get("SOAK_S", 300)))
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("CONCURRENCY", 16)))
    parser.add_argument("--skip-matrix", action="store_true")
    args = parser.parse_args()
    rows = []
    started = time.monotonic()
    if not args.skip_matrix:
        print("fault matrix ...", flush=True)
        rows.append(run_matrix())
    with tempfile.TemporaryDirectory(prefix="router-reliability-") as scratch:
        stack = Stack(Path(scratch))
        try:
            print(f"soak for {args.soak_s:g}s at concurrency {args.concurrency} ...", flush=True)
            rows.append(run_soak(stack, args.soak_s, args.concurrency))
            print("SIGTERM under load ...", flush=True)
            rows.append(run_sigterm(stack, args.concurrency))
        finally:
            stack.close()
    print()
    print(
        f"`make reliability` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
        f"{time.monotonic() - started:.0f} s in all"
    )
    print()
    print(table(rows))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
