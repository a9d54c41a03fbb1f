"""The one HTTP client every adapter talks to its upstream through: aiohttp, one pooled session per loop.

Measured against httpx for the same POST to the bench's mock upstream (bench/README.md), aiohttp
cost a third of the CPU per request at 1 in flight and an eighth at 32, so the router's upstream
side uses it. Adapters never touch aiohttp: they call `Adapter.post_json` / `Adapter.open_stream`
(providers/base.py), which use `UpstreamClient.post` and map `UPSTREAM_ERRORS` onto RouterErrors,
once for every kind. Responses are wrapped in `UpstreamResponse`, which reads like the slice of an
httpx response the adapters used (status_code, reason_phrase, headers, aread, aiter_lines).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import certifi
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

if TYPE_CHECKING:
    from routerapp.providers.base import Timeouts

# What a failed upstream call raises: every aiohttp client error (connect, reset, malformed HTTP,
# a body cut short) and the socket timeouts, which aiohttp raises as TimeoutError subclasses.
UPSTREAM_ERRORS: tuple[type[Exception], ...] = (aiohttp.ClientError, TimeoutError)

# Connections kept per loop: the bench runs 32 in flight to one upstream; far more than a server
# process ever holds, and only a cap, not a reservation.
MAX_CONNECTIONS = 1000
# HTTP/1.1 keep-alive: reuse upstream connections for up to 30 s of idleness.
KEEPALIVE_S = 30.0


class UpstreamResponse:
    """An open upstream response: status and headers read, the body still to come."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status

    @property
    def reason_phrase(self) -> str:
        return self._response.reason or ""

    @property
    def headers(self) -> Any:
        """Case-insensitive, as HTTP header names are (a multidict: `.get`, `.items()`)."""
        return self._response.headers

    async def aread(self) -> bytes:
        return await self._response.read()

    async def aiter_lines(self) -> AsyncIterator[str]:
        """The body's lines without their ends, split at CRLF, LF or a lone CR (the SSE spec's line
        ends; never inside a line, where JSON may hold U+2028 and friends). Bytes are split before
        decoding, so a character cut across two network reads is whole again."""
        async for lines in self.line_batches():
            for line in lines:
                yield line

    async def line_batches(self) -> AsyncIterator[list[str]]:
        """`aiter_lines` a network read at a time: the lines each read completed, as one list.

        A stream's reader (iter_sse) walks the list itself instead of resuming a generator per
        line: an upstream that sends its events in one write costs one step here, not two per event.
        """
        pending = b""
        async for piece in self._response.content.iter_any():
            pending += piece
            if b"\n" not in piece:
                continue
            *ended, pending = pending.split(b"\n")
            yield [part for line in ended for part in _cr_split(line)]
        if pending:
            yield _cr_split(pending)


def _cr_split(line: bytes) -> list[str]:
    """One LF-terminated line (LF removed) as text: a CR before the LF is part of the line end,
    any other CR ends a line of its own."""
    if line.endswith(b"\r"):
        line = line[:-1]
    text = line.decode("utf-8", "replace")
    return text.split("\r") if "\r" in text else [text]


def client_timeout(timeouts: Timeouts, *, stream: bool = False) -> aiohttp.ClientTimeout:
    """Connect within `connect`; then no read may wait longer than `total` (a whole answer) or, for
    a stream, `first_token` (each event). The cap over the whole call is the router's own
    (routing/fallback.py: Call.within_timeout), so aiohttp's `total` stays off."""
    read = timeouts.first_token if stream else timeouts.total
    return aiohttp.ClientTimeout(total=None, connect=None, sock_connect=timeouts.connect, sock_read=read)


class UpstreamClient:
    """The pooled client of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS, limit_per_host=0, keepalive_timeout=KEEPALIVE_S, ssl=_tls()
            ),
            # Proxies come from the environment (see _proxy), looked up once per upstream host:
            # trust_env=True would scan the environment and read ~/.netrc on every request
            # (~40 % of aiohttp's CPU per call in py-spy).
            trust_env=False,
            # Upstream text is never a cookie jar's business.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=True,
        )
        self._proxies: dict[str, tuple[URL | None, aiohttp.BasicAuth | None]] = {}

    @property
    def closed(self) -> bool:
        return self.session.closed or self.loop.is_closed()

    @contextlib.asynccontextmanager
    async def post(
        self, url: str, body: bytes, headers: dict[str, str], timeout: aiohttp.ClientTimeout
    ) -> AsyncIterator[UpstreamResponse]:
        """POST `body`; hold the response open for the `async with` body. Leaving before the body
        was read to its end closes that connection instead of pooling it (aiohttp's release)."""
        proxy, proxy_auth = self._proxy(url)
        async with self.session.post(
            url,
            data=body,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            proxy=proxy,
            proxy_auth=proxy_auth,
        ) as response:
            yield UpstreamResponse(response)

    def _proxy(self, url: str) -> tuple[URL | None, aiohttp.BasicAuth | None]:
        """The proxy HTTP_PROXY / HTTPS_PROXY / NO_PROXY (and ~/.netrc for its credentials) name
        for `url`'s host, as the httpx client before honoured them; read when the host is first
        called, so an environment changed after that is seen by the next process, not this one."""
        found = self._proxies.get(url)  # a provider's few endpoint URLs: a small, bounded dict
        if found is None:
            try:
                found = get_env_proxy_for_url(URL(url))
            except LookupError:
                found = (None, None)
            self._proxies[url] = found
        return found

    async def aclose(self) -> None:
        await self.session.close()


_tls_context: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    """certifi's CA bundle (what httpx verified against), loaded once per process: ~15 ms each time."""
    global _tls_context
    if _tls_context is None:
        _tls_context = ssl.create_default_context(cafile=certifi.where())
    return _tls_context


_clients: dict[int, UpstreamClient] = {}


def upstream_client() -> UpstreamClient:
    """The running loop's client. One per loop because a session's connections belong to the loop
    that opened them; a server process has one loop, tests and management commands run several in
    turn (a loop's id may be reused once it is gone, hence the identity check)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(id(loop))
    if client is None or client.loop is not loop or client.closed:
        client = _clients[id(loop)] = UpstreamClient(loop)
    return client


async def close_clients() -> None:
    """Close the running loop's client (its pooled connections) before the loop ends."""
    client = _clients.pop(id(asyncio.get_running_loop()), None)
    if client is not None:
        await client.aclose()


T = TypeVar("T")


async def closing_clients(main: Awaitable[T]) -> T:
    """`main`, then close_clients(): for sync code that runs upstream calls in a loop of its own
    (`asyncio.run(closing_clients(...))`, `async_to_sync(closing_clients)(...)`), whose pooled
    client must not outlive that loop (aiohttp warns of every session left open)."""
    try:
        return await main
    finally:
        await close_clients()
