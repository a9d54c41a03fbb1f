"""Answers from the optimizer's response cache: served without an upstream, recorded, free.

A non-streamed hit is a Completion like any other; a streamed one replays the cached text as
OpenAI chunks (role, words, finish, usage when asked), so clients cannot tell it from a live stream.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from routerapp.observability.drafts import RecordDraft, body_for_storage
from routerapp.optimizer.cache import CachedAnswer
from routerapp.providers.base import ChatRequest, ChatResult, Usage, chat_completion, chunk_dict, usage_chunk

LABEL = "cache"
_PIECES = re.compile(r"\S+\s*|\s+")


def _settle(draft: RecordDraft, answer: CachedAnswer, started: float) -> None:
    draft.cache_hit = True
    draft.deployment_id = None
    draft.prompt_tokens = answer.prompt_tokens
    draft.completion_tokens = answer.completion_tokens
    draft.cost_usd = 0.0
    draft.response_body = body_for_storage(answer.content)
    draft.latency_ms = draft.overhead_ms = (time.perf_counter() - started) * 1000


def completion_body(request: ChatRequest, answer: CachedAnswer) -> tuple[dict[str, Any], ChatResult]:
    usage = Usage(answer.prompt_tokens, answer.completion_tokens)
    body = chat_completion(
        id="chatcmpl-" + request.request_id[:24],
        model=request.model,
        content=answer.content,
        finish_reason=answer.finish_reason,
        usage=usage,
    )
    body["system_fingerprint"] = LABEL
    return body, ChatResult(body=body, usage=usage)


def settle_completion(draft: RecordDraft, answer: CachedAnswer, started: float) -> float:
    _settle(draft, answer, started)
    return draft.overhead_ms or 0.0


class CachedStream:
    """What route() returns for a streamed cache hit: iterate it for client-ready chunks."""

    deployment_label = LABEL

    def __init__(
        self,
        request: ChatRequest,
        answer: CachedAnswer,
        draft: RecordDraft,
        started: float,
        on_finish: Callable[[RecordDraft], None],
    ) -> None:
        self.request = request
        self.answer = answer
        self.draft = draft
        self.started = started
        self.on_finish = on_finish
        self.overhead_ms = (time.perf_counter() - started) * 1000
        self.text: list[str] = []
        self._reported = False

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        chunk_id, created = "chatcmpl-" + self.request.request_id[:24], int(time.time())
        model = self.request.model
        try:
            yield chunk_dict(
                id=chunk_id, model=model, created=created, delta={"role": "assistant", "content": ""}
            )
            for piece in _PIECES.findall(self.answer.content):
                self.text.append(piece)
                if self.draft.ttft_ms is None:
                    self.draft.ttft_ms = (time.perf_counter() - self.started) * 1000
                yield chunk_dict(id=chunk_id, model=model, created=created, delta={"content": piece})
            yield chunk_dict(
                id=chunk_id, model=model, created=created, finish_reason=self.answer.finish_reason
            )
            if self.request.include_usage:
                usage = Usage(self.answer.prompt_tokens, self.answer.completion_tokens)
                yield usage_chunk(id=chunk_id, model=model, created=created, usage=usage).data
        finally:
            self._finish()

    def _finish(self) -> None:
        if self._reported:
            return
        self._reported = True
        overhead = self.overhead_ms
        _settle(self.draft, self.answer, self.started)
        self.draft.overhead_ms = overhead
        self.on_finish(self.draft)

    def __del__(self) -> None:
        # A client that left before the first byte: the hit is still recorded.
        self._finish()
