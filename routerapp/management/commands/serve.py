"""Run the ASGI server (uvicorn) and the django-q2 worker cluster together.

Both stop cleanly on Ctrl-C or SIGTERM, whether the signal goes to this process alone or to its
whole process group (systemd's default, and what a terminal's Ctrl-C does): uvicorn drains
requests and the lifespan hook flushes the history writer; the cluster runs in a process group of
its own and gets exactly one SIGTERM, from here, so it finishes its running tasks and exits
instead of hanging on signals its own children received twice.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys

import uvicorn
from django.conf import settings
from django.core.management.base import CommandError

from routerapp import production
from routerapp.management.base import RouterCommand
from routerapp.tasks import describe_schedules

# Seconds the cluster gets to finish its running tasks after SIGTERM before it is killed.
CLUSTER_STOP_S = 10


def die_with_parent() -> None:
    """In the cluster's process (before exec): SIGTERM it if `serve` dies, even by SIGKILL (Linux)."""
    os.setpgid(0, 0)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {host}:{port}: {exc.strerror}; set PORT or --port"
            ) from None


class Command(RouterCommand):
    help = "Serve the router (uvicorn) with the background worker cluster (django-q2)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
        parser.add_argument("--no-worker", action="store_true", help="Do not start the django-q2 cluster.")
        parser.add_argument("--log-level", default="warning")

    def handle(self, *args, host: str, port: int, workers: int, no_worker: bool, log_level: str, **options):
        if workers > 1 and not settings.REDIS_URL:
            # Cooldowns, rate limits and budgets live in the cache; the local-memory cache is
            # one process's memory, so N workers would each enforce them separately.
            raise CommandError(
                "--workers > 1 needs REDIS_URL: without a shared cache each worker process would keep its "
                "own cooldowns, rate limits and budgets. Set REDIS_URL, or serve with one worker."
            )
        refusals = production.problems()
        if refusals:
            raise CommandError("refusing to start with DEBUG off:\n  " + "\n  ".join(refusals))
        check_port_free(host, port)
        cluster = None
        if not no_worker:
            cluster = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"], cwd=settings.BASE_DIR, preexec_fn=die_with_parent
            )
            self.stdout.write(f"task worker cluster started (pid {cluster.pid})")
            for line in describe_schedules():
                self.stdout.write(f"  scheduled: {line}")
        self.stdout.write(f"serving on http://{host}:{port} with {workers} worker(s)")
        sys.stdout.flush()
        # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into SystemExit so the
        # `finally` below still stops the worker cluster instead of the process dying first.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        try:
            uvicorn.run(
                "routerapp.asgi:application",
                host=host,
                port=port,
                workers=workers,
                log_level=log_level,
                # Named rather than "auto" so a missing uvicorn[standard] fails loudly instead of
                # silently falling back to asyncio + h11: ~10 % more CPU per request (bench/README.md).
                loop="uvloop",
                http="httptools",
                # One access-log line per request is formatting and a write on the hot path;
                # every request already leaves a QueryRecord.
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=20,
            )
        finally:
            if cluster is not None and cluster.poll() is None:
                cluster.send_signal(signal.SIGTERM)
                try:
                    cluster.wait(timeout=CLUSTER_STOP_S)
                except subprocess.TimeoutExpired:
                    os.killpg(cluster.pid, signal.SIGKILL)
                    cluster.wait()
