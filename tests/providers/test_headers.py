"""Client headers a provider allow-lists (`forward_headers`) reach it, credentials never do; the
upstream's x-ratelimit-* headers come back to the client."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import create_key, create_model, create_provider
from tests.fakes import run_asgi_in_thread
from tests.fakes.anthropic_server import FakeAnthropic
from tests.helpers import HI, post


@pytest.fixture(scope="module")
def anthropic_server():
    app = FakeAnthropic()
    with run_asgi_in_thread(app) as url:
        yield app, url


def test_only_allow_listed_client_headers_reach_the_provider(live_url, anthropic_server):
    fake, url = anthropic_server
    fake.reset()
    provider = create_provider(
        name="claude",
        kind="anthropic",
        base_url=url,
        options={"forward_headers": ["anthropic-beta", "Authorization", "x-api-key"]},
    )
    provider.set_api_key("sk-ant-provider")
    provider.save()
    create_model("claude", [(provider, "c")])
    key = create_key()
    response = httpx.post(
        f"{live_url}/v1/chat/completions",
        headers={
            "authorization": f"Bearer {key}",
            "anthropic-beta": "prompt-caching-2024-07-31",
            "x-other": "not forwarded",
        },
        json={"model": "claude", "messages": HI},
    )
    assert response.status_code == 200
    sent = fake.last_headers
    assert sent["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert "x-other" not in sent
    assert sent["x-api-key"] == "sk-ant-provider"  # never the client's key, even allow-listed
    assert "authorization" not in sent


def test_headers_are_not_forwarded_without_an_allow_list(live_url, anthropic_server):
    fake, url = anthropic_server
    fake.reset()
    create_model("claude", [(create_provider(name="claude", kind="anthropic", base_url=url), "c")])
    response = httpx.post(
        f"{live_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {create_key()}", "anthropic-beta": "x"},
        json={"model": "claude", "messages": HI},
    )
    assert response.status_code == 200 and "anthropic-beta" not in fake.last_headers


def test_a_forward_headers_option_is_known_to_the_config_schema():
    from routerapp.schema import ProviderSpec

    spec = ProviderSpec(name="p", kind="ollama", options={"forward_headers": ["x-tenant"]})
    assert spec.options["forward_headers"] == ["x-tenant"]


def test_upstream_rate_limit_headers_come_back_to_the_client(live_url, upstream):
    create_model("m", [(create_provider(name="oa", base_url=upstream.base_url), "ok;ratelimit")])
    response = post(live_url, create_key(), {"model": "m", "messages": HI})
    assert response.status_code == 200
    assert response.headers["x-ratelimit-remaining-requests"] == "499"
    assert response.headers["x-ratelimit-limit-requests"] == "500"
