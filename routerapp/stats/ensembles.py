"""Ensembles over a time window: requests, agreement, which member wins, cost against the members.

Read from QueryRecord.ensemble (what routerapp.ensembling stores), for the dashboard's Ensembles
page. Reads at most ROWS_PER_ENSEMBLE recent records per ensemble through the (model, created_at)
index, and says so when a window holds more.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from routerapp.models import Ensemble, QueryRecord

ROWS_PER_ENSEMBLE = 5000


@dataclass
class MemberStat:
    label: str
    model: str
    answered: int = 0  # calls that gave a usable answer
    wins: int = 0  # times its answer was the one returned
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    calls: int = 0

    @property
    def mean_cost_usd(self) -> float:
        return self.cost_usd / self.calls if self.calls else 0.0

    @property
    def mean_latency_ms(self) -> float:
        return self.latency_ms / self.calls if self.calls else 0.0


@dataclass
class EnsembleStat:
    name: str
    merge: str
    requests: int = 0
    errors: int = 0
    unanimous: int = 0  # every kept answer agreed with the one returned
    agreement_sum: float = 0.0
    confidence_sum: float = 0.0
    answered: int = 0
    cost_usd: float = 0.0
    judge_wins: int = 0
    truncated: bool = False  # more records in the window than were read
    dropped: Counter = field(default_factory=Counter)
    members: dict[str, MemberStat] = field(default_factory=dict)

    @property
    def dropped_reasons(self) -> list[tuple[str, int]]:
        return self.dropped.most_common()

    @property
    def member_list(self) -> list[MemberStat]:
        return list(self.members.values())

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def agreement_rate(self) -> float:
        """Share of answered requests whose kept members all agreed."""
        return self.unanimous / self.answered if self.answered else 0.0

    @property
    def mean_agreement(self) -> float:
        return self.agreement_sum / self.answered if self.answered else 0.0

    @property
    def mean_confidence(self) -> float:
        return self.confidence_sum / self.answered if self.answered else 0.0

    @property
    def mean_cost_usd(self) -> float:
        return self.cost_usd / self.requests if self.requests else 0.0

    @property
    def best_member(self) -> MemberStat | None:
        """The member whose answer wins most often: the single model one would otherwise send to."""
        ranked = sorted(self.members.values(), key=lambda m: (m.wins, m.answered), reverse=True)
        return ranked[0] if ranked else None

    @property
    def cost_ratio(self) -> float | None:
        """Ensemble cost per request ÷ the best member's cost per call."""
        best = self.best_member
        if best is None or not best.mean_cost_usd:
            return None
        return self.mean_cost_usd / best.mean_cost_usd


def ensemble_stats(window: timedelta) -> list[EnsembleStat]:
    since = timezone.now() - window
    out = []
    for ensemble in Ensemble.objects.order_by("name"):
        stat = EnsembleStat(ensemble.name, ensemble.merge)
        rows = list(
            QueryRecord.objects.filter(model=ensemble.name, created_at__gte=since)
            .order_by("-created_at")
            .values_list("status", "cost_usd", "ensemble")[: ROWS_PER_ENSEMBLE + 1]
        )
        stat.truncated = len(rows) > ROWS_PER_ENSEMBLE
        for status, cost, data in rows[:ROWS_PER_ENSEMBLE]:
            _add(stat, status, cost, data or {})
        out.append(stat)
    return out


def _add(stat: EnsembleStat, status: str, cost: float, data: dict) -> None:
    stat.requests += 1
    stat.cost_usd += cost or 0.0
    if status != QueryRecord.Status.OK:
        stat.errors += 1
    members = data.get("members") or []
    chosen = data.get("chosen")
    if status == QueryRecord.Status.OK and members:
        stat.answered += 1
        agreement = float(data.get("agreement") or 0.0)
        stat.agreement_sum += agreement
        stat.unanimous += agreement >= 1.0
        stat.confidence_sum += float(data.get("confidence") or 0.0)
        if chosen is None:
            stat.judge_wins += 1
    for index, m in enumerate(members):
        label = m.get("label") or m.get("model") or "?"
        member = stat.members.get(label)
        if member is None:
            member = stat.members[label] = MemberStat(label, m.get("model") or label)
        member.calls += 1
        member.cost_usd += m.get("cost_usd") or 0.0
        member.latency_ms += m.get("latency_ms") or 0.0
        if m.get("kept"):
            member.answered += 1
        elif m.get("dropped_because"):
            stat.dropped[m["dropped_because"]] += 1
        if index == chosen and status == QueryRecord.Status.OK:
            member.wins += 1


__all__ = ["EnsembleStat", "MemberStat", "ensemble_stats"]
