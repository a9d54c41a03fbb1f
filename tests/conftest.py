"""Real parts for tests: a fake upstream on a socket, the app served by uvicorn, the official SDK.

`live_url` serves routerapp.asgi with uvicorn in a background thread of this process, against
the test database (tests that use it need `transactional_db`, so rows are committed and visible
to the server thread). The shared cache is cleared between tests so breakers and limits do not
leak from one test into the next.
"""

from __future__ import annotations

import os
import threading
import time

import openai
import pytest
import uvicorn
from django.conf import settings
from django.core.cache import cache

from routerapp.observability.writer import writer
from routerapp.optimizer.learning import live as live_patterns
from routerapp.routing.clock import clock
from routerapp.routing.health import health_sync
from routerapp.routing.table import tables
from tests.fakes import run_asgi_in_thread
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.ollama_server import FakeOllama
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import minute_start

# The servers tests start (here and as subprocesses, which inherit this) are throwaway ones on
# 127.0.0.1 with the public development secrets; routerapp/production.py refuses those otherwise.
os.environ.setdefault("ROUTER_ALLOW_DEV_SECRETS", "1")


# What the migration made for every model and no test changes: a flush after a transactional test
# leaves these rows alone, so nothing has to make them again after it (see _quick_flush).
STATIC_TABLES = frozenset({"django_content_type", "auth_permission"})


@pytest.fixture(scope="session", autouse=True)
def _quick_flush(django_db_setup):
    """Empty the tables after a transactional test (every test on the live server) in milliseconds.

    Django's flush empties every table, then the post_migrate receivers make the content types and
    permissions again (~60 ms, ~30 queries); on PostgreSQL it TRUNCATEs, which rewrites every
    table's and index's files (~0.3 s). Here the static tables are kept, their two receivers are
    off for the session (they ran when the test database was migrated), and PostgreSQL DELETEs the
    few rows a test left: Django's foreign keys are DEFERRABLE INITIALLY DEFERRED and the flush is
    one transaction, so the order is free. The schedules' receiver (routerapp.tasks) still runs:
    tests change schedules.
    """
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes
    from django.db import connection
    from django.db.models.signals import post_migrate

    operations = type(connection.ops)
    flush = operations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        tables = [t for t in tables if t not in STATIC_TABLES]
        if self.connection.vendor != "postgresql" or reset_sequences or allow_cascade:
            return flush(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(t))};" for t in tables]

    operations.sql_flush = sql_flush
    post_migrate.disconnect(
        create_permissions, dispatch_uid="django.contrib.auth.management.create_permissions"
    )
    post_migrate.disconnect(create_contenttypes)
    yield
    post_migrate.connect(create_contenttypes)
    post_migrate.connect(create_permissions, dispatch_uid="django.contrib.auth.management.create_permissions")
    operations.sql_flush = flush


@pytest.fixture(scope="session")
def fake_upstream():
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def upstream(fake_upstream):
    fake_upstream.reset()
    return fake_upstream


@pytest.fixture(scope="module")
def anthropic_server():
    """A fake Anthropic Messages API and its URL, for a module's end-to-end tests."""
    app = FakeAnthropic()
    with run_asgi_in_thread(app) as url:
        yield app, url


@pytest.fixture(scope="module")
def ollama_server():
    """A fake Ollama /api/chat and its URL, for a module's end-to-end tests."""
    app = FakeOllama()
    with run_asgi_in_thread(app) as url:
        yield app, url


@pytest.fixture
def stopped_clock():
    """The router's clock (breaker deadlines, rate-limit minutes, retry backoff, the config check)
    stopped one second into a minute: it moves only when the test advances it, and backoff sleeps
    are noted in `clock.slept` rather than waited out."""
    clock.stop(at=minute_start())
    yield clock
    clock.start()


@pytest.fixture(autouse=True)
def _router_settings():
    # Tests change config and send a request right after: check for config changes every time.
    settings.ROUTER["CONFIG_CHECK_S"] = 0
    settings.ROUTER["LEARNING_CHECK_S"] = 0
    settings.ROUTER["BACKOFF_BASE_S"] = 0.01
    settings.ROUTER["BACKOFF_MAX_S"] = 0.2
    cache.clear()
    tables.invalidate()
    live_patterns.reset()
    health_sync.reset()
    yield
    cache.clear()


class LiveServer:
    def __init__(self) -> None:
        from routerapp.asgi import application

        self.config = uvicorn.Config(
            application,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
            # uvicorn's 5 s default closes an idle connection; with the test, the fake upstream and
            # the server sharing one interpreter, a burst can leave one idle that long and the client
            # then reuses a closed connection (httpx.ReadError, seen once under a loaded machine).
            timeout_keep_alive=60,
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)

    # The one running for the test session, for tests that look inside it (its event loop's tasks).
    running: LiveServer | None = None

    @property
    def loop(self):
        return self.server.servers[0].get_loop()

    def start(self) -> str:
        LiveServer.running = self
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def _live_server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        server = LiveServer()
        url = server.start()
        yield url
        server.stop()


@pytest.fixture
def live_url(_live_server, transactional_db):
    yield _live_server
    # Rows the server queued must land before the test database is flushed.
    writer.flush()


@pytest.fixture
def client_for(live_url):
    """Build an official OpenAI SDK client for a raw key (SDK retries off: we test the router's)."""

    def make(key: str, **kwargs) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{live_url}/v1", api_key=key, max_retries=0, timeout=30, **kwargs)

    return make
