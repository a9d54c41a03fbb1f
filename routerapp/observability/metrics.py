"""Prometheus metrics, updated by the history writer thread from each batch of finished requests.

Observing in the writer keeps the request path free of metric work (the numbers lag by at most
one flush interval) and bounds label cardinality: labels are deployments and model names from
the database, never strings a client sent. Served at GET /metrics (routerapp.api.metrics).

Each server process counts its own requests. With `serve --workers N`, either scrape every
process, or set PROMETHEUS_MULTIPROC_DIR to an empty directory before starting: prometheus-client
then shares the counters through files in it and /metrics reports the sum.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from prometheus_client import Counter, Histogram

from routerapp.models import Deployment
from routerapp.observability.drafts import RecordDraft

NONE = "(none)"

REQUESTS = Counter(
    "router_requests", "Requests that reached the router, by outcome.", ["model", "deployment", "status"]
)
REQUEST_ERRORS = Counter(
    "router_request_errors", "Failed requests, by error type.", ["model", "deployment", "error_type"]
)
UPSTREAM_ERRORS = Counter(
    "router_upstream_errors",
    "Failed upstream attempts (retried or fallen back from, or final), by error type.",
    ["deployment", "error_type"],
)
LATENCY = Histogram(
    "router_request_latency_seconds",
    "Latency of successful requests, end to end.",
    ["deployment"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80),
)
TTFT = Histogram(
    "router_time_to_first_token_seconds",
    "Time to the first streamed token.",
    ["deployment"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20),
)
OVERHEAD = Histogram(
    "router_overhead_seconds",
    "Time the router itself added to a request (wall time minus upstream time).",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1),
)
TOKENS = Counter("router_tokens", "Tokens, by deployment and kind.", ["deployment", "kind"])
COST = Counter("router_cost_usd", "Money spent, in US dollars.", ["deployment"])


def deployment_labels(ids: set[int]) -> dict[int, tuple[str, str]]:
    """deployment id → (label, model name): one small primary-key query per batch, no cache to go stale."""
    labels: dict[int, tuple[str, str]] = {i: (f"#{i}", NONE) for i in ids}
    if ids:
        for d in Deployment.objects.filter(id__in=ids).select_related("provider", "model_group"):
            labels[d.id] = (d.label, d.model_group.name)
    return labels


def observe(batch: Iterable[RecordDraft]) -> None:
    batch = list(batch)
    ids = {d.deployment_id for d in batch if d.deployment_id is not None}
    ids.update(a.deployment_id for d in batch for a in d.attempts if a.deployment_id is not None)
    labels = deployment_labels(ids)
    # Counters are summed per label set first and incremented once each: a flush shares the core
    # with the requests being served, and most of a batch repeats the same few label sets.
    counts: defaultdict[tuple, float] = defaultdict(float)
    for d in batch:
        deployment, model = labels[d.deployment_id] if d.deployment_id is not None else (NONE, NONE)
        counts[(REQUESTS, model, deployment, d.status)] += 1
        if d.status == "error":
            counts[(REQUEST_ERRORS, model, deployment, d.error_type or "error")] += 1
        elif d.status == "ok":
            LATENCY.labels(deployment).observe(d.latency_ms / 1000)
            if d.ttft_ms is not None:
                TTFT.labels(deployment).observe(d.ttft_ms / 1000)
        if d.overhead_ms is not None:
            OVERHEAD.observe(d.overhead_ms / 1000)
        if d.prompt_tokens:
            counts[(TOKENS, deployment, "prompt")] += d.prompt_tokens
        if d.completion_tokens:
            counts[(TOKENS, deployment, "completion")] += d.completion_tokens
        if d.cost_usd:
            counts[(COST, deployment)] += d.cost_usd
        for a in d.attempts:
            if a.status == "error":
                where = labels[a.deployment_id][0] if a.deployment_id is not None else NONE
                counts[(UPSTREAM_ERRORS, where, a.error_type or "error")] += 1
    for (metric, *values), amount in counts.items():
        metric.labels(*values).inc(amount)
