"""Live learning: answers scored on the way out, the process's pattern snapshot, rescoring.

The hot path never touches the database for it. Each server process keeps one `PatternStore`
(`live`): loaded from the OptimizerPattern rows in a pool thread, fed at once with the score of
every answer this process returns, and kept in step with what other processes learn through the
shared cache: the learning task (routerapp.optimizer.rebuild) stamps a new snapshot version when
it has rewritten the rows, and feedback and judge scores, which arrive in other processes (the
JSON API, the task workers), are appended to a short event log in the cache. A process looks at
both cache keys at most every ROUTER["LEARNING_CHECK_S"] seconds, and at when the rows were last
rebuilt (`rebuilt_at`) and how many were: with the default local-memory cache nothing another
process stamps arrives, and the rows say that a rebuild happened. (A judge score given in the
worker reaches a server without Redis with the next rebuild.)

Which answers are scored: those of model names with more than one deployment (there is nothing to
choose between otherwise), whatever their strategy, so `learned` starts from history.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Hashable
from typing import Any

from django.db import close_old_connections
from django.db.models import Count, Max, Q

from routerapp.conf import router_settings
from routerapp.observability.drafts import RecordDraft
from routerapp.optimizer import detect, quality
from routerapp.optimizer.patterns import PatternStore, patterns_of
from routerapp.sharedcache import cache

logger = logging.getLogger(__name__)

VERSION_KEY = "learning:version"  # the time the rows were last rebuilt
EVENT_SEQ_KEY = "learning:events"
EVENT_TTL_S = 3600
# At most this many events are read in one check; a process further behind reloads the rows.
MAX_EVENTS_PER_CHECK = 500
# How many of its own scored answers a process keeps to replay onto a reloaded snapshot.
RECENT_ANSWERS = 10_000


def event_key(seq: int) -> str:
    return f"learning:event:{seq}"


def detection_of(request: Any) -> detect.Detection:
    """The request's task type and cluster: `request.task` (detected on first read once route() has
    given the request's TaskSlot its detector), else, for a request that did not come through
    route(), detected here."""
    task = getattr(request, "task", None)
    if task is not None:
        return task
    return detect.detect(request.messages)


def learns_from(group: Any) -> bool:
    return len(group.deployments) > 1


class LiveStore:
    """This process's pattern snapshot, plus what it learned since the snapshot was built."""

    def __init__(self) -> None:
        self._store = PatternStore()
        self._version: float | None = None
        self._seq = 0
        self._checked_at = 0.0
        self._rows: tuple[Any, int] = (None, 0)  # rows_stamp() when the snapshot was read
        self._reloading = False
        self._lock = threading.Lock()
        # Answers scored here, so a reload keeps the ones newer than the rows it read: one flat
        # tuple each, (time, patterns, key, quality, latency_ms, cost_usd, completion_tokens),
        # the patterns tuple shared (patterns_of). A tuple and a dict of stats per pattern held
        # ~800 bytes an answer, ~8 MB of a server's resident size once full; this ~250.
        self._recent: deque[tuple[float, tuple[str, ...], Hashable, float, float | None, float, float]] = (
            deque(maxlen=RECENT_ANSWERS)
        )

    def reset(self) -> None:
        """Forget everything (tests: each starts from an empty database and cache)."""
        type(self).__init__(self)

    def snapshot(self) -> PatternStore:
        now = time.monotonic()
        if now - self._checked_at >= router_settings()["LEARNING_CHECK_S"]:
            self._checked_at = now
            self._check()
        return self._store

    def observe(
        self,
        patterns: tuple[str, ...],
        key: Hashable,
        *,
        quality: float,
        latency_ms: float | None = None,
        cost_usd: float = 0.0,
        completion_tokens: float = 0.0,
    ) -> None:
        """One scored answer, for each of its patterns (PatternStore.observe's statistics)."""
        self._remember(patterns, key, quality, latency_ms, cost_usd, completion_tokens, self._store)
        self._recent.append((time.time(), patterns, key, quality, latency_ms, cost_usd, completion_tokens))

    @staticmethod
    def _remember(
        patterns: tuple[str, ...],
        key: Hashable,
        quality: float,
        latency_ms: float | None,
        cost_usd: float,
        completion_tokens: float,
        store: PatternStore,
    ) -> None:
        for pattern in patterns:
            store.observe(
                pattern,
                key,
                quality=quality,
                latency_ms=latency_ms,
                cost_usd=cost_usd,
                completion_tokens=completion_tokens,
            )

    def reload(self) -> None:
        """Rebuild the snapshot from the rows (sync; tests and commands call it directly)."""
        from routerapp.models import OptimizerPattern

        with self._lock:
            version = float(cache().get(VERSION_KEY) or 0.0)
            seq = int(cache().get(EVENT_SEQ_KEY) or 0)
            self._rows = rows_stamp()
            # Without a shared cache the stamp of a rebuild in another process never arrives: the
            # rows' own rebuild time also says which observations they already include. (Not their
            # updated_at: feedback moves that, and a reload after it dropped every observation made
            # since the last rebuild, collapsing the snapshot on each feedback call.)
            rebuilt = self._rows[0]
            included_until = max(version, rebuilt.timestamp() if rebuilt else 0.0)
            store = PatternStore()
            for row in OptimizerPattern.objects.all():
                store.seed(
                    row.pattern,
                    row.deployment_id,
                    count=row.count,
                    quality_mean=row.quality_mean,
                    latency_ms_mean=row.latency_ms_mean if row.count else None,
                    cost_usd_mean=row.cost_usd_mean,
                    completion_tokens_mean=row.completion_tokens_mean,
                )
            # list(): one C-level copy, safe while the event loop appends.
            for at, patterns, key, quality, latency_ms, cost_usd, tokens in list(self._recent):
                if at > included_until:
                    self._remember(patterns, key, quality, latency_ms, cost_usd, tokens, store)
            self._store, self._version, self._seq = store, version, seq

    def _check(self) -> None:
        values = cache().get_many([VERSION_KEY, EVENT_SEQ_KEY])
        version = float(values.get(VERSION_KEY) or 0.0)
        seq = int(values.get(EVENT_SEQ_KEY) or 0)
        if self._version is None or version != self._version or seq - self._seq > MAX_EVENTS_PER_CHECK:
            self._reload_soon()
            return
        if seq > self._seq:
            events = cache().get_many([event_key(n) for n in range(self._seq + 1, seq + 1)])
            for event in events.values():
                self._apply(event)
            self._seq = seq
        self._check_rows_soon()

    def _check_rows_soon(self) -> None:
        """Reload when the rows changed though the cache said nothing: with the default local-memory
        cache, a rebuild by the task worker or a judge score written there stamps only the worker's
        own cache. One small aggregate, in a pool thread when called on the event loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._check_rows()
            return
        if self._reloading:
            return
        self._reloading = True
        loop.run_in_executor(None, self._check_rows_in_thread)

    def _check_rows(self) -> None:
        if rows_stamp() != self._rows:
            self.reload()

    def _check_rows_in_thread(self) -> None:
        try:
            self._check_rows()
        except Exception:
            logger.exception("learning: could not check the pattern rows")
        finally:
            self._reloading = False
            close_old_connections()

    def _apply(self, event: dict[str, Any]) -> None:
        self._store.rescore(event["p"], event["d"], quality_delta=event["dq"], count_delta=event["dn"])

    def _reload_soon(self) -> None:
        """Reload in a pool thread when called on the event loop (the hot path); inline otherwise."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.reload()
            return
        if self._reloading:
            return
        # Until the reload lands, requests keep to the current snapshot rather than wait for it.
        self._reloading = True
        loop.run_in_executor(None, self._reload_in_thread)

    def _reload_in_thread(self) -> None:
        try:
            self.reload()
        except Exception:
            logger.exception("learning: could not reload the pattern snapshot")
        finally:
            self._reloading = False
            close_old_connections()


