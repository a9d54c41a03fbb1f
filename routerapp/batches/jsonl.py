"""The Batch API's file formats: input lines in, output and error lines out, as OpenAI defines them.

Input, one JSON object per line:
    {"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions", "body": {...}}
Output (the output file holds the 2xx answers, the error file everything else):
    {"id": "batch_req_…", "custom_id": "req-1",
     "response": {"status_code": 200, "request_id": "…", "body": {...}}, "error": null}
A line that never got an answer (cancelled, expired, out of budget) has `"response": null` and
`"error": {"code", "message"}`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from routerapp import errors
from routerapp.validation import chat_request

ENDPOINTS = ("/v1/chat/completions",)
# Errors reported for a file that fails validation; the rest are counted, not listed.
MAX_REPORTED_ERRORS = 100


@dataclass(slots=True)
class InputLine:
    line: int
    custom_id: str
    model: str
    body: dict[str, Any]


def new_item_id() -> str:
    return f"batch_req_{uuid.uuid4().hex[:24]}"


def _problem(line: int, message: str, *, code: str = "invalid_request", param: str | None = None) -> dict:
    return {"code": code, "message": message, "param": param, "line": line}


def count_lines(content: bytes) -> int:
    return sum(1 for raw in content.splitlines() if raw.strip())


def parse_input(content: bytes, endpoint: str) -> tuple[list[InputLine], list[dict]]:
    """Every request of an input file, or the problems that make it unusable (each naming its line)."""
    lines: list[InputLine] = []
    problems: list[dict] = []
    seen: set[str] = set()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return [], [_problem(0, "The file is not UTF-8 text.", code="invalid_file")]
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            parsed = _parse_line(raw, number, endpoint, seen)
        except errors.InvalidRequestError as exc:
            problems.append(_problem(number, f"Line {number}: {exc.message}", param=exc.param))
            continue
        lines.append(parsed)
    if not lines and not problems:
        problems.append(_problem(0, "The file contains no requests.", code="empty_file"))
    return lines, problems


def _parse_line(raw: str, number: int, endpoint: str, seen: set[str]) -> InputLine:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.InvalidRequestError("not valid JSON.") from None
    if not isinstance(data, dict):
        raise errors.InvalidRequestError("must be a JSON object.")
    custom_id = data.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        raise errors.InvalidRequestError("'custom_id' is required and must be a string.", param="custom_id")
    if len(custom_id) > 512:
        raise errors.InvalidRequestError("'custom_id' is longer than 512 characters.", param="custom_id")
    if custom_id in seen:
        raise errors.InvalidRequestError(f"duplicate custom_id '{custom_id}'.", param="custom_id")
    seen.add(custom_id)
    if data.get("method") != "POST":
        raise errors.InvalidRequestError("'method' must be \"POST\".", param="method")
    if data.get("url") != endpoint:
        raise errors.InvalidRequestError(
            f"'url' must be the batch's endpoint \"{endpoint}\"; got {data.get('url')!r}.", param="url"
        )
    body = data.get("body")
    if not isinstance(body, dict):
        raise errors.InvalidRequestError("'body' is required and must be an object.", param="body")
    if body.get("stream"):
        raise errors.InvalidRequestError("streaming is not supported in a batch.", param="body.stream")
    try:
        request = chat_request(body)
    except errors.InvalidRequestError as exc:
        raise errors.InvalidRequestError(
            exc.message, param=f"body.{exc.param}" if exc.param else "body"
        ) from None
    return InputLine(line=number, custom_id=custom_id, model=request.model, body=body)


def output_line(
    *,
    item_id: str,
    custom_id: str,
    status_code: int | None,
    request_id: str,
    body: Any,
    error: dict | None,
) -> bytes:
    response = None
    if status_code is not None:
        response = {"status_code": status_code, "request_id": request_id, "body": body}
    return orjson.dumps({"id": item_id, "custom_id": custom_id, "response": response, "error": error})
