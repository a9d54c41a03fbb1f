"""Turn a client's JSON body into a ChatRequest, or say precisely what is wrong with it.

`ChatCompletionIn` (pydantic) is the one definition of a valid chat-completions body: the
documented OpenAI parameters with their types and ranges, plus the router's own options and the
limits that keep one request from tying up a worker (ROUTER["MAX_MESSAGES"], …). It is also what
the /v1 OpenAPI schema publishes. Parameters it does not know pass through untouched to
OpenAI-compatible upstreams (which validate them again); the ones it knows must be right.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from routerapp.conf import router_settings
from routerapp.errors import InvalidRequestError
from routerapp.providers.base import ChatRequest, EmbeddingRequest

# Router-only options a client may send in the body (the OpenAI SDK's `extra_body`); not forwarded.
ROUTER_OPTIONS = ("timeout", "num_retries", "metadata", "optimize", "drop_params", "fallbacks")
# Deeper JSON than this is refused before validation: no real request nests so deep, and
# recursive code further on (adapters, token estimates, upstreams) should never meet it.
MAX_NESTING = 64

StrictStr = Annotated[str, Field(strict=True)]
StrictBool = Annotated[bool, Field(strict=True)]


def Number(low: float, high: float):  # noqa: N802 - reads as a type in the fields below
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise PydanticCustomError("number_range", f"must be a number between {low:g} and {high:g}")
        return value

    return Annotated[
        float, PlainValidator(check), WithJsonSchema({"type": "number", "minimum": low, "maximum": high})
    ]


def Integer(low: int, high: int):  # noqa: N802
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise PydanticCustomError("integer_range", f"must be an integer from {low} to {high}")
        return value

    return Annotated[
        int, PlainValidator(check), WithJsonSchema({"type": "integer", "minimum": low, "maximum": high})
    ]


def field_error(field: str, message: str) -> PydanticCustomError:
    """A model-level check's error, naming the field it is about (invalid_from adds it to the param)."""
    return PydanticCustomError("field_error", message, {"field": field})


class Open(BaseModel):
    """Known fields checked, unknown ones kept (providers add their own)."""

    model_config = ConfigDict(extra="allow")


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(Open):
    type: Literal["text"]
    text: StrictStr


class ImageURL(Open):
    url: StrictStr
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(Open):
    type: Literal["image_url"]
    image_url: ImageURL


class InputAudio(Open):
    data: StrictStr
    format: StrictStr


class AudioPart(Open):
    type: Literal["input_audio"]
    input_audio: InputAudio


class FilePart(Open):
    type: Literal["file"]
    file: dict[str, Any]


class RefusalPart(Open):
    type: Literal["refusal"]
    refusal: StrictStr


ContentPart = Annotated[
    TextPart | ImagePart | AudioPart | FilePart | RefusalPart, Field(discriminator="type")
]


class FunctionCall(Open):
    name: StrictStr
    arguments: StrictStr


class ToolCall(Open):
    id: StrictStr
    type: Literal["function"]
    function: FunctionCall


