"""/v1/embeddings through the real server with the official OpenAI SDK: OpenAI-compatible, Ollama and
simulated deployments, both encodings, routed (fallbacks, permissions) and recorded like chat."""

from __future__ import annotations

import base64
import math
import struct

import httpx
import openai
import pytest

from routerapp.models import QueryRecord
from tests.factories import create_key, create_model, create_provider
from tests.helpers import flush_history


@pytest.fixture
def embedder(upstream, live_url):
    provider = create_provider(name="openai-up", kind="openai", base_url=upstream.base_url)
    create_model("emb", [(provider, "ok", {"input_cost_per_mtok": 2.0, "output_cost_per_mtok": 0.0})])
    return provider


def record_of(request_id: str) -> QueryRecord:
    flush_history()
    return QueryRecord.objects.get(request_id=request_id)


def test_an_openai_deployment_embeds_for_the_sdk_and_the_call_is_billed(upstream, embedder, client_for):
    raw = client_for(create_key()).embeddings.with_raw_response.create(
        model="emb", input=["a", "bbb"], dimensions=3, user="u-1"
    )
    reply = raw.parse()
    # The SDK asks for base64 by default and decodes it: the floats are the upstream's, in input order.
    assert [item.embedding for item in reply.data] == [[1.0, 0.0, 0.25], [3.0, 1.0, 0.25]]
    assert [item.index for item in reply.data] == [0, 1]
    assert reply.model == "emb" and reply.usage.prompt_tokens == 10 and reply.usage.total_tokens == 10
    assert upstream.last == {
        "model": "ok",
        "input": ["a", "bbb"],
        "encoding_format": "float",
        "dimensions": 3,
        "user": "u-1",
    }
    record = record_of(raw.headers["x-request-id"])
    assert record.endpoint == "/v1/embeddings" and record.status == "ok"
    assert record.prompt_tokens == 10 and record.completion_tokens == 0
    assert record.cost_usd == pytest.approx(10 * 2.0 / 1_000_000)
    assert record.deployment is not None and record.attempts.count() == 1


def test_float_and_base64_encodings_carry_the_same_vector(embedder, live_url):
    key = create_key()

    def ask(encoding: str) -> dict:
        response = httpx.post(
            f"{live_url}/v1/embeddings",
            headers={"authorization": f"Bearer {key}"},
            json={"model": "emb", "input": "hello", "encoding_format": encoding},
        )
        assert response.status_code == 200, response.text
        return response.json()["data"][0]

    floats = ask("float")["embedding"]
    assert floats == [5.0, 0.0, 0.25]
    packed = base64.b64decode(ask("base64")["embedding"])
    assert list(struct.unpack(f"<{len(packed) // 4}f", packed)) == floats


def test_it_falls_back_to_the_next_model_when_the_deployment_fails(upstream, embedder, client_for):
    failing = create_provider(name="failing", kind="openai", base_url=upstream.base_url)
    create_model("emb-flaky", [(failing, "err=500")], num_retries=0, fallbacks=["emb"])
    raw = client_for(create_key()).embeddings.with_raw_response.create(model="emb-flaky", input="x")
    assert raw.parse().data[0].embedding == [1.0, 0.0, 0.25]
    assert upstream.hits["err=500"] == 1 and upstream.hits["ok"] == 1
    record = record_of(raw.headers["x-request-id"])
    assert record.fallback_used and record.attempts.count() == 2


def test_ollama_embeds_through_its_embed_api(ollama_server, live_url, client_for):
    app, url = ollama_server
    app.reset()
    provider = create_provider(name="local", kind="ollama", base_url=url)
    create_model("nomic", [(provider, "nomic-embed-text")])
    reply = client_for(create_key()).embeddings.create(
        model="nomic", input=["ab", "c"], encoding_format="float"
    )
    assert [item.embedding for item in reply.data] == [[2.0, 0.0, 0.5], [1.0, 1.0, 0.5]]
    assert reply.usage.prompt_tokens == 6
    assert app.last_path == "/api/embed"
    assert app.last_request == {"model": "nomic-embed-text", "input": ["ab", "c"]}


def test_the_simulated_provider_returns_deterministic_unit_vectors(live_url, client_for):
    provider = create_provider(name="sim", kind="simulated", options={"latency_ms": 1, "jitter_ms": 0})
    create_model("sim-emb", [(provider, "sim-embed")])
    client = client_for(create_key())
    first = client.embeddings.create(model="sim-emb", input=["same text", "other text"], dimensions=16)
    again = client.embeddings.create(model="sim-emb", input="same text", dimensions=16)
    a, b = (item.embedding for item in first.data)
    assert len(a) == 16 and math.isclose(math.fsum(x * x for x in a), 1.0, rel_tol=1e-5)
    assert again.data[0].embedding == pytest.approx(a, rel=1e-6)  # float32 on the wire
    assert a != b


def test_client_mistakes_are_openai_errors_that_leave_a_record(upstream, embedder, live_url, client_for):
    key = create_key(allowed_models=["emb", "claude"])
    client = client_for(key)
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="no-such-model", input="x")
    claude = create_provider(name="claude-up", kind="anthropic", base_url=upstream.base_url)
    create_model("claude", [(claude, "claude-x")])
    with pytest.raises(openai.BadRequestError, match="anthropic deployments do not serve embeddings"):
        client.embeddings.create(model="claude", input="x")
    create_model("emb-2", [(embedder, "ok")])
    with pytest.raises(openai.PermissionDeniedError):
        client.embeddings.create(model="emb-2", input="x")

    response = httpx.post(
        f"{live_url}/v1/embeddings",
        headers={"authorization": f"Bearer {key}"},
        json={"model": "emb", "input": ""},
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "input"
    record = record_of(response.headers["x-request-id"])
    assert record.endpoint == "/v1/embeddings" and record.http_status == 400
    flush_history()
    assert QueryRecord.objects.filter(endpoint="/v1/embeddings", status="error").count() == 4
    assert upstream.hits["ok"] == 0  # nothing reached an upstream
