"""Run the ASGI server (uvicorn) and the django-q2 worker cluster together.

Both stop cleanly on Ctrl-C or SIGTERM: uvicorn drains requests and the lifespan hook flushes the
history writer; the cluster gets SIGTERM and finishes its running tasks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import uvicorn
from django.conf import settings

from routerapp.management.base import RouterCommand
from routerapp.tasks import describe_schedules


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
            self.stderr.write(
                self.style.WARNING(
                    "--workers > 1 without REDIS_URL: each process keeps its own cooldowns and rate limits. "
                    "Set REDIS_URL so the workers share them."
                )
            )
        cluster = None
        if not no_worker:
            cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=settings.BASE_DIR)
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
                    cluster.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    cluster.kill()
