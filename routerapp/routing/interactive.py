"""One request for a person watching it: the answer streamed as it comes, then what happened.

`converse` streams a chat request through route() and yields the answer's text pieces, then a
`Summary` (who answered, the attempts in order, latency, time to first token, tokens, cost, the
detected task type, the optimizations applied and, for an ensemble, its members), read from the
request's RecordDraft: the same facts its history record stores. The shell (`ask`) and
the playground both use it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from routerapp import errors
from routerapp.ensembling import EnsembleStream
from routerapp.observability.drafts import RecordDraft
from routerapp.providers.base import ChatRequest
from routerapp.routing import note_task, route
from routerapp.routing.cached import CachedStream
from routerapp.routing.streaming import StreamSession
from routerapp.routing.table import KeyInfo, RoutingTable, tables


@dataclass(slots=True)
class AttemptLine:
    deployment: str
    retry: int
    status: str
    latency_ms: float
    error_type: str = ""
    error_message: str = ""


@dataclass(slots=True)
class Summary:
    request_id: str
    model: str
    status: str
    deployment: str
    latency_ms: float
    ttft_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    fallback_used: bool
    attempts: list[AttemptLine] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    error_type: str = ""
    error_message: str = ""
    task_type: str = ""
    task_confidence: float | None = None
    optimizations: dict = field(default_factory=dict)
    cache_hit: bool = False
    # Ensembles: the members and which one won, as the history record keeps them (QueryRecord.ensemble).
    ensemble: dict | None = None

    @property
    def path(self) -> str:
        """The deployments tried, in order, e.g. "a/gpt (ProviderUnavailableError) → b/gpt"."""
        return " → ".join(
            f"{a.deployment} ({a.error_type})" if a.error_type else a.deployment for a in self.attempts
        )


def _label(table: RoutingTable, deployment_id: int | None) -> str:
    if deployment_id is None:
        return ""
    info = table.deployments.get(deployment_id)
    return info.label if info else f"deployment {deployment_id}"


def summarize(draft: RecordDraft, table: RoutingTable) -> Summary:
    return Summary(
        request_id=draft.request_id,
        model=draft.model,
        status=draft.status,
        deployment=_label(table, draft.deployment_id) if draft.status != "error" else "",
        latency_ms=draft.latency_ms,
        ttft_ms=draft.ttft_ms,
        prompt_tokens=draft.prompt_tokens,
        completion_tokens=draft.completion_tokens,
        cost_usd=draft.cost_usd,
        fallback_used=draft.fallback_used,
        attempts=[
            AttemptLine(
                deployment=_label(table, a.deployment_id),
                retry=a.retry,
                status=a.status,
                latency_ms=a.latency_ms,
                error_type=a.error_type,
                error_message=a.error_message,
            )
            for a in draft.attempts
        ],
        skipped=[{**s, "deployment": _label(table, s.get("deployment"))} for s in draft.skipped],
        error_type=draft.error_type,
        error_message=draft.error_message,
        task_type=draft.task_type,
        task_confidence=draft.task_confidence,
        optimizations=draft.optimizations,
        cache_hit=draft.cache_hit,
        ensemble=draft.ensemble,
    )


async def converse(chat: ChatRequest, *, key: KeyInfo | None = None) -> AsyncIterator[str | Summary]:
    """Yield the answer's text as it streams, then one Summary (also when the request failed)."""
    chat.stream = True
    started = time.perf_counter()
    table = await tables.get()
    try:
        session = await route(chat, key=key, table=table, started=started)
    except errors.RouterError as exc:
        # route() recorded it; no deployment answered, so there is no draft to read here.
        yield failed(chat, exc, latency_ms=(time.perf_counter() - started) * 1000)
        return
    assert isinstance(session, StreamSession | EnsembleStream | CachedStream)
    try:
        async for chunk in session:
            for choice in chunk.get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                if text:
                    yield text
    except errors.RouterError:
        pass  # the draft says how it failed
    # The record's task type is noted once the stream's end has gone out (HistoryWriter.defer),
    # maybe not yet: noted here for the summary (the detection is kept, so this is not a second).
    note_task(session.draft, chat)
    yield summarize(session.draft, table)


def failed(chat: ChatRequest, error: errors.RouterError, *, latency_ms: float = 0.0) -> Summary:
    return Summary(
        request_id=chat.request_id,
        model=chat.model,
        status="error",
        deployment="",
        latency_ms=latency_ms,
        ttft_ms=None,
        prompt_tokens=0,
        completion_tokens=0,
        cost_usd=0.0,
        fallback_used=False,
        error_type=error.error_type,
        error_message=error.message,
    )