class Message(Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: StrictStr | list[ContentPart] | None = None
    name: StrictStr | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: StrictStr | None = None
    function_call: FunctionCall | None = None

    @model_validator(mode="after")
    def _content_required(self) -> Message:
        if self.content is None and not (
            self.role == "assistant" and (self.tool_calls or self.function_call)
        ):
            raise field_error("content", "is required")
        if self.role == "tool" and not self.tool_call_id:
            raise field_error("tool_call_id", "is required in a 'tool' message")
        limit = router_settings()["MAX_MESSAGE_CHARS"]
        if isinstance(self.content, str):
            length = len(self.content)
        else:
            length = sum(len(p.text) for p in self.content or () if isinstance(p, TextPart))
        if length > limit:
            raise field_error("content", f"is {length} characters long; the limit is {limit}")
        return self


class FunctionDef(Open):
    name: Annotated[str, Field(strict=True, pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    description: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class Tool(Open):
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(Closed):
    name: StrictStr


class NamedToolChoice(Closed):
    type: Literal["function"]
    function: NamedFunction


class JSONSchemaFormat(Open):
    name: Annotated[str, Field(strict=True, pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    description: StrictStr | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: StrictBool | None = None


class ResponseFormat(Closed):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise field_error("json_schema", "is required when 'type' is 'json_schema'")
        return self


class StreamOptions(Closed):
    include_usage: StrictBool | None = None


def max_messages() -> int:
    return router_settings()["MAX_MESSAGES"]


class RouterOptions(Open):
    """The router's own options, the same on every /v1 endpoint that routes (chat, embeddings)."""

    timeout: Number(1e-3, 3600) | None = None
    num_retries: Integer(0, 10) | None = None
    # Tags for the statistics: `tags: [...]` and any other `key: value` pair (as "key=value").
    metadata: dict[str, Any] | None = None
    # Model names to try after the model's own fallbacks (LiteLLM's name).
    fallbacks: (
        Annotated[list[Annotated[str, Field(strict=True, min_length=1)]], Field(max_length=10)] | None
    ) = None


class ChatCompletionIn(RouterOptions):
    """A chat-completions request body as OpenAI documents it, plus the router's options."""

    model: Annotated[str, Field(strict=True, min_length=1)]
    messages: Annotated[list[Message], Field(min_length=1)]
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    temperature: Number(0, 2) | None = None
    top_p: Number(0, 1) | None = None
    presence_penalty: Number(-2, 2) | None = None
    frequency_penalty: Number(-2, 2) | None = None
    max_tokens: Integer(1, 2**31 - 1) | None = None
    max_completion_tokens: Integer(1, 2**31 - 1) | None = None
    n: Integer(1, 128) | None = None
    stop: StrictStr | Annotated[list[StrictStr], Field(max_length=4)] | None = None
    logit_bias: dict[str, Integer(-100, 100)] | None = None
    seed: Integer(-(2**63), 2**63 - 1) | None = None
    user: StrictStr | None = None
    logprobs: StrictBool | None = None
    top_logprobs: Integer(0, 20) | None = None
    tools: Annotated[list[Tool], Field(max_length=128)] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: StrictBool | None = None
    response_format: ResponseFormat | None = None
    modalities: list[Literal["text", "audio"]] | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    service_tier: StrictStr | None = None
    store: StrictBool | None = None
    # Optimizer switches for this request (routerapp.optimizer.switches): "compress,-cache" or a list.
    optimize: StrictStr | list[StrictStr] | None = None
    # Leave out what the chosen deployment cannot honour rather than refuse (LiteLLM's name).
    drop_params: StrictBool | None = None

    @model_validator(mode="after")
    def _limits(self) -> ChatCompletionIn:
        if len(self.messages) > max_messages():
            raise field_error("messages", f"has {len(self.messages)} messages; the limit is {max_messages()}")
        cap = router_settings()["MAX_OUTPUT_TOKENS"]
        for name in ("max_tokens", "max_completion_tokens"):
            value = getattr(self, name)
            if value is not None and value > cap:
                raise field_error(name, f"is {value}; the router allows at most {cap}")
        return self


def _invalid(message: str, param: str | None = None) -> InvalidRequestError:
    return InvalidRequestError(message, param=param)


def parse_body(raw: bytes, content_type: str | None = None) -> dict[str, Any]:
    """The body as a JSON object; `content_type` is the request's header, if it sent one."""
    if content_type is not None and "json" not in content_type.split(";")[0].lower():
        raise InvalidRequestError(
            f"Unsupported Content-Type '{content_type}'; send the body as 'application/json'.",
            status=415,
            code="unsupported_media_type",
        )
    if not raw:
        raise _invalid("The request body is empty; expected a JSON object.")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _invalid(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _invalid("The request body must be a JSON object.")
    # A body can nest no deeper than it has opening brackets (those inside strings only add to the
    # count): most bodies have too few to be walked at all.
    if raw.count(b"{") + raw.count(b"[") > MAX_NESTING and nesting_depth(data) > MAX_NESTING:
        raise _invalid(f"The request body nests deeper than {MAX_NESTING} levels.")
    return data


def nesting_depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return deepest


def chat_request(data: dict[str, Any], *, request_id: str | None = None) -> ChatRequest:
    try:
        body = ChatCompletionIn.model_validate(data)
    except ValidationError as exc:
        raise invalid_from(exc) from None
    params = {
        k: v
        for k, v in data.items()
        if k not in ("model", "messages", "stream", "stream_options") and k not in ROUTER_OPTIONS
    }
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    extra: dict[str, Any] = {"request_id": request_id} if request_id else {}
    return ChatRequest(
        model=body.model,
        messages=data["messages"],  # as sent: adapters translate from OpenAI's shape
        params=params,
        stream=bool(body.stream),
        include_usage=include_usage,
        timeout_s=body.timeout,
        num_retries=body.num_retries,
        drop_params=bool(body.drop_params),
        tags=tags_of(body.metadata),
        fallbacks=tuple(body.fallbacks or ()),
        optimize_spec=",".join(body.optimize) if isinstance(body.optimize, list) else body.optimize,
        **extra,
    )


# Bounds on what one request adds to the tag statistics.
MAX_TAGS = 32
MAX_TAG_CHARS = 200


def tags_of(metadata: dict[str, Any] | None) -> tuple[str, ...]:
    """The request's tags: metadata's `tags` list, then each other scalar entry as "key=value"."""
    if not metadata:
        return ()
    tags: list[str] = []
    listed = metadata.get("tags")
    if isinstance(listed, list):
        tags.extend(str(t) for t in listed if isinstance(t, str | int | float) and not isinstance(t, bool))
    elif isinstance(listed, str):
        tags.append(listed)
    for name, value in metadata.items():
        if name != "tags" and isinstance(value, str | int | float | bool):
            tags.append(f"{name}={value}")
    unique = dict.fromkeys(t[:MAX_TAG_CHARS] for t in tags if t.strip())
    return tuple(unique)[:MAX_TAGS]


def invalid_from(exc: ValidationError) -> InvalidRequestError:
    """The most specific problem pydantic found, named the way OpenAI names params: messages[0].content."""
    problems = exc.errors(include_url=False)
    first = max(problems, key=lambda p: len(p["loc"]))  # max() keeps the first of equals
    param = ""
    after_tagged_union = False
    for part in first["loc"]:
        if isinstance(part, int):
            param += f"[{part}]"
        elif "[" in part or part[:1].isupper() or part in ("str", "int", "float", "bool"):
            # pydantic's label for a member of a union, not a field
            after_tagged_union = part.startswith("list[tagged-union")
        elif after_tagged_union:
            after_tagged_union = False  # the discriminator's value (the part's "type"), not a field
        else:
            param += f".{part}" if param else part
    field = (first.get("ctx") or {}).get("field")
    if field:
        param += f".{field}" if param else field
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "is required"
    if not param:
        return _invalid(f"{message}.")
    # Our own messages read on from the name ("'n' must be…"); pydantic's stand after a colon.
    joint = " " if message.startswith(("must ", "is ", "has ")) else ": "
    return _invalid(f"'{param}'{joint}{message}.", param)


# /v1/embeddings. OpenAI's limits: at most 2048 inputs per request, none empty.
MAX_EMBEDDING_INPUTS = 2048


def _embedding_input(value: Any) -> str | list[str] | list[int] | list[list[int]]:
    """A text, a list of texts, a token array or a list of token arrays: none empty, none too many."""

    def tokens(item: Any) -> bool:
        return isinstance(item, list) and bool(item) and all(_token(t) for t in item)

    if isinstance(value, str) and value:
        return value
    if isinstance(value, list) and 0 < len(value) <= MAX_EMBEDDING_INPUTS:
        if all(isinstance(item, str) and item for item in value):
            return value
        if tokens(value) or all(tokens(item) for item in value):
            return value
    raise PydanticCustomError(
        "embedding_input",
        f"must be a non-empty string, or a list of 1 to {MAX_EMBEDDING_INPUTS} non-empty strings or token arrays",
    )


def _token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31


EmbeddingInput = Annotated[
    Any,
    PlainValidator(_embedding_input),
    WithJsonSchema({"oneOf": [{"type": "string"}, {"type": "array"}]}),
]


class EmbeddingsIn(RouterOptions):
    """An embeddings request body as OpenAI documents it, plus the router's options."""

    model: Annotated[str, Field(strict=True, min_length=1)]
    input: EmbeddingInput
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Integer(1, 65536) | None = None
    user: StrictStr | None = None

    @model_validator(mode="after")
    def _limits(self) -> EmbeddingsIn:
        limit = router_settings()["MAX_MESSAGE_CHARS"]
        texts = [self.input] if isinstance(self.input, str) else self.input
        for text in texts:
            if isinstance(text, str) and len(text) > limit:
                raise field_error("input", f"has an input of {len(text)} characters; the limit is {limit}")
        return self


def embedding_request(data: dict[str, Any], *, request_id: str | None = None) -> EmbeddingRequest:
    try:
        body = EmbeddingsIn.model_validate(data)
    except ValidationError as exc:
        raise invalid_from(exc) from None
    raw = body.input
    # One shape for the adapters: a list with one text (or token array) per vector.
    inputs: list[Any] = [raw] if isinstance(raw, str) or (raw and isinstance(raw[0], int)) else list(raw)
    params = {name: data[name] for name in ("dimensions", "user") if data.get(name) is not None}
    extra: dict[str, Any] = {"request_id": request_id} if request_id else {}
    return EmbeddingRequest(
        model=body.model,
        input=inputs,
        params=params,
        encoding_format=body.encoding_format or "float",
        timeout_s=body.timeout,
        num_retries=body.num_retries,
        tags=tags_of(body.metadata),
        fallbacks=tuple(body.fallbacks or ()),
        **extra,
    )
