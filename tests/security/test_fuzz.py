"""Schemathesis against the project's own OpenAPI schemas: /v1 (OpenAI-compatible) and /api.

Generated requests (valid and invalid by the schema) go to the real server with a real key: no
answer is a 5xx, and every answer matches what the schema documents (status, content type, body).
Bounded (examples per operation, no deadline) so the suite stays fast.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from routerapp.api import api, openai_api
from tests.factories import create_key, create_model, create_provider

v1 = schemathesis.openapi.from_dict(openai_api.get_openapi_schema(path_prefix="/v1/"))
management = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/"))

BOUNDED = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


def not_a_server_error(ctx, response, case) -> bool | None:
    assert response.status_code < 500, (
        f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"
    )
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The endpoints whose every answer the schema documents (routerapp/api/openapi.py); for the
# others, generated requests must still never get a 5xx.
DOCUMENTED = {"/v1/chat/completions", "/v1/embeddings", "/v1/models", "/v1/models/{name}"}


@pytest.fixture
def key(live_url):
    provider = create_provider(name="sim", kind="simulated", options={"latency_ms": 1, "seed": 1})
    create_model("gpt-test", [(provider, "sim-small")])
    return create_key()


@v1.parametrize()
@BOUNDED
def test_the_openai_api_survives_generated_requests(case, key, live_url):
    checks = CHECKS if case.path in DOCUMENTED else [not_a_server_error]
    case.call_and_validate(base_url=live_url, headers={"authorization": f"Bearer {key}"}, checks=checks)


@management.parametrize()
@BOUNDED
def test_the_management_api_survives_generated_requests(case, key, live_url):
    case.call_and_validate(
        base_url=live_url, headers={"authorization": f"Bearer {key}"}, checks=[not_a_server_error]
    )
