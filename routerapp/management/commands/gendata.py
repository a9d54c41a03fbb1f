"""Fill the history with realistic traffic, fast: `manage.py gendata --rows 1000000`.

For showing and measuring the statistics pages at size. The rows go through the history writer's
own `write_batch` in chunks, so QueryRecords, Attempts, the hourly rollups and the error groups
are exactly what real traffic would have left. The traffic: several models, deployments and keys,
a daily rhythm, per-deployment latency, streams with time to first token, retries, fallbacks,
router-side rejections, and one incident (a deployment failing for half an hour).
"""

from __future__ import annotations

import math
import random
import time
import uuid
from datetime import timedelta

from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from routerapp.management.base import RouterCommand
from routerapp.models import (
    ApiKey,
    Attempt,
    Deployment,
    ErrorGroup,
    ModelGroup,
    Provider,
    QueryRecord,
    QueryTag,
    Span,
    StatsRollup,
)
from routerapp.observability.drafts import AttemptDraft, RecordDraft
from routerapp.observability.writer import write_batch

# provider, upstream model, model name, median latency ms, error rate, $ in / out per million tokens
DEPLOYMENTS = [
    ("gen-openai", "gpt-4o-mini", "fast", 450, 0.01, 0.15, 0.6),
    ("gen-groq", "llama-3.1-8b", "fast", 180, 0.03, 0.05, 0.08),
    ("gen-openai", "gpt-4o", "smart", 1400, 0.008, 2.5, 10),
    ("gen-anthropic", "claude-sonnet", "smart", 1700, 0.012, 3, 15),
    ("gen-anthropic", "claude-haiku", "cheap", 600, 0.01, 0.8, 4),
    ("gen-local", "qwen2.5-7b", "cheap", 900, 0.05, 0, 0),
    ("gen-openai", "gpt-4.1", "long", 2600, 0.015, 2, 8),
    ("gen-groq", "llama-3.3-70b", "long", 900, 0.04, 0.59, 0.79),
]
KEYS = ["gen-web", "gen-mobile", "gen-batch", "gen-eval", "gen-support", "gen-search", "gen-agents", "gen-ci"]
FAILURES = [
    ("ProviderUnavailableError", 502, "HTTP {n} from upstream: the server is overloaded (request req_{id})"),
    ("UpstreamTimeoutError", 504, "{label}: no answer within {n}s"),
    ("RateLimitError", 429, "HTTP 429 from upstream: rate limit reached, retry after {n}s"),
    ("ProviderUnavailableError", 502, "{label}: connection reset by peer"),
]
REJECTIONS = [
    ("KeyRateLimitError", 429, "API key '{key}' exceeded its limit of {n} requests per minute"),
    ("BudgetExceededError", 429, "API key '{key}' has spent its budget of ${n}"),
    ("ModelNotFoundError", 404, "The model 'gpt-{n}' does not exist or you do not have access to it."),
]


