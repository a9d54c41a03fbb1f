"""The request rewriting strategies: compress (normalize, dedupe, trim), instructions, params.

Each takes the messages or parameters and returns new ones plus what it did, for the history
record; none changes its input in place (the client's request stays as it was sent, for the log).
"""

from __future__ import annotations

import re
from typing import Any

from routerapp.providers.base import estimate_prompt_tokens, message_text

_FENCE = re.compile(r"(```.*?(?:```|\Z))", re.S)
_TRAILING = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")
_INNER_SPACES = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")
# Only paragraphs this long count as duplicated context; short ones ("Thanks!") repeat naturally.
_MIN_DUPLICATE = 80


def _squeeze(text: str) -> str:
    """Whitespace normalized outside fenced code (indentation and code stay exactly as sent)."""
    parts = _FENCE.split(text)
    for i in range(0, len(parts), 2):  # even indexes are prose, odd ones fenced code
        prose = _TRAILING.sub("\n", parts[i].replace("\r\n", "\n"))
        parts[i] = _INNER_SPACES.sub(" ", _BLANK_LINES.sub("\n\n", prose))
    return "".join(parts).strip()


def _dedupe_paragraphs(text: str, seen: set[str]) -> str:
    kept = []
    for paragraph in text.split("\n\n"):
        fingerprint = " ".join(paragraph.split())
        if len(fingerprint) >= _MIN_DUPLICATE:
            if fingerprint in seen:
                continue
            seen.add(fingerprint)
        kept.append(paragraph)
    return "\n\n".join(kept)


def compress(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Normalize whitespace, drop repeated messages and repeated long paragraphs (pasted twice)."""
    out: list[dict[str, Any]] = []
    seen_paragraphs: set[str] = set()
    seen_system: set[str] = set()
    before = after = dropped = 0
    for message in messages:
        content = message.get("content")
        if not isinstance(content, str):
            out.append(message)
            continue
        before += len(content)
        role = message.get("role")
        text = _squeeze(content)
        if role in ("user", "system", "developer"):  # context the client pasted, not answers
            text = _dedupe_paragraphs(text, seen_paragraphs)
        if role in ("system", "developer"):
            if text in seen_system:
                dropped += 1
                continue
            seen_system.add(text)
        if out and out[-1].get("role") == role and out[-1].get("content") == text and role != "tool":
            dropped += 1  # the same message sent twice in a row
            continue
        after += len(text)
        out.append({**message, "content": text})
    info: dict[str, Any] = {}
    if after < before:
        info["chars_saved"] = before - after
    if dropped:
        info["messages_dropped"] = dropped
    return out, info


def trim(messages: list[dict[str, Any]], max_tokens: int) -> tuple[list[dict[str, Any]], int]:
    """Drop the oldest turns until the prompt fits `max_tokens`, keeping every system message and
    the latest user turn (with what follows it). Returns the messages and how many were dropped."""
    if estimate_prompt_tokens(messages) <= max_tokens:
        return messages, 0
    system = [m for m in messages if m.get("role") in ("system", "developer")]
    turns = [m for m in messages if m.get("role") not in ("system", "developer")]
    last_user = max((i for i, m in enumerate(turns) if m.get("role") == "user"), default=len(turns) - 1)
    start = 0
    while start < last_user and estimate_prompt_tokens(system + turns[start:]) > max_tokens:
        start += 1
        # Whole exchanges go: what is kept starts with a user turn (a tool result without the
        # assistant call before it is invalid for most upstreams).
        while start < last_user and turns[start].get("role") != "user":
            start += 1
    kept = system + turns[start:]
    return [m for m in messages if any(m is k for k in kept)], start


def add_instructions(messages: list[dict[str, Any]], instructions: str) -> list[dict[str, Any]]:
    """The guidance appended to the first system message, or as a new one before the conversation."""
    for i, message in enumerate(messages):
        if message.get("role") in ("system", "developer") and isinstance(message.get("content"), str):
            if instructions in message["content"]:
                return messages
            merged = {**message, "content": f"{message['content']}\n\n{instructions}"}
            return [*messages[:i], merged, *messages[i + 1 :]]
    return [{"role": "system", "content": instructions}, *messages]


def tune_params(
    params: dict[str, Any], defaults: tuple[tuple[str, float | int], ...]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parameters with the task type's defaults filled in where the client set none.

    `max_completion_tokens` counts as a client-set `max_tokens`: both limit the answer.
    """
    set_by_client = set(params)
    if "max_completion_tokens" in set_by_client:
        set_by_client.add("max_tokens")
    added = {name: value for name, value in defaults if name not in set_by_client}
    return ({**params, **added} if added else params), added


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(message_text(m) for m in messages)
