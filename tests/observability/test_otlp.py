"""With OTEL_EXPORTER_OTLP_ENDPOINT set, each request's trace goes out over OTLP/HTTP (GenAI
semantic-convention attributes), batched from the history writer: a local receiver gets it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from routerapp.observability import otlp
from tests.factories import create_key, create_model, create_provider
from tests.helpers import HI, flush_history, post, wait_for


@pytest.fixture
def receiver(monkeypatch):
    received: list[ExportTraceServiceRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["content-length"]))
            if self.path == "/v1/traces":
                received.append(ExportTraceServiceRequest.FromString(body))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    otlp.shutdown()  # a provider made before the variable was set would export nowhere
    yield received
    otlp.shutdown()
    server.shutdown()


def spans_of(received):
    return [s for r in received for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]


def test_each_request_is_exported_as_a_genai_trace(receiver, live_url, upstream):
    create_model("m", [(create_provider(name="oa", base_url=upstream.base_url), "ok")])
    response = post(live_url, create_key(), {"model": "m", "messages": HI, "user": "alice"})
    assert response.status_code == 200
    flush_history()
    otlp.flush()
    wait_for(lambda: any(s.name == "chat m" for s in spans_of(receiver)), timeout=10)

    spans = spans_of(receiver)
    root = next(s for s in spans if s.name == "chat m")
    attributes = {a.key: a.value for a in root.attributes}
    assert attributes["gen_ai.request.model"].string_value == "m"
    assert attributes["gen_ai.usage.input_tokens"].int_value > 0
    assert attributes["router.request_id"].string_value == response.headers["x-request-id"]
    assert attributes["user.id"].string_value == "alice"
    children = [s for s in spans if s.parent_span_id == root.span_id]
    assert "attempt" in {s.name for s in children}
    assert all(s.trace_id == root.trace_id for s in children)
    assert root.end_time_unix_nano > root.start_time_unix_nano