class Command(RouterCommand):
    help = "Generate realistic request history (QueryRecords, attempts, rollups, error groups) in bulk."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument(
            "--days", type=float, default=7.0, help="Spread the rows over this many days up to now."
        )
        parser.add_argument("--chunk", type=int, default=5000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--clear", action="store_true", help="Delete ALL existing history first.")
        parser.add_argument(
            "--live-config",
            action="store_true",
            help="Create the gen-* providers, models and keys enabled (routable, keys usable); "
            "by default they are created disabled, so generated data never changes what the router serves.",
        )

    def handle(
        self, *args, rows: int, days: float, chunk: int, seed: int, clear: bool, live_config: bool, **options
    ):
        if rows < 1:
            raise CommandError("--rows must be a positive number of requests")
        if days <= 0:
            raise CommandError("--days must be a positive number of days")
        if chunk < 1:
            raise CommandError("--chunk must be a positive number of rows")
        rng = random.Random(seed)
        if clear:
            self._clear()
        deployments, keys = self._config(enabled=live_config)
        started = time.perf_counter()
        now = timezone.now()
        span_s = days * 86400
        # A daily rhythm: twice as busy at 15:00 UTC as at 03:00.
        offsets: list[float] = []
        while len(offsets) < rows:
            t = rng.random() * span_s
            hour = ((now.timestamp() - span_s + t) / 3600) % 24
            if rng.random() < 0.75 + 0.25 * math.sin((hour - 9) / 24 * 2 * math.pi):
                offsets.append(t)
        offsets.sort()
        incident_at = span_s - 26 * 3600  # yesterday, for half an hour
        written = 0
        for start in range(0, rows, chunk):
            batch = [
                self._draft(rng, now - timedelta(seconds=span_s - t), deployments, keys, t, incident_at)
                for t in offsets[start : start + chunk]
            ]
            write_batch(batch)
            written += len(batch)
            if written % (chunk * 20) == 0 or written == rows:
                rate = written / (time.perf_counter() - started)
                self.stdout.write(f"{written:,} rows ({rate:,.0f}/s)")
        if connection.vendor in ("sqlite", "postgresql"):
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # fresh planner statistics for the bigger tables
        self.stdout.write(f"done: {rows:,} rows in {time.perf_counter() - started:.1f}s")
        if live_config:
            self.stdout.write(
                "the gen-* providers, models and keys are enabled: they are routable (--live-config)"
            )
        else:
            self.stdout.write(
                "the gen-* providers, models and keys the history refers to were created disabled: "
                "not routable, keys unusable (pass --live-config to create them enabled)"
            )

    def _clear(self) -> None:
        for model in (Span, Attempt, QueryTag, QueryRecord, StatsRollup, ErrorGroup):
            model.objects.all()._raw_delete(model.objects.db)
        self.stdout.write("cleared the history")

    def _config(self, *, enabled: bool):
        # Rows that already exist are left as they are: an operator may have enabled or edited them.
        providers = {}
        for name in sorted({d[0] for d in DEPLOYMENTS}):
            providers[name], _ = Provider.objects.get_or_create(
                name=name,
                defaults={
                    "kind": Provider.Kind.SIMULATED,
                    "options": {"latency_ms": 100},
                    "enabled": enabled,
                },
            )
        deployments = []
        for provider, upstream, model, median, error_rate, cost_in, cost_out in DEPLOYMENTS:
            group, _ = ModelGroup.objects.get_or_create(name=f"gen-{model}", defaults={"enabled": enabled})
            deployment, _ = Deployment.objects.get_or_create(
                model_group=group,
                provider=providers[provider],
                upstream_model=upstream,
                defaults={
                    "input_cost_per_mtok": cost_in,
                    "output_cost_per_mtok": cost_out,
                    "enabled": enabled,
                },
            )
            deployments.append((deployment, group.name, median, error_rate, cost_in, cost_out))
        keys = []
        for name in KEYS:
            key = ApiKey.objects.filter(name=name).first() or ApiKey.create_key(name, enabled=enabled)[0]
            keys.append(key)
        return deployments, keys

    def _draft(self, rng: random.Random, at, deployments, keys, t: float, incident_at: float) -> RecordDraft:
        key = keys[min(int(rng.expovariate(0.5)), len(keys) - 1)]  # a few keys carry most traffic
        deployment, model, median, error_rate, cost_in, cost_out = rng.choice(deployments)
        stream = rng.random() < 0.4
        if incident_at <= t < incident_at + 1800 and deployment.id == deployments[1][0].id:
            error_rate = 0.6
        draft = RecordDraft(
            request_id=uuid.uuid4().hex,
            model=model,
            api_key_id=key.id,
            stream=stream,
            created_at=at,
            trace=None,
        )
        if rng.random() < 0.004:
            error_type, status, message = rng.choice(REJECTIONS)
            draft.status, draft.http_status, draft.error_type = "error", status, error_type
            draft.error_message = message.format(key=key.name, n=rng.randint(1, 999))
            draft.latency_ms = rng.uniform(0.2, 2)
            return draft
        elapsed = 0.0
        label = f"{deployment.provider.name}/{deployment.upstream_model}"
        for retry in range(3):
            latency = rng.lognormvariate(math.log(median), 0.45)
            if rng.random() >= error_rate:
                break
            error_type, status, message = rng.choice(FAILURES)
            failed = min(latency, 60000) if error_type == "UpstreamTimeoutError" else rng.uniform(5, 200)
            text = message.format(
                n=rng.choice([500, 502, 503, 30, 60, 3]), id=uuid.uuid4().hex[:12], label=label
            )
            draft.attempts.append(
                AttemptDraft(deployment.id, retry, "error", elapsed, failed, status, error_type, text)
            )
            elapsed += failed + rng.uniform(50, 400)
        else:
            draft.status, draft.http_status = "error", status
            draft.error_type, draft.error_message = error_type, text
            draft.latency_ms = elapsed
            return draft
        prompt = int(rng.lognormvariate(5.5, 0.9))
        completion = int(rng.lognormvariate(5, 0.8))
        draft.attempts.append(AttemptDraft(deployment.id, len(draft.attempts), "ok", elapsed, latency))
        draft.deployment_id = deployment.id
        draft.latency_ms = elapsed + latency + rng.uniform(0.3, 2)
        draft.overhead_ms = rng.uniform(0.3, 2)
        draft.ttft_ms = elapsed + latency * rng.uniform(0.08, 0.3) if stream else None
        draft.prompt_tokens, draft.completion_tokens = prompt, completion
        draft.cost_usd = (prompt * cost_in + completion * cost_out) / 1_000_000
        return draft
