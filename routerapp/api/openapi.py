"""What /v1/openapi.json says about the hand-parsed endpoints: their bodies and their answers.

The chat and embeddings endpoints parse their bodies themselves (orjson, errors in OpenAI's shape, a record for every
rejection), so ninja cannot derive the schema from a parameter; it comes from the same pydantic
model that validates the body (routerapp/validation.py), with its definitions inlined.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from routerapp.validation import ChatCompletionIn, EmbeddingsIn


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorOut(BaseModel):
    error: ErrorBody


class Choice(BaseModel):
    model_config = ConfigDict(extra="allow")
    index: int
    message: dict[str, Any]
    finish_reason: str | None


class ChatCompletionOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    object: str
    created: int
    model: str
    choices: list[Choice]
    usage: dict[str, Any] | None = None


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every $ref replaced by its definition (none is recursive)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref:
                return resolve(defs[ref.rsplit("/", 1)[1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def json_content(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": inline_schema(model)}}


ERROR_STATUSES = {
    "400": "Invalid request (the message and param say what and where)",
    "401": "Missing, unknown, revoked or expired API key",
    "403": "The key may not use this model",
    "404": "No such model",
    "413": "Body larger than ROUTER_MAX_BODY_BYTES",
    "415": "Body not sent as application/json",
    "429": "Rate limit or budget exceeded",
    "502": "Every deployment failed",
    "503": "Every deployment is cooling down or unavailable",
    "504": "The request's deadline passed",
}

ERRORS = {
    status: {"description": text, "content": json_content(ErrorOut)}
    for status, text in ERROR_STATUSES.items()
}

CHAT_COMPLETIONS_OPENAPI = {
    "requestBody": {"required": True, "content": json_content(ChatCompletionIn)},
    "responses": {
        "200": {
            "description": "The completion, or with `stream: true` server-sent events ending in `data: [DONE]`",
            "content": {
                **json_content(ChatCompletionOut),
                "text/event-stream": {"schema": {"type": "string"}},
            },
        },
        **ERRORS,
    },
}


class EmbeddingOut(BaseModel):
    object: str
    index: int
    embedding: list[float] | str  # floats, or base64 with encoding_format "base64"


class EmbeddingListOut(BaseModel):
    object: str
    data: list[EmbeddingOut]
    model: str
    usage: dict[str, int]


EMBEDDINGS_OPENAPI = {
    "requestBody": {"required": True, "content": json_content(EmbeddingsIn)},
    "responses": {
        "200": {"description": "One vector per input, in order", "content": json_content(EmbeddingListOut)},
        **ERRORS,
    },
}


class ModelOut(BaseModel):
    id: str
    object: str
    created: int
    owned_by: str


class ModelListOut(BaseModel):
    object: str
    data: list[ModelOut]


def errors_of(*statuses: str) -> dict[str, Any]:
    return {s: ERRORS[s] for s in statuses}


MODELS_OPENAPI = {
    "responses": {
        "200": {"description": "The models this key may use", "content": json_content(ModelListOut)}
    }
    | errors_of("401")
}
MODEL_OPENAPI = {
    "responses": {"200": {"description": "One model", "content": json_content(ModelOut)}}
    | errors_of("401", "404")
}
