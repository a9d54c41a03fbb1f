"""The fault matrix: every way an upstream fails, on a real fake upstream on 127.0.0.1.

For each fault, with a healthy deployment to fall back to, the client gets its answer; without
one it gets the right OpenAI-shaped error, fast (bounded by small timeouts). Either way the
history records every attempt. Afterwards the server still answers, and holds no more sockets or
tasks than before.
"""

from __future__ import annotations

import json

import httpx
import pytest

from routerapp.models import Attempt
from tests.factories import create_key, create_model, create_provider
from tests.fakes import free_port
from tests.helpers import HI, ask, records, stream_events
from tests.reliability.leaks import live_tasks, open_sockets, settled

# (name, upstream model, stream?, status and error type without a healthy deployment, error
# type of the failed attempt)
FAULTS = [
    ("429 with Retry-After", "err=429;retry_after=1", False, 429, "rate_limit_error", "RateLimitError"),
    ("429 without Retry-After", "err=429", False, 429, "rate_limit_error", "RateLimitError"),
    ("500", "err=500", False, 502, "api_error", "ProviderUnavailableError"),
    ("502", "err=502", False, 502, "api_error", "ProviderUnavailableError"),
    ("503", "err=503", False, 503, "api_error", "ProviderUnavailableError"),
    ("hang past the timeout", "hang", False, 504, "timeout_error", "UpstreamTimeoutError"),
    ("connection refused", "REFUSED", False, 502, "api_error", "ProviderUnavailableError"),
    ("connection reset", "reset", False, 502, "api_error", "ProviderUnavailableError"),
    ("reset mid-body", "reset_body", False, 502, "api_error", "ProviderUnavailableError"),
    ("malformed JSON", "malformed", False, 502, "api_error", "ProviderUnavailableError"),
    ("wrong content type", "html", False, 502, "api_error", "ProviderUnavailableError"),
    ("200 with an error body", "ok200err", False, 502, "api_error", "ProviderUnavailableError"),
    ("stream stops mid-way", "cut=2", True, 200, "api_error", "ProviderUnavailableError"),
    ("stream stalls mid-way", "stall=2", True, 200, "timeout_error", "UpstreamTimeoutError"),
    (
        "stream stalls before its first token",
        "stall_first",
        True,
        504,
        "timeout_error",
        "UpstreamTimeoutError",
    ),
    ("malformed stream", "malformed", True, 200, "api_error", "ProviderUnavailableError"),
    ("stream without [DONE]", "nodone", True, 200, "api_error", "ProviderUnavailableError"),
    ("stream 500", "err=500", True, 502, "api_error", "ProviderUnavailableError"),
]
IDS = [f[0] for f in FAULTS]
TIMEOUTS = {"timeout_s": 0.5, "first_token_timeout_s": 0.3, "chunk_timeout_s": 0.3, "num_retries": 1}


@pytest.fixture
def providers(upstream, live_url):
    up = create_provider(name="up", base_url=upstream.base_url)
    # Nothing listens on this port: connection refused.
    dead = create_provider(name="dead", base_url=f"http://127.0.0.1:{free_port()}/v1")
    return up, dead


def faulty(providers, model: str):
    up, dead = providers
    return (dead, "ok") if model == "REFUSED" else (up, model)


def send(live_url: str, key: str, stream: bool) -> tuple[int, str, list[str]]:
    if stream:
        response, events = stream_events(live_url, key, {"model": "m", "messages": HI})
        return response.status_code, "", events
    response = ask(live_url, key, "m")
    return response.status_code, response.text, []


def streamed_text(events: list[str]) -> str:
    return "".join(
        (c.get("delta") or {}).get("content") or ""
        for e in events
        if e != "[DONE]"
        for c in json.loads(e).get("choices", [])
    )


@pytest.mark.parametrize(
    ("name", "model", "stream", "status", "error_type", "attempt_error"), FAULTS, ids=IDS
)
def test_with_a_healthy_deployment_the_client_gets_its_answer(
    providers, upstream, live_url, name, model, stream, status, error_type, attempt_error
):
    up, _ = providers
    create_model("backup", [(up, "ok;n=backup")])
    create_model("m", [faulty(providers, model)], fallbacks=["backup"], **TIMEOUTS)
    code, text, events = send(live_url, create_key(), stream)
    assert code == 200, text
    if stream:
        assert events[-1] == "[DONE]" and "error" not in "".join(events[:-1])
        assert streamed_text(events).endswith("forty two.")
    (record,) = records()
    assert record.status == "ok"
    tries = list(Attempt.objects.filter(query=record).order_by("start_ms"))
    failed = [a for a in tries if a.status == "error"]
    assert failed and {a.error_type for a in failed} == {attempt_error}
    assert tries[-1].status == "ok" and tries[-1].deployment.upstream_model == "ok;n=backup"
    assert record.attempts_count == len(tries)


@pytest.mark.parametrize(
    ("name", "model", "stream", "status", "error_type", "attempt_error"), FAULTS, ids=IDS
)
def test_without_one_the_client_gets_the_right_openai_error(
    providers, upstream, live_url, name, model, stream, status, error_type, attempt_error
):
    create_model("m", [faulty(providers, model)], **TIMEOUTS)
    code, text, events = send(live_url, create_key(), stream)
    assert code == status, text
    if code == 200:
        # The stream had started: it ends with an OpenAI error event, never with a clean [DONE].
        assert "[DONE]" not in events
        assert json.loads(events[-1])["error"]["type"] == error_type
    else:
        body = json.loads(text) if text else None
        if body is None:  # a stream refused before its first byte answers with a plain error
            assert not events or json.loads(events[-1])["error"]["type"] == error_type
        else:
            assert body["error"]["type"] == error_type and body["error"]["message"]
    (record,) = records()
    assert record.status == "error"
    tries = list(Attempt.objects.filter(query=record))
    assert tries and all(a.status == "error" for a in tries)
    assert record.attempts_count == len(tries)


def test_the_matrix_leaves_no_socket_or_task_behind_and_the_server_keeps_serving(
    providers, upstream, live_url
):
    up, _ = providers
    create_model("backup", [(up, "ok;n=backup")])
    for i, (_, model, *_rest) in enumerate(FAULTS):
        create_model(f"m{i}", [faulty(providers, model)], fallbacks=["backup"], **TIMEOUTS)
    key = create_key()

    def round_of_faults() -> None:
        for i, (_, _, stream, *_rest) in enumerate(FAULTS):
            body = {"model": f"m{i}", "messages": HI, "stream": stream}
            with httpx.Client(headers={"authorization": f"Bearer {key}"}, timeout=20) as client:
                assert client.post(f"{live_url}/v1/chat/completions", json=body).status_code == 200

    round_of_faults()  # warm: connection pools filled, lazily created things created
    sockets, tasks = settled(open_sockets, 0, timeout=1), settled(live_tasks, 0, timeout=1)
    for _ in range(3):
        round_of_faults()
    assert settled(open_sockets, sockets) <= sockets  # database and cache connections not counted
    assert settled(live_tasks, tasks) <= tasks
    assert ask(live_url, key, "backup").status_code == 200
    assert len(records()) == 4 * len(FAULTS) + 1
