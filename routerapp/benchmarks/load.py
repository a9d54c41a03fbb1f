"""`bench load`: send N chat requests at a concurrency, against a running server or an in-process one.

Against `--url` it needs a client key (`--key`). Without `--url` it serves this project's ASGI app
with uvicorn on a free 127.0.0.1 port in this process, against the configured database, and makes
a temporary key for the run (deleted afterwards; the requests stay in the history).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import orjson
from django.core.management.base import CommandError
from tqdm import tqdm

help = "Load run: N chat requests at a concurrency; a progress bar, then a table of latency and outcomes."


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="The model (or ensemble) name to request.")
    parser.add_argument("--requests", "-n", type=int, default=100, help="How many requests (default 100).")
    parser.add_argument("--concurrency", "-c", type=int, default=8, help="Requests in flight (default 8).")
    parser.add_argument("--prompt", default="Say hello in one short sentence.")
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--stream", action="store_true", help="Streamed requests; also measures TTFT.")
    parser.add_argument("--url", default=None, help="A running router, e.g. http://127.0.0.1:8000.")
    parser.add_argument("--key", default=None, help="Client key for --url (default: $ROUTER_API_KEY).")
    parser.add_argument("--timeout", type=float, default=60.0, help="Seconds each request may take.")


@dataclass
class Outcome:
    status: int
    latency_ms: float
    ttft_ms: float | None = None
    deployment: str = ""
    error_type: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status == 200 and not self.error_type


@dataclass
class LoadResult:
    outcomes: list[Outcome] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def ok(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.succeeded]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def run(
    command,
    *,
    model: str,
    requests: int,
    concurrency: int,
    prompt: str,
    max_tokens: int | None,
    stream: bool,
    url: str | None,
    key: str | None,
    timeout: float,
    **_,
) -> LoadResult:
    if requests < 1:
        raise CommandError("--requests must be at least 1")
    if concurrency < 1:
        raise CommandError("--concurrency must be at least 1")
    if timeout <= 0:
        raise CommandError("--timeout must be a positive number of seconds")
    body: dict = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if stream:
        body["stream"] = True
    if url:
        key = key or os.environ.get("ROUTER_API_KEY")
        if not key:
            raise CommandError("--url needs a client key: --key KEY or $ROUTER_API_KEY")
        target: contextlib.AbstractContextManager[tuple[str, str]] = contextlib.nullcontext(
            (url.rstrip("/"), key)
        )
    else:
        target = in_process_server()
    with target as (base, raw_key):
        command.stderr.write(f"{requests} requests to '{model}' at {base}, concurrency {concurrency}")
        result = asyncio.run(_drive(base, raw_key, body, requests, concurrency, timeout, command.stderr))
    print_table(command, result)
    return result


@contextlib.contextmanager
def in_process_server() -> Iterator[tuple[str, str]]:
    import uvicorn

    from routerapp.asgi import application
    from routerapp.models import ApiKey
    from routerapp.observability.writer import writer

    key, raw = ApiKey.create_key(f"bench-{int(time.time() * 1000)}")
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="bench-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            key.delete()
            raise CommandError("the in-process server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", raw
    finally:
        server.should_exit = True
        thread.join(10)
        writer.flush()
        key.delete()


async def _drive(
    base: str, key: str, body: dict, total: int, concurrency: int, timeout: float, out
) -> LoadResult:
    result = LoadResult()
    queue = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"authorization": f"Bearer {key}"}
    # tqdm redraws with "\r": give it the raw stream, not Django's OutputWrapper, which adds newlines.
    bar = tqdm(total=total, file=getattr(out, "_out", out), unit="req", leave=True, dynamic_ncols=True)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=timeout) as client:

        async def worker() -> None:
            for _ in queue:
                result.outcomes.append(await _one(client, body))
                bar.update(1)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.wall_s = time.perf_counter() - began
    bar.close()
    return result


async def _one(client: httpx.AsyncClient, body: dict) -> Outcome:
    began = time.perf_counter()
    try:
        if not body.get("stream"):
            response = await client.post("/v1/chat/completions", content=orjson.dumps(body))
            return Outcome(
                status=response.status_code,
                latency_ms=(time.perf_counter() - began) * 1000,
                deployment=response.headers.get("x-router-deployment", ""),
                error_type=_error_type(response.content) if response.status_code != 200 else "",
            )
        ttft = None
        error = ""
        async with client.stream("POST", "/v1/chat/completions", content=orjson.dumps(body)) as response:
            if response.status_code != 200:
                error = _error_type(await response.aread())
            else:
                async for line in response.aiter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    event = orjson.loads(line[6:])
                    if "error" in event:
                        error = event["error"].get("type") or "error"
                    elif ttft is None and any(
                        (c.get("delta") or {}).get("content") for c in event.get("choices") or ()
                    ):
                        ttft = (time.perf_counter() - began) * 1000
            return Outcome(
                status=response.status_code,
                latency_ms=(time.perf_counter() - began) * 1000,
                ttft_ms=ttft,
                deployment=response.headers.get("x-router-deployment", ""),
                error_type=error,
            )
    except httpx.HTTPError as exc:
        return Outcome(
            status=0, latency_ms=(time.perf_counter() - began) * 1000, error_type=type(exc).__name__
        )


def _error_type(content: bytes) -> str:
    try:
        return orjson.loads(content)["error"]["type"] or "error"
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return "error"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_table(command, result: LoadResult) -> None:
    out = command.stdout
    ok = result.ok
    latencies = [o.latency_ms for o in ok]
    ttfts = [o.ttft_ms for o in ok if o.ttft_ms is not None]
    total = len(result.outcomes)
    rps = total / result.wall_s if result.wall_s else 0.0
    out.write(
        f"{'requests':>10} {'ok':>6} {'errors':>6} {'rps':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'ttft p50':>9}"
    )
    out.write(
        f"{total:>10} {len(ok):>6} {total - len(ok):>6} {rps:>8.1f} {_ms(percentile(latencies, 50)):>8} "
        f"{_ms(percentile(latencies, 90)):>8} {_ms(percentile(latencies, 99)):>8} "
        f"{_ms(max(latencies) if latencies else None):>8} {_ms(percentile(ttfts, 50)):>9}"
    )
    served = Counter(o.deployment for o in ok)
    if served:
        out.write("")
        out.write(f"{'answered by':40} {'requests':>8}")
        for label, count in served.most_common():
            out.write(f"{label[:40]:40} {count:>8}")
    failures = Counter(o.error_type or f"HTTP {o.status}" for o in result.outcomes if not o.succeeded)
    if failures:
        out.write("")
        out.write(f"{'error':40} {'requests':>8}")
        for error, count in failures.most_common():
            out.write(f"{error[:40]:40} {count:>8}")