live = LiveStore()


def rows_stamp() -> tuple[Any, int]:
    """When the learning task last rebuilt the pattern rows, and how many it wrote: a reload reads
    them anew when either moved. Not their updated_at: feedback and judge scores move that, and
    reach the snapshots as rescore events instead (reloading on them made every feedback call
    reset the snapshot to rows that only a rebuild fills in properly)."""
    from routerapp.models import OptimizerPattern  # as reload() does

    stamp = OptimizerPattern.objects.aggregate(
        rebuilt=Max("rebuilt_at"), n=Count("id", filter=Q(rebuilt_at__isnull=False))
    )
    return stamp["rebuilt"], stamp["n"]


def publish_rescore(pattern: str, deployment_id: int, *, quality_delta: float, count_delta: int) -> None:
    """Tell every process's snapshot that an answer was scored anew (after the row was updated)."""
    try:
        seq = cache().incr(EVENT_SEQ_KEY)
    except ValueError:
        cache().add(EVENT_SEQ_KEY, 0, timeout=None)
        seq = cache().incr(EVENT_SEQ_KEY)
    event = {"p": pattern, "d": deployment_id, "dq": quality_delta, "dn": count_delta}
    cache().set(event_key(seq), event, timeout=EVENT_TTL_S)


def publish_snapshot(built_at: float) -> None:
    cache().set(VERSION_KEY, built_at, timeout=None)


def score_answer(
    draft: RecordDraft,
    request: Any,
    group: Any,
    deployment_id: int,
    *,
    answer: str,
    finish_reason: str | None,
    latency_ms: float | None,
) -> None:
    """After an answer: score it, teach this process's snapshot, and maybe send it to the judge."""
    if not draft.task_type:
        return
    assessment = quality.assess(draft.task_type, request.messages, answer, finish_reason)
    draft.quality_score = assessment.score
    draft.quality_problems = assessment.problems
    live.observe(
        patterns_of(draft.task_type, draft.task_cluster),
        deployment_id,
        quality=assessment.score,
        latency_ms=latency_ms,
        cost_usd=draft.cost_usd,
        completion_tokens=float(draft.completion_tokens),
    )
    if group.judge_model and group.judge_sample_rate > 0 and random.random() < group.judge_sample_rate:
        draft.judge_pending = True
