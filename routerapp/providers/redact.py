"""Mask secrets in text an upstream sent, before it reaches a client, the history or a log.

Upstream error messages are passed on because they help ("model not found", "max_tokens too
large"), but a misbehaving or hostile upstream may echo what it received: the Authorization
header, an x-api-key, a signed URL. Every upstream message goes through `redact()` on its way out
of an attempt (routing.fallback and routing.streaming call it), with the provider's own secrets
named so they are masked whatever their shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
# A known secret shorter than this is not searched for: masking every "abc" would garble the text.
MIN_SECRET_LEN = 6

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization header values, whatever the scheme.
    (re.compile(r"(?i)\b(bearer)(\s+)[^\s\"',;]+"), rf"\1\2{MASK}"),
    (re.compile(r"\b(Basic)(\s+)[A-Za-z0-9+/]{8,}={0,2}"), rf"\1\2{MASK}"),
    # JSON web tokens.
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), MASK),
    # key=value, "key": "value", key: value for anything named like a credential.
    (
        re.compile(
            r"(?i)(\b(?:x-)?(?:api[_-]?key|access[_-]?token|auth[_-]?token|secret|password|authorization|x-goog-api-key)"
            r"[\"']?\s*[:=]\s*[\"']?)(?!bearer\b|basic\b)([^\s\"',;&]+)"
        ),
        rf"\1{MASK}",
    ),
    # Vendor key shapes: OpenAI/Anthropic sk-…, Google AIza…, GitHub, Slack, AWS access key ids.
    (re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-]{8,}"), rf"\1-{MASK}"),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"), MASK),
    (re.compile(r"\b(?:gh[pousr]_|xox[abpr]-|AKIA)[A-Za-z0-9_\-]{10,}"), MASK),
    # Anything long and token-shaped: hex of 32+ characters, base64/url-safe runs of 32+ with a digit.
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), MASK),
    (re.compile(r"(?<![A-Za-z0-9+/_\-])(?=[A-Za-z0-9+/_\-]*\d)[A-Za-z0-9+/_\-]{32,}={0,2}"), MASK),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with the given secrets and anything key-shaped replaced by ***."""
    if not text:
        return text
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LEN}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
