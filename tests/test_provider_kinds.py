"""Each provider kind works end to end: OpenAI SDK → router → Anthropic / Ollama / simulated upstream."""

from __future__ import annotations

from tests.factories import create_key, create_model, create_provider


def test_anthropic_upstream_through_the_router(anthropic_server, live_url, client_for):
    app, url = anthropic_server
    app.reset()
    provider = create_provider(name="claude", kind="anthropic", base_url=url)
    provider.set_api_key("sk-ant-test")
    provider.save()
    create_model("claude", [(provider, "claude-test")])
    client = client_for(create_key())
    reply = client.chat.completions.create(
        model="claude",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
    )
    assert reply.choices[0].message.content == app.reply
    assert reply.usage.prompt_tokens == 21 and reply.usage.completion_tokens == 9
    assert app.last_request["system"] == "Be brief."
    assert app.last_headers["x-api-key"] == "sk-ant-test"
    chunks = list(
        client.chat.completions.create(
            model="claude",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == app.reply
    assert chunks[-1].usage.completion_tokens == 9


def test_ollama_upstream_through_the_router(ollama_server, live_url, client_for):
    app, url = ollama_server
    app.reset()
    provider = create_provider(name="local", kind="ollama", base_url=url)
    create_model("llama", [(provider, "llama3")])
    client = client_for(create_key())
    reply = client.chat.completions.create(model="llama", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content
    chunks = list(
        client.chat.completions.create(
            model="llama", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == reply.choices[0].message.content
    )


def test_simulated_provider_answers_like_a_model(live_url, client_for):
    provider = create_provider(name="sim", kind="simulated", options={"latency_ms": 5, "seed": 7})
    create_model("sim", [(provider, "sim-small")])
    client = client_for(create_key())
    prompt = "Write a python function that reverses a list"
    reply = client.chat.completions.create(model="sim", messages=[{"role": "user", "content": prompt}])
    text = reply.choices[0].message.content
    assert "def " in text and prompt not in text
    streamed = list(
        client.chat.completions.create(
            model="sim", messages=[{"role": "user", "content": prompt}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == text
