"""The interface every selection strategy implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from routerapp.providers.base import RoutedRequest

if TYPE_CHECKING:
    # Types only: the table imports the schema, which imports the strategy registry.
    from routerapp.routing.table import DeploymentInfo, GroupInfo


@dataclass(slots=True)
class Selection:
    """What a strategy sees: the request, the group, and the deployments still eligible."""

    request: RoutedRequest
    group: GroupInfo
    candidates: list[DeploymentInfo]
    prompt_tokens: int = 0


class Strategy:
    """Order the candidates: the router tries them in that order until one answers."""

    name: ClassVar[str] = ""

    def order(self, selection: Selection) -> list[DeploymentInfo]:
        raise NotImplementedError

    # Feedback hooks; strategies that learn from traffic override them.
    def started(self, deployment: DeploymentInfo) -> None:
        pass

    def finished(self, deployment: DeploymentInfo, *, latency_ms: float | None, ok: bool) -> None:
        pass
