"""What route() returns for a non-streamed request (its own module so ensembling can build one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from routerapp.observability.drafts import RecordDraft
from routerapp.providers.base import ChatResult


@dataclass(slots=True)
class Completion:
    body: dict[str, Any]
    result: ChatResult
    deployment_label: str
    overhead_ms: float
    draft: RecordDraft
