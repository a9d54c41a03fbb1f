"""Trace export over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set.

The history writer hands each batch of finished requests to `export()` (its own thread, never the
request path); each request becomes an OpenTelemetry trace: a `chat {model}` root span with the
GenAI semantic-convention attributes (gen_ai.request.model, gen_ai.usage.input_tokens, ...) and
one child span per span the request recorded (authenticate, select, attempt, stream). The SDK's
BatchSpanProcessor sends them in batches from its own thread; the exporter reads the endpoint,
headers and timeout from the standard OTEL_EXPORTER_OTLP_* variables.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode, Tracer, set_span_in_context

from routerapp.observability.drafts import RecordDraft

_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def enabled() -> bool:
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _get_tracer() -> Tracer:
    global _provider, _tracer
    if _tracer is None:
        service = os.environ.get("OTEL_SERVICE_NAME") or "llm-router"
        _provider = TracerProvider(resource=Resource.create({"service.name": service}))
        _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _tracer = _provider.get_tracer("routerapp")
    return _tracer


def flush(timeout_ms: int = 5000) -> None:
    """Send what is queued (tests, shutdown)."""
    if _provider is not None:
        _provider.force_flush(timeout_ms)


def shutdown() -> None:
    global _provider, _tracer
    if _provider is not None:
        _provider.shutdown()
    _provider = _tracer = None


def _attributes(d: RecordDraft) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat" if d.endpoint.endswith("chat/completions") else d.endpoint,
        "gen_ai.request.model": d.model,
        "gen_ai.usage.input_tokens": d.prompt_tokens,
        "gen_ai.usage.output_tokens": d.completion_tokens,
        "router.request_id": d.request_id,
        "router.status": d.status,
        "router.cost_usd": d.cost_usd,
        "http.response.status_code": d.http_status,
    }
    if d.error_type:
        attributes["error.type"] = d.error_type
    if d.end_user:
        attributes["user.id"] = d.end_user
    if d.tags:
        attributes["router.tags"] = list(d.tags)
    return attributes


def export(batch: Iterable[RecordDraft]) -> None:
    """Queue each request's trace for the exporter (no network here: the processor batches)."""
    tracer = _get_tracer()
    now_ns, perf_now = time.time_ns(), time.perf_counter()
    for d in batch:
        # Drafts carry perf_counter offsets; wall time is its end, `latency_ms` back from it.
        end_ns = int(d.created_at.timestamp() * 1e9 + d.latency_ms * 1e6)
        start_ns = end_ns - int(d.latency_ms * 1e6)
        if d.trace is not None:
            start_ns = now_ns - int((perf_now - d.trace.started) * 1e9)
            end_ns = start_ns + int(d.latency_ms * 1e6)
        root = tracer.start_span(f"chat {d.model}", start_time=start_ns, attributes=_attributes(d))
        if d.status == "error":
            root.set_status(Status(StatusCode.ERROR, d.error_message[:200]))
        context = set_span_in_context(root)
        for s in d.trace.spans if d.trace is not None else ():
            begin = start_ns + int(s.start_ms * 1e6)
            duration = s.duration_ms if s.duration_ms is not None else d.latency_ms - s.start_ms
            attributes = {k: v for k, v in s.attributes.items() if isinstance(v, str | int | float | bool)}
            child = tracer.start_span(s.name, context=context, start_time=begin, attributes=attributes)
            if s.status == "error":
                child.set_status(Status(StatusCode.ERROR))
            child.end(end_time=begin + int(max(duration, 0) * 1e6))
        root.end(end_time=end_ns)
