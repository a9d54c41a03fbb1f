"""embed(): /v1/embeddings through the same routing as chat (routerapp.routing.route()).

The model name resolves to a model group like any other; the key's permissions, budget and rate
limit apply through the same admit(); the Attempter walks the group's deployments with the same
strategies, retries, fallbacks, breaker and limits; the answer is priced (input tokens only) and
leaves a history record with `endpoint` /v1/embeddings. What differs is the upstream call.
"""

from __future__ import annotations

import asyncio
import base64
import struct
import time
from dataclasses import dataclass
from typing import Any

from routerapp import errors
from routerapp.observability.drafts import body_for_storage
from routerapp.observability.writer import writer
from routerapp.pricing import cost_parts
from routerapp.providers.base import EmbeddingRequest, EmbeddingResult, encode_json, estimate_prompt_tokens
from routerapp.routing import admit, charge, new_draft, record_failure
from routerapp.routing.fallback import Attempter, Call
from routerapp.routing.table import KeyInfo, tables


@dataclass(slots=True)
class Embedded:
    result: EmbeddingResult
    deployment_label: str
    overhead_ms: float


async def embed(request: EmbeddingRequest, *, key: KeyInfo | None, started: float) -> Embedded:
    """One vector per input through the best available deployment of `request.model`, or raise."""
    draft = new_draft(request, key)
    attempter: Attempter | None = None
    try:
        table = await tables.get()
        group = table.groups.get(request.model)
        if group is None:
            if request.model in table.ensembles:
                raise errors.InvalidRequestError(
                    f"'{request.model}' is an ensemble; ensembles answer chat completions only.",
                    param="model",
                )
            raise errors.ModelNotFoundError.named(request.model)
        admit(key, request, table)
        draft.request_body = body_for_storage(encode_json(request.input).decode())
        attempter = Attempter(
            table,
            group,
            request,
            draft,
            started=started,
            prompt_tokens=estimate_prompt_tokens(request.messages),
        )
        result, call = await attempter.run(lambda call: _embed(call, request))
    except errors.RouterError as exc:
        upstream_s = attempter.upstream_s if attempter is not None else 0.0
        exc.overhead_ms = draft.overhead_ms = (time.perf_counter() - started - upstream_s) * 1000
        record_failure(draft, exc, started)
        raise
    except asyncio.CancelledError:
        draft.status, draft.http_status, draft.error_type = "cancelled", 499, "ClientDisconnected"
        draft.latency_ms = (time.perf_counter() - started) * 1000
        writer.submit(draft)
        raise
    deployment = call.deployment
    attempter.settle(deployment, result.usage.total_tokens)
    now = time.perf_counter()
    overhead_ms = (now - started - attempter.upstream_s) * 1000
    draft.deployment_id = deployment.id
    draft.latency_ms = (now - started) * 1000
    draft.overhead_ms = overhead_ms
    draft.spent(result.usage, cost_parts(deployment, result.usage))
    if key is not None:
        charge(key, draft)
    writer.submit(draft)
    return Embedded(result=result, deployment_label=deployment.label, overhead_ms=overhead_ms)


async def _embed(call: Call, request: EmbeddingRequest) -> EmbeddingResult:
    return await call.within_timeout(
        call.adapter.embed(request, call.deployment.upstream_model, call.timeouts)
    )


def encoded(vector: list[float], encoding_format: str) -> list[float] | str:
    """A vector as the client asked: floats, or base64 of little-endian float32 (OpenAI's format,
    which the openai SDK asks for by default and decodes)."""
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


def response_body(embedded: Embedded, request: EmbeddingRequest) -> dict[str, Any]:
    """OpenAI's embeddings list, under the client-facing model name."""
    usage = embedded.result.usage
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": index, "embedding": encoded(vector, request.encoding_format)}
            for index, vector in enumerate(embedded.result.vectors)
        ],
        "model": request.model,
        "usage": {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.prompt_tokens},
    }
