"""What every provider adapter speaks: requests in, results and chunks out, in OpenAI's shape.

Adapters translate one upstream wire protocol to and from these types over HTTP (providers/http.py). They make no
routing decisions: a failure is raised as a `RouterError` subclass and the router decides what to do.
"""

from __future__ import annotations

import contextlib
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from routerapp import errors
from routerapp.providers.http import (
    UPSTREAM_ERRORS,
    UpstreamClient,
    UpstreamResponse,
    client_timeout,
    upstream_client,
)

if TYPE_CHECKING:
    from routerapp.optimizer.detect import Detection


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # True when we counted tokens ourselves because the upstream did not say.
    estimated: bool = False
    # Parts of the two counts, priced apart (routerapp.pricing); 0 when the upstream did not say.
    cached_tokens: int = 0  # prompt tokens read from the provider's prompt cache
    cache_write_tokens: int = 0  # prompt tokens written to it (Anthropic's cache creation)
    reasoning_tokens: int = 0  # completion tokens spent thinking

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            estimated=self.estimated or other.estimated,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )

    def to_dict(self) -> dict[str, Any]:
        """OpenAI's usage object; the details only when there are any (as OpenAI-compatible
        servers without caching or reasoning answer), Anthropic's cache counts under its names."""
        out: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.cached_tokens or self.cache_write_tokens:
            out["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        if self.cache_write_tokens:
            out["cache_creation_input_tokens"] = self.cache_write_tokens
            out["cache_read_input_tokens"] = self.cached_tokens
        if self.reasoning_tokens:
            out["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return out

    def with_parts(self, *, cached: Any = 0, cache_write: Any = 0, reasoning: Any = 0) -> Usage:
        """This usage with the parts an upstream reported, checked and kept within the totals."""
        self.cached_tokens = min(counted(cached) or 0, self.prompt_tokens)
        self.cache_write_tokens = min(counted(cache_write) or 0, self.prompt_tokens - self.cached_tokens)
        self.reasoning_tokens = min(counted(reasoning) or 0, self.completion_tokens)
        return self


# The most tokens one answer may be said to have used. Counts come from the upstream and end up in
# the history (PositiveIntegerField), the rollups, the spend: a negative, NaN, huge or non-numeric
# count is refused here, at the adapter, instead of failing a whole history batch later.
MAX_TOKENS = 100_000_000


def counted(value: Any) -> int | None:
    """A token count an upstream reported, or None when it is missing or not a sane count."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    if not isinstance(value, int) or value < 0 or value >= 2**63:
        return None
    return min(value, MAX_TOKENS)


def checked_usage(raw: dict[str, Any], usage: Usage) -> dict[str, Any]:
    """The upstream's usage object for the client, with the counts replaced by the checked ones
    (the upstream's other details, audio tokens say, kept)."""
    out = {**raw, **usage.to_dict()}
    for name in ("prompt_tokens_details", "completion_tokens_details"):
        if isinstance(raw.get(name), dict):
            out[name] = {**raw[name], **out.get(name, {})}
    return out


def openai_usage(raw: dict[str, Any], usage: Usage) -> Usage:
    """`usage` with the parts of an OpenAI-shaped usage object (cached and reasoning tokens)."""
    prompt_details = raw.get("prompt_tokens_details")
    completion_details = raw.get("completion_tokens_details")
    return usage.with_parts(
        cached=prompt_details.get("cached_tokens") if isinstance(prompt_details, dict) else 0,
        reasoning=completion_details.get("reasoning_tokens") if isinstance(completion_details, dict) else 0,
    )


def usage_of(prompt: Any, completion: Any, estimate: Callable[[], tuple[int, int]]) -> Usage:
    """Usage from the upstream's two counts, estimating (`estimate()`: prompt, completion) any that
    is missing or invalid."""
    p, c = counted(prompt), counted(completion)
    if p is not None and c is not None:
        return Usage(p, c)
    estimated_prompt, estimated_completion = estimate()
    return Usage(
        estimated_prompt if p is None else p, estimated_completion if c is None else c, estimated=True
    )


@dataclass(slots=True, frozen=True)
class NativeBody:
    """A request as the client sent it in a provider's own wire format (Anthropic's, from
    /v1/messages), with the translated messages and params it stands for. The adapter of that
    kind sends `body` itself, so nothing the translation cannot express is lost; once the router
    has rewritten the request (optimizer, a stream's continuation) it no longer says the same and
    the translation is sent instead."""

    kind: str
    body: dict[str, Any]
    messages: list[dict[str, Any]]
    params: dict[str, Any]


# A streamed chunk of a request sent in its native format carries, under this key, the upstream's
# own events it was made from ([name, data] pairs), for the endpoint of that format to pass on.
NATIVE_EVENTS = "x_router_native_events"


class TaskSlot:
    """A request's task type (routerapp.optimizer.detect), detected from the client's messages the
    first time something asks for it, then kept; copies of the request made for one deployment
    (trimmed to its context, say) share the slot, so it is detected once and from what the client
    sent. Detection costs ~0.1 ms: a request nothing on its route needs it for (no learned routing,
    optimizer strategy or simulated deployment) is detected for its history record after the
    answer has gone out.

    `detect` is the detector, given by routing.route() (adapters sit below the optimizer and do not
    import it); a request that never went through route(), an adapter's test, has no task type."""

    __slots__ = ("detect", "messages", "value")

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages
        self.value: Detection | None = None
        self.detect: Callable[[list[dict[str, Any]]], Detection] | None = None

    def get(self) -> Detection | None:
        if self.value is None and self.detect is not None:
            self.value = self.detect(self.messages)
        return self.value


@dataclass(slots=True)
class ChatRequest:
    """One chat request as the router sees it, already validated.

    `params` holds every other OpenAI parameter (temperature, max_tokens, tools, ...) so that an
    OpenAI-compatible upstream receives them untouched.
    """

    model: str
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    include_usage: bool = False
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Per-request overrides of the model's settings (OpenAI SDK `extra_body`).
    timeout_s: float | None = None
    num_retries: int | None = None
    # Its task type, detected on first use (`task`, below); None until __post_init__ makes it.
    task_slot: TaskSlot = None  # type: ignore[assignment]
    # Optimizer switches the client sent (x-router-optimize header or `optimize` body field), and
    # the strategies in force once route() resolved them (routerapp.optimizer.switches).
    optimize_spec: str | None = None
    optimize: frozenset[str] = frozenset()
    # The client-facing path the request came through, for the history (QueryRecord.endpoint).
    endpoint: str = "/v1/chat/completions"
    native: NativeBody | None = None
    # Params the router added itself (an ensemble's seed for a repeated member): left out, not
    # refused, where a deployment cannot take them, since the client never asked for them.
    droppable: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.task_slot is None:
            self.task_slot = TaskSlot(self.messages)

    @property
    def task(self) -> Detection | None:
        """The task type of the client's messages: strategies, the optimizer and the simulator read it."""
        return self.task_slot.get()

    @task.setter
    def task(self, value: Detection) -> None:
        self.task_slot.value = value

    def native_body(self, kind: str) -> dict[str, Any] | None:
        """The client's own body, for an adapter of `kind`, while the request is still unchanged."""
        native = self.native
        if native is None or native.kind != kind:
            return None
        if self.messages is not native.messages or self.params is not native.params:
            return None
        return native.body

    # Leave out the fields a deployment refuses instead of failing (routerapp.providers.fields).
    drop_params: bool = False
    # For the statistics (from `metadata`, see validation.tags_of), and the client's extra fallbacks.
    tags: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()
    # The client's request headers (credentials left out), for providers' forward_headers.
    client_headers: dict[str, str] = field(default_factory=dict)

    def with_messages(self, messages: list[dict[str, Any]]) -> ChatRequest:
        return ChatRequest(
            model=self.model,
            messages=messages,
            params=self.params,
            stream=self.stream,
            include_usage=self.include_usage,
            request_id=self.request_id,
            timeout_s=self.timeout_s,
            num_retries=self.num_retries,
            task_slot=self.task_slot,
            optimize_spec=self.optimize_spec,
            optimize=self.optimize,
            endpoint=self.endpoint,
            drop_params=self.drop_params,
            tags=self.tags,
            fallbacks=self.fallbacks,
            client_headers=self.client_headers,
        )


@dataclass(slots=True)
class EmbeddingRequest:
    """One /v1/embeddings request, validated: `input` holds one text (or token array) per vector.

    Routed like a chat request (the Attempter reads the same attributes: params, retries, the
    deadline), so it carries the few a chat request has that routing looks at.
    """

    model: str
    input: list[str] | list[list[int]]
    # Forwarded to OpenAI-compatible upstreams: dimensions, user. encoding_format is the router's:
    # vectors are fetched as floats and encoded for the client (routerapp.routing.embeddings).
    params: dict[str, Any] = field(default_factory=dict)
    encoding_format: str = "float"
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    timeout_s: float | None = None
    num_retries: int | None = None
    endpoint: str = "/v1/embeddings"
    # As on a chat request: metadata tags for the statistics, the client's own extra fallbacks.
    tags: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()
    stream: bool = False
    task: Detection | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The inputs as user messages: what prompt-token estimates and task detection read."""
        return [{"role": "user", "content": item if isinstance(item, str) else ""} for item in self.input]

    def texts(self, provider: str) -> list[str]:
        """The inputs as text, for upstreams that take no token arrays."""
        if any(not isinstance(item, str) for item in self.input):
            raise errors.InvalidRequestError(
                f"'input': {provider} embeds text only, not token arrays.", param="input"
            )
        return list(self.input)  # type: ignore[arg-type]  # all str, checked above


@dataclass(slots=True)
class EmbeddingResult:
    vectors: list[list[float]]
    usage: Usage


# What the router routes: strategies and the Attempter read only what both have.
RoutedRequest = ChatRequest | EmbeddingRequest


@dataclass(slots=True)
class ChatResult:
    """A finished (non-streamed) answer; `body` is an OpenAI chat.completion object."""

    body: dict[str, Any]
    usage: Usage
    # The upstream's own answer when it speaks a client-facing format (an Anthropic message),
    # returned as is by the endpoint of that format (/v1/messages).
    native: dict[str, Any] | None = None

    @property
    def content(self) -> str:
        choices = self.body.get("choices") or [{}]
        return (choices[0].get("message") or {}).get("content") or ""

    @property
    def finish_reason(self) -> str | None:
        choices = self.body.get("choices") or [{}]
        return choices[0].get("finish_reason")


@dataclass(slots=True)
class ChatChunk:
    """One streamed event as an OpenAI chat.completion.chunk object.

    `usage` is set on the chunk that reports token usage (its `choices` is then empty, as OpenAI's is).
    """

    data: dict[str, Any]
    usage: Usage | None = None

    @property
    def text(self) -> str:
        for choice in self.data.get("choices") or ():
            content = (choice.get("delta") or {}).get("content")
            if content:
                return content
        return ""

    @property
    def finish_reason(self) -> str | None:
        for choice in self.data.get("choices") or ():
            if choice.get("finish_reason"):
                return choice["finish_reason"]
        return None


@dataclass(slots=True, frozen=True)
class ProviderConfig:
    """A provider as adapters need it: secrets already resolved, no ORM instance."""

    id: int
    name: str
    kind: str
    base_url: str = ""
    api_key: str = ""
    timeout_s: float = 60.0
    headers: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def secrets(self) -> tuple[str, ...]:
        """What an upstream message must never repeat: the key and every configured header value."""
        return (self.api_key, *self.headers.values())


@dataclass(slots=True, frozen=True)
class Timeouts:
    connect: float = 5.0
    total: float = 60.0
    # Streams only: how long to wait for the first token, and between two chunks.
    first_token: float = 30.0
    between_chunks: float = 30.0


class Adapter:
    """Base class of provider adapters. Subclasses implement `complete` and `stream`."""

    kind: ClassVar[str] = ""
    # The provider `options` this adapter reads; the config schema refuses any other (a typo).
    OPTIONS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, provider: ProviderConfig, client: UpstreamClient | None = None) -> None:
        self.provider = provider
        # The running loop's pooled upstream client unless one is given: every adapter speaks
        # through the one client seam, so its timeouts and error mapping are the same for all.
        self.client = client
        # The client's headers this provider's `forward_headers` lets through, for the current
        # call (set by the router); and the upstream's x-ratelimit-* headers of its last answer.
        self.forwarded: dict[str, str] = {}
        self.rate_limit_headers: dict[str, str] = {}

    async def complete(self, request: ChatRequest, upstream_model: str, timeouts: Timeouts) -> ChatResult:
        raise NotImplementedError

    def stream(
        self, request: ChatRequest, upstream_model: str, timeouts: Timeouts
    ) -> AsyncIterator[ChatChunk]:
        """Yield chunks; raise a RouterError if the stream breaks (including a missing end marker)."""
        raise NotImplementedError

    async def embed(
        self, request: EmbeddingRequest, upstream_model: str, timeouts: Timeouts
    ) -> EmbeddingResult:
        """One vector per input, in order. Kinds without an embeddings API refuse: the client
        named a model whose deployments cannot embed, which is no fault of theirs."""
        raise errors.InvalidRequestError(
            f"{self.provider.name}: {self.kind} deployments do not serve embeddings.", param="model"
        )

    async def probe(self, upstream_model: str, timeouts: Timeouts) -> None:
        """Raise a RouterError unless the deployment answers a minimal request."""
        request = ChatRequest(
            model=upstream_model, messages=[{"role": "user", "content": "ping"}], params={"max_tokens": 1}
        )
        await self.complete(request, upstream_model, timeouts)

    # Helpers shared by the HTTP adapters.

    def bearer_headers(self) -> dict[str, str]:
        """JSON in, the provider's key as a bearer token (when it has one), then its extra headers."""
        headers = {"content-type": "application/json"}
        if self.provider.api_key:
            headers["authorization"] = f"Bearer {self.provider.api_key}"
        headers.update(self.provider.headers)
        return headers

    def url(self, path: str) -> str:
        return self.provider.base_url.rstrip("/") + path

    def upstream(self) -> UpstreamClient:
        if self.client is None or self.client.closed:
            self.client = upstream_client()
        return self.client

    async def post_json(
        self, url: str, payload: bytes, headers: dict[str, str], timeouts: Timeouts
    ) -> dict[str, Any]:
        """POST a JSON body and return the JSON object answered, or raise the matching RouterError.

        Transport failures, HTTP error statuses (through `raise_for_status`, which adapters may
        override for their provider's error bodies) and bodies that are not a JSON object are
        all mapped here, once for every adapter.
        """
        try:
            async with self.upstream().post(
                url, payload, {**self.forwarded, **headers}, client_timeout(timeouts)
            ) as response:
                body = await response.aread()
        except UPSTREAM_ERRORS as exc:
            raise transport_error(exc, self.provider.name) from exc
        self.raise_for_status(response, body)
        self.rate_limit_headers = rate_limit_headers(response.headers)
        return self.json_object(body, "response")

    @contextlib.asynccontextmanager
    async def open_stream(
        self, url: str, payload: bytes, headers: dict[str, str], timeouts: Timeouts
    ) -> AsyncIterator[UpstreamResponse]:
        """POST a JSON body for a streamed answer and hold the response open while its events are read.

        An HTTP error status is raised through `raise_for_status` before the first event, and a
        transport failure (at connect or mid-stream, inside the `async with` body) as the matching
        RouterError, once for every streaming adapter.
        """
        try:
            async with self.upstream().post(
                url, payload, {**self.forwarded, **headers}, client_timeout(timeouts, stream=True)
            ) as response:
                if response.status_code >= 400:
                    self.raise_for_status(response, await response.aread())
                self.rate_limit_headers = rate_limit_headers(response.headers)
                yield response
        except UPSTREAM_ERRORS as exc:
            raise transport_error(exc, self.provider.name) from exc

    def json_object(self, data: str | bytes, what: str) -> dict[str, Any]:
        """Parse one upstream JSON object (`what`: "response", "stream event", ...) or raise the
        malformed-response error: an answer we cannot read is the deployment failing."""
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise malformed(self.provider.name, f"invalid JSON in {what}") from exc
        if not isinstance(obj, dict):
            raise malformed(self.provider.name, f"{what} is not an object")
        return obj

    def raise_for_status(self, response: UpstreamResponse, body: bytes) -> None:
        if response.status_code < 400:
            return
        message = error_message(body) or response.reason_phrase or f"HTTP {response.status_code}"
        retry_after = errors.parse_retry_after(response.headers.get("retry-after"))
        raise errors.classify_http_error(
            response.status_code, message, retry_after=retry_after, source=self.provider.name
        )


# Provider options every kind takes (beside its adapter's OPTIONS).
COMMON_OPTIONS = frozenset({"forward_headers"})
# Never forwarded, whatever a provider's forward_headers says: the client's credentials and
# what the HTTP client sets itself.
NEVER_FORWARD = frozenset(
    {"authorization", "x-api-key", "cookie", "proxy-authorization", "host", "content-length",
     "content-type", "transfer-encoding", "connection"}
)  # fmt: skip


def forwardable(headers: Any) -> dict[str, str]:
    """The client's request headers that a provider's allow-list may name (lower-cased names)."""
    return {str(k).lower(): str(v) for k, v in headers.items() if str(k).lower() not in NEVER_FORWARD}


def forwarded_headers(client_headers: dict[str, str], provider: ProviderConfig) -> dict[str, str]:
    """The client's headers `provider` lets through (its `forward_headers` option)."""
    allowed = provider.options.get("forward_headers") or ()
    wanted = {str(name).lower() for name in allowed} - NEVER_FORWARD
    return {name: value for name, value in client_headers.items() if name in wanted}


def rate_limit_headers(headers: Any) -> dict[str, str]:
    """The upstream's x-ratelimit-* headers, for the client to pace itself by."""
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-ratelimit-")}


def encode_json(payload: Any) -> bytes:
    """The upstream request body. A payload JSON cannot carry (nested deeper than 254 levels, an
    integer past 64 bits) is the client's request being wrong, never the deployment failing."""
    try:
        return orjson.dumps(payload)
    except orjson.JSONEncodeError as exc:
        raise errors.InvalidRequestError(f"the request cannot be forwarded as JSON: {exc}") from None


def error_message(body: bytes) -> str:
    """Pull the human-readable message out of an OpenAI, Anthropic or Ollama error body."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:300].decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("type") or err)[:1000]
        if isinstance(err, str):
            return err[:1000]
    return str(data)[:300]


def checked_vectors(items: Any, count: int, provider: str) -> list[list[float]]:
    """An upstream's embeddings, one list of finite numbers per input, or a malformed-response error."""
    if not isinstance(items, list) or len(items) != count:
        raise malformed(provider, f"expected {count} embeddings")
    for vector in items:
        if not isinstance(vector, list) or not vector:
            raise malformed(provider, "an embedding is not a list of numbers")
        for x in vector:
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
                raise malformed(provider, "an embedding is not a list of numbers")
    return items


def transport_error(exc: Exception, provider: str) -> errors.RouterError:
    """Map an upstream client exception (UPSTREAM_ERRORS) onto the hierarchy (timeouts vs. unavailable)."""
    if isinstance(exc, TimeoutError):
        return errors.UpstreamTimeoutError(f"{provider}: upstream timed out ({type(exc).__name__})")
    return errors.ProviderUnavailableError(f"{provider}: {type(exc).__name__}: {exc or 'connection failed'}")


def malformed(provider: str, what: str) -> errors.ProviderUnavailableError:
    return errors.ProviderUnavailableError(f"{provider}: malformed upstream response ({what})")


def completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def chat_completion(
    *,
    id: str,
    model: str,
    content: str,
    finish_reason: str | None,
    usage: Usage,
    extra_message: dict | None = None,
) -> dict[str, Any]:
    """Build an OpenAI chat.completion object (for adapters whose upstream speaks something else)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if extra_message:
        message.update(extra_message)
    return {
        "id": id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage.to_dict(),
    }


def chunk_dict(
    *,
    id: str,
    model: str,
    created: int,
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """Build an OpenAI chat.completion.chunk object with one choice."""
    return {
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}],
    }


def usage_chunk(*, id: str, model: str, created: int, usage: Usage) -> ChatChunk:
    data = {
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": usage.to_dict(),
    }
    return ChatChunk(data=data, usage=usage)


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (~4 characters per token), used when an upstream reports no usage."""
    return max(1, (len(text) + 3) // 4) if text else 0


def estimate_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    total = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            total += estimate_tokens(content)
        elif isinstance(content, list):
            total += sum(estimate_tokens(part.get("text", "")) for part in content if isinstance(part, dict))
        total += 4  # role and framing, as OpenAI counts them
    return total + 2


def message_text(message: dict[str, Any]) -> str:
    """The text of a message whose content is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


async def iter_sse(response: UpstreamResponse) -> AsyncIterator[tuple[str, str]]:
    """Yield (event, data) pairs from a server-sent-events response, per the SSE spec's framing."""
    event = ""
    data_lines: list[str] = []
    async for lines in response.line_batches():
        for line in lines:
            if line == "":
                if data_lines:
                    yield event, "\n".join(data_lines)
                event, data_lines = "", []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data_lines.append(value)
    if data_lines:
        yield event, "\n".join(data_lines)
