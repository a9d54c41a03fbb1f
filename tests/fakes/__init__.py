"""Fake upstream servers: small ASGI apps served on real sockets, so adapters are tested over the wire."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on right now (for servers started as subprocesses)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def redis_key_prefix(url: str, label: str) -> Iterator[str]:
    """A fresh cache key prefix on a reachable Redis, its keys deleted afterwards; skip if unreachable."""
    import pytest

    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {url}: {exc}")
    prefix = f"{label}-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)


@contextmanager
def run_asgi_in_thread(app: Any, *, startup_timeout: float = 10.0) -> Iterator[str]:
    """Serve `app` with uvicorn on a free 127.0.0.1 port in a background thread; yield its base URL."""
    # Port 0 lets the OS pick the port while binding, so there is no race with other test processes.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        # A request still in flight (a deliberately slow fake) must not hold up teardown.
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fake-upstream", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("fake upstream server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# Small ASGI helpers the fakes share.


async def read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def send_json(send: Any, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
    body = json.dumps(data).encode()
    await send_start(send, status, "application/json", headers)
    await send({"type": "http.response.body", "body": body})


async def send_start(
    send: Any, status: int, content_type: str, headers: dict[str, str] | None = None
) -> None:
    raw = [(b"content-type", content_type.encode())]
    raw += [(name.encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})


async def wait_for_disconnect(receive: Any, seconds: float) -> bool:
    """Sleep up to `seconds`, returning early (True) when the client hangs up, as a timed-out client does."""
    # Once the body has been read, the next receive() only returns when the client disconnects.
    try:
        await asyncio.wait_for(receive(), timeout=seconds)
    except TimeoutError:
        return False
    return True


def request_headers(scope: dict[str, Any]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


class RecordingFake:
    """A fake upstream that notes each request (`last_path`, `last_headers`, `last_request`, the JSON
    body) before `respond()` answers it as `behaviour` says."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.behaviour = "answer"
        self.delay = 5.0  # how long "slow" waits, unless the client hangs up first
        self.last_path = ""
        self.last_headers: dict[str, str] = {}
        self.last_request: dict[str, Any] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        self.last_path = scope["path"]
        self.last_headers = request_headers(scope)
        self.last_request = json.loads(body) if body else None
        await self.respond(scope, receive, send)

    async def respond(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise NotImplementedError
