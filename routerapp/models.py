"""The domain: providers and their deployments, client keys, and the history of every request."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone

from routerapp.encryption import decrypt, encrypt, resolve_secret

SEALED = "enc:"


def sealed_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """Header values as stored: `env:VAR` references and values already sealed (`enc:…`, as an
    export writes them) kept, any other value encrypted (a config file may hold it in clear)."""
    return {
        name: value
        if not isinstance(value, str) or not value or value.startswith(("env:", SEALED))
        else SEALED + encrypt(value)
        for name, value in headers.items()
    }


def open_header(value: Any) -> str:
    value = str(value)
    if value.startswith(SEALED):
        return decrypt(value[len(SEALED) :])
    return resolve_secret(value)


class Provider(models.Model):
    """An upstream service speaking one wire protocol (`kind`)."""

    class Kind(models.TextChoices):
        OPENAI = "openai", "OpenAI-compatible"
        ANTHROPIC = "anthropic", "Anthropic"
        OLLAMA = "ollama", "Ollama"
        SIMULATED = "simulated", "Simulated (built in)"

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    base_url = models.URLField(max_length=500, blank=True)
    # Either an `env:VAR` reference (preferred: the secret never enters the database) ...
    api_key_ref = models.CharField(max_length=200, blank=True, help_text="env:VARIABLE_NAME")
    # ... or the key itself, encrypted with a key derived from SECRET_KEY.
    api_key_encrypted = models.TextField(blank=True, editable=False)
    timeout_s = models.FloatField(default=60.0)
    extra_headers = models.JSONField(default=dict, blank=True)
    # Kind-specific settings, e.g. the simulated provider's latency and failure rate.
    options = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name

    def set_api_key(self, value: str) -> None:
        """Store a key: `env:VAR` references stay references, anything else is encrypted."""
        if value.startswith("env:"):
            self.api_key_ref, self.api_key_encrypted = value, ""
        else:
            self.api_key_ref, self.api_key_encrypted = "", encrypt(value) if value else ""

    def resolved_api_key(self) -> str:
        if self.api_key_ref:
            return resolve_secret(self.api_key_ref)
        return decrypt(self.api_key_encrypted) if self.api_key_encrypted else ""

    @property
    def has_stored_secret(self) -> bool:
        return bool(self.api_key_encrypted)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Header values are often credentials (x-api-key, a bearer token): stored like the key, on
        # every path that saves a provider (admin, import, API), so no page or export shows one.
        self.extra_headers = sealed_headers(self.extra_headers or {})
        super().save(*args, **kwargs)

    def resolved_headers(self) -> dict[str, str]:
        """The extra headers as the upstream gets them: references resolved, stored values decrypted."""
        return {name: open_header(value) for name, value in (self.extra_headers or {}).items()}

    def secrets(self) -> tuple[str, ...]:
        """What no page may repeat: the key and every configured header value (as the adapters see them)."""
        return tuple(s for s in (self.resolved_api_key(), *self.resolved_headers().values()) if s)

    @classmethod
    def all_secrets(cls) -> tuple[str, ...]:
        return tuple(s for provider in cls.objects.all() for s in provider.secrets())

    def key_source(self) -> str:
        """Where the key comes from, safe to show: the `env:VAR` reference, or that one is stored."""
        if self.api_key_ref:
            return self.api_key_ref
        return "stored (encrypted)" if self.api_key_encrypted else "none"


class ModelGroup(models.Model):
    """A client-facing model name and how requests for it are routed across its deployments."""

    name = models.CharField(max_length=200, unique=True)
    strategy = models.CharField(max_length=50, default="simple-shuffle")
    # Ordered lists of other model names to try when this one is exhausted.
    fallbacks = models.JSONField(default=list, blank=True)
    context_window_fallbacks = models.JSONField(default=list, blank=True)
    content_policy_fallbacks = models.JSONField(default=list, blank=True)
    # Empty means "use the router defaults" (settings.ROUTER).
    num_retries = models.PositiveSmallIntegerField(null=True, blank=True)
    timeout_s = models.FloatField(null=True, blank=True)
    # Streams: longest wait for the first chunk, and between two chunks.
    first_token_timeout_s = models.FloatField(null=True, blank=True)
    chunk_timeout_s = models.FloatField(null=True, blank=True)
    # The breaker (routing/breaker.py): at least allowed_fails failures in a minute, and a failure
    # rate of allowed_fail_rate once the deployment had min_requests attempts in it.
    allowed_fails = models.PositiveSmallIntegerField(null=True, blank=True)
    allowed_fail_rate = models.FloatField(null=True, blank=True)
    min_requests = models.PositiveIntegerField(null=True, blank=True)
    cooldown_s = models.FloatField(null=True, blank=True)
    # Optimizer strategies on for this model (routerapp.optimizer.switches), and its response cache.
    optimize = models.JSONField(default=list, blank=True)
    cache_ttl_s = models.FloatField(null=True, blank=True)
    cache_any_temperature = models.BooleanField(default=False)
    # Fields a deployment cannot honour are left out (and listed in x-router-dropped-params)
    # instead of refused with a 400 (routerapp.providers.fields).
    drop_params = models.BooleanField(default=False)
    # Learned routing (strategy `learned`): how much one point of quality (0–1) is worth against the
    # relative cost (λ) and relative latency (μ) of a deployment, see routerapp.optimizer.chooser.
    cost_weight = models.FloatField(default=0.1)
    latency_weight = models.FloatField(default=0.0)
    # Judge scoring: a sampled fraction of this model's answers is graded by another model name.
    judge_model = models.CharField(max_length=200, blank=True)
    judge_sample_rate = models.FloatField(default=0.0)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class Deployment(models.Model):
    """One model on one provider, serving a ModelGroup."""

    model_group = models.ForeignKey(ModelGroup, on_delete=models.CASCADE, related_name="deployments")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="deployments")
    upstream_model = models.CharField(max_length=200)
    weight = models.FloatField(default=1.0)
    rpm = models.PositiveIntegerField(null=True, blank=True)
    tpm = models.PositiveIntegerField(null=True, blank=True)
    # Price overrides in USD per million tokens; empty means "look it up in genai-prices".
    input_cost_per_mtok = models.FloatField(null=True, blank=True)
    output_cost_per_mtok = models.FloatField(null=True, blank=True)
    # Empty: genai-prices, else the input price (cache) or the output price (reasoning).
    cached_input_cost_per_mtok = models.FloatField(null=True, blank=True)
    cache_write_cost_per_mtok = models.FloatField(null=True, blank=True)
    reasoning_cost_per_mtok = models.FloatField(null=True, blank=True)
    context_window = models.PositiveIntegerField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    # Written by the health check.
    health_status = models.CharField(max_length=20, default="unknown")
    health_error = models.TextField(blank=True)
    health_checked_at = models.DateTimeField(null=True, blank=True)
    health_latency_ms = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_group", "provider", "upstream_model"], name="unique_deployment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_group.name} → {self.provider.name}/{self.upstream_model}"

    @property
    def label(self) -> str:
        return f"{self.provider.name}/{self.upstream_model}"


class Ensemble(models.Model):
    """A model name answered by several models at once, their answers merged (routerapp.ensembling)."""

    class Merge(models.TextChoices):
        VOTE = "vote"
        BEST = "best"
        SYNTHESIZE = "synthesize"

    name = models.CharField(max_length=200, unique=True)
    # Model names from ModelGroup; a name may repeat (the same model sampled again).
    members = models.JSONField(default=list)
    merge = models.CharField(max_length=20, choices=Merge.choices, default=Merge.VOTE)
    judge = models.CharField(
        max_length=200, blank=True, help_text="Model that synthesizes (merge: synthesize)."
    )
    min_members = models.PositiveSmallIntegerField(default=1, help_text="Quorum of usable answers.")
    member_timeout_s = models.FloatField(default=30.0)
    min_confidence = models.FloatField(default=0.0)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(models.Model):
    """A client credential. Only its SHA-256 is stored; the key itself is shown once, at creation."""

    PREFIX = "sk-rt-"

    name = models.CharField(max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=16, editable=False, help_text="First characters, to recognise a key."
    )
    # Client-facing model names this key may use; empty means all.
    allowed_models = models.JSONField(default=list, blank=True)
    rpm_limit = models.PositiveIntegerField(null=True, blank=True)
    # Tokens (prompt + completion) per minute, counted as answers come back.
    tpm_limit = models.PositiveIntegerField(null=True, blank=True)
    # Optimizer switches for this key's requests, over the model's: e.g. ["-cache"] opts out of caching.
    optimize = models.JSONField(default=list, blank=True)
    budget_usd = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)

    class BudgetPeriod(models.TextChoices):
        NONE = "", "none (a lifetime budget)"
        DAILY = "daily"
        WEEKLY = "weekly"  # from Monday 00:00 UTC
        MONTHLY = "monthly"

    # The budget starts again at each period's start (UTC; routerapp.routing.budget).
    budget_period = models.CharField(max_length=10, choices=BudgetPeriod.choices, default="", blank=True)
    # Money spent so far; the history writer adds to it in batches.
    spent_usd = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    # Money spent in the budget period that started at period_started_at (periodic budgets only).
    period_spent_usd = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    period_started_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    # Admin keys manage the router through /api; client keys (the default) only call /v1.
    is_admin = models.BooleanField(default=False)
    # After this moment the key is refused (the routing table leaves it out); empty: never expires.
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def create_key(cls, name: str, **fields) -> tuple[ApiKey, str]:
        """Create a key row and return it with the raw key, which is not stored anywhere."""
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            name=name, key_hash=hash_key(raw), prefix=raw[: len(cls.PREFIX) + 4], **fields
        )
        return key, raw


class ConfigVersion(models.Model):
    """One row, bumped by every change to the routing config (signals.py).

    In the database rather than the cache so that every process sees it whatever the cache is:
    with the default local-memory cache a counter there would only reach the process that wrote it.
    Server processes read it at most every ROUTER["CONFIG_CHECK_S"] seconds (routing/table.py).
    """

    ROW = 1

    version = models.BigIntegerField(default=0)

    @classmethod
    def current(cls) -> int:
        return cls.objects.filter(pk=cls.ROW).values_list("version", flat=True).first() or 0

    @classmethod
    def bump(cls) -> None:
        if not cls.objects.filter(pk=cls.ROW).update(version=models.F("version") + 1):
            _, created = cls.objects.get_or_create(pk=cls.ROW, defaults={"version": 1})
            if not created:  # another process created it meanwhile
                cls.objects.filter(pk=cls.ROW).update(version=models.F("version") + 1)


class QueryRecordQuerySet(models.QuerySet):
    def matching(
        self,
        *,
        request_id_prefix: str = "",
        model: str = "",
        status: str = "",
        deployment_id: int | None = None,
        api_key_id: int | None = None,
        error_type: str = "",
        since: datetime | None = None,
        slower_than_ms: float | None = None,
        before: datetime | None = None,
    ) -> QueryRecordQuerySet:
        """The history filters (the History page and GET /api/queries); empty values filter nothing."""
        rows = self
        if request_id_prefix:
            # A range rather than LIKE: the unique index on request_id serves it.
            prefix = request_id_prefix.strip()
            rows = rows.filter(request_id__gte=prefix, request_id__lt=prefix + "\U0010ffff")
        if model:
            rows = rows.filter(model=model)
        if status:
            rows = rows.filter(status=status)
        if deployment_id:
            rows = rows.filter(deployment_id=deployment_id)
        if api_key_id:
            rows = rows.filter(api_key_id=api_key_id)
        if error_type:
            # Only failures carry an error type; saying so lets the (status, created_at) index serve it.
            rows = rows.filter(status=QueryRecord.Status.ERROR, error_type=error_type.strip())
        if since:
            rows = rows.filter(created_at__gte=since)
        if slower_than_ms:
            rows = rows.filter(latency_ms__gt=slower_than_ms)
        if before:
            rows = rows.filter(created_at__lt=before)
        return rows


class QueryRecord(models.Model):
    """One client request that reached the router, failed or not.

    Kept lean on purpose: static config is referenced, not copied, and bodies are only stored when
    ROUTER["STORE_BODIES"] says so, so the table stays cheap at millions of rows.
    """

    class Status(models.TextChoices):
        OK = "ok"
        ERROR = "error"
        CANCELLED = "cancelled"  # the client went away mid-stream

    request_id = models.CharField(max_length=40, unique=True)
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="queries"
    )
    model = models.CharField(max_length=200, help_text="The model name the client asked for.")
    # The client's own end user (the request's `user`), for statistics per user.
    end_user = models.CharField(max_length=200, blank=True)
    deployment = models.ForeignKey(
        Deployment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="queries",
        help_text="Who answered.",
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    http_status = models.PositiveSmallIntegerField(default=200)
    error_type = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    stream = models.BooleanField(default=False)
    # The client-facing path: /v1/chat/completions, /v1/messages (Anthropic's format), /v1/embeddings.
    endpoint = models.CharField(max_length=40, default="/v1/chat/completions")
    latency_ms = models.FloatField(default=0)
    ttft_ms = models.FloatField(null=True, blank=True)
    overhead_ms = models.FloatField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    # Parts of the two counts, as the upstream reported them (routerapp.providers.base.Usage).
    cached_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.FloatField(default=0)
    # cost_usd part by part: {"input", "cached_input", "cache_write", "output", "reasoning"} in USD.
    cost_parts = models.JSONField(default=dict, blank=True)
    attempts_count = models.PositiveSmallIntegerField(default=0)
    # Why deployments were passed over: [{"deployment": id, "reason": "cooldown" | "rate_limited" | ...}]
    skipped = models.JSONField(default=list, blank=True)
    fallback_used = models.BooleanField(default=False)
    # What the optimizer found and did (routerapp.optimizer): {"compress": {...}, "params": {...}, ...}.
    task_type = models.CharField(max_length=20, blank=True)
    task_confidence = models.FloatField(null=True, blank=True)
    # The prompt cluster within task_type (routerapp.optimizer.clusters): its `cluster:<n>` pattern.
    task_cluster = models.SmallIntegerField(null=True, blank=True)
    optimizations = models.JSONField(default=dict, blank=True)
    cache_hit = models.BooleanField(default=False)
    request_body = models.TextField(blank=True)
    # The request's other fields (tools, temperature, response_format, ...), stored like the body.
    request_params = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    # Ensembles only: the response's "ensemble" object plus each member's answer (history detail).
    ensemble = models.JSONField(null=True, blank=True)
    # Learned routing: the scores of its answer (task_type above is the request's). The answer's own
    # checks (optimizer.quality) score it on the way out; a judge model and the client's feedback may
    # score it later, and the latest of those three is the one learning uses (`effective_score`).
    quality_score = models.FloatField(null=True, blank=True)
    quality_problems = models.JSONField(default=list, blank=True)
    judge_score = models.FloatField(null=True, blank=True)
    judge_pending = models.BooleanField(default=False)
    feedback_score = models.FloatField(null=True, blank=True)
    feedback_comment = models.TextField(blank=True, db_default="")  # the history writer leaves it out
    feedback_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = QueryRecordQuerySet.as_manager()

    class Meta:
        indexes = [
            # Dashboards and stats: time windows, overall and per key / deployment / model.
            models.Index(fields=["created_at"], name="query_created"),
            models.Index(fields=["api_key", "created_at"], name="query_key_created"),
            models.Index(fields=["deployment", "created_at"], name="query_deployment_created"),
            models.Index(fields=["model", "created_at"], name="query_model_created"),
            models.Index(fields=["end_user", "created_at"], name="query_user_created"),
            # Error pages: recent failures.
            models.Index(fields=["status", "created_at"], name="query_status_created"),
            # Learning: the latest ROUTER_LEARNING_WINDOW scored answers; the judge's backlog.
            models.Index(fields=["id"], condition=models.Q(quality_score__isnull=False), name="query_scored"),
            models.Index(fields=["id"], condition=models.Q(judge_pending=True), name="query_judge_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.model} {self.status}"

    @property
    def effective_score(self) -> float | None:
        """The score learning uses: the client's feedback, else the judge's, else the answer's checks."""
        for score in (self.feedback_score, self.judge_score, self.quality_score):
            if score is not None:
                return score
        return None


class QueryTag(models.Model):
    """One tag of a QueryRecord (from the request's `metadata`), for statistics per tag."""

    query = models.ForeignKey(QueryRecord, on_delete=models.CASCADE, related_name="tags")
    tag = models.CharField(max_length=200)

    class Meta:
        # Statistics per tag join from the window's records; the tag's own page starts from it.
        indexes = [models.Index(fields=["tag", "query"], name="querytag_tag_query")]

    def __str__(self) -> str:
        return self.tag


class Attempt(models.Model):
    """One upstream call made for a QueryRecord (retries and fallbacks each add one)."""

    query = models.ForeignKey(QueryRecord, on_delete=models.CASCADE, related_name="attempts")
    deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts"
    )
    retry = models.PositiveSmallIntegerField(default=0, help_text="0 for the first try on this deployment.")
    # Ensembles: which member made the call ("fast", "fast#2" for a repeat, "judge"); blank otherwise.
    member = models.CharField(max_length=210, blank=True)
    status = models.CharField(max_length=10)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_type = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    # Offset from the start of the request, for the waterfall.
    start_ms = models.FloatField(default=0)
    latency_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["query_id", "start_ms"]
        indexes = [models.Index(fields=["deployment", "created_at"], name="attempt_deployment_created")]

    def __str__(self) -> str:
        return f"attempt {self.retry} {self.status}"


# Observability: spans of each request, upstream error groups and hourly statistics, all written by
# the history writer in the same batch transaction as the QueryRecords they describe.


class Span(models.Model):
    """One timed stage of a request (authenticate, select, attempt, stream, …): the waterfall's bars."""

    query = models.ForeignKey(QueryRecord, on_delete=models.CASCADE, related_name="spans")
    # Order within the trace; `parent` refers to another span's position.
    position = models.PositiveSmallIntegerField()
    parent = models.PositiveSmallIntegerField(null=True, blank=True)
    name = models.CharField(max_length=40)
    start_ms = models.FloatField(help_text="Offset from the start of the request.")
    duration_ms = models.FloatField()
    status = models.CharField(max_length=10, default="ok")
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["query_id", "position"]

    def __str__(self) -> str:
        return f"{self.name} {self.duration_ms:.1f} ms"


class ErrorGroupQuerySet(models.QuerySet):
    def seen_since(self, moment: datetime) -> ErrorGroupQuerySet:
        return self.filter(last_seen__gte=moment)


class ErrorGroup(models.Model):
    """Failures with the same error type, provider, deployment and normalised message, counted.

    Upstream failures are counted per attempt (a retried 500 counts twice, even when a fallback
    then answered); failures without any upstream attempt (rate limits, budgets, unknown models)
    are counted per request with no deployment.
    """

    fingerprint = models.CharField(max_length=40, unique=True)
    error_type = models.CharField(max_length=60)
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.CharField(max_length=300, help_text="Normalised: numbers, ids and URLs replaced.")
    sample_message = models.TextField(blank=True)
    sample_request_id = models.CharField(max_length=40, blank=True)
    count = models.PositiveIntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    # The trend: {"<hour as epoch seconds>": count} for the last 7 days.
    hourly = models.JSONField(default=dict, blank=True)
    # Request ids of the latest occurrences, newest first: the drill-down.
    recent = models.JSONField(default=list, blank=True)

    objects = ErrorGroupQuerySet.as_manager()

    class Meta:
        indexes = [
            # Errors page: groups seen in the window, newest first.
            models.Index(fields=["last_seen"], name="errorgroup_last_seen"),
        ]

    def __str__(self) -> str:
        # Not the message: the admin shows this in titles and checkbox labels, unmasked (admin.masked).
        return f"{self.error_type} #{self.pk}"


class StatsRollup(models.Model):
    """Totals of one hour for one dimension value, so 24 h and 7 d statistics read a few hundred
    rows instead of a million. Latency and time to first token are kept as log-scale histograms
    (see routerapp.observability.rollups), which merge exactly across hours and give percentiles within ~6 %."""

    class Dimension(models.TextChoices):
        ALL = "all"
        MODEL = "model"
        DEPLOYMENT = "deployment"
        KEY = "key"
        USER = "user"  # the request's `user`
        TAG = "tag"  # one row per tag of the request's metadata

    dimension = models.CharField(max_length=12, choices=Dimension.choices)
    # Model name, deployment id or key id; "" for ALL and for requests without one.
    value = models.CharField(max_length=200, blank=True)
    hour = models.DateTimeField()
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    errors_by_type = models.JSONField(default=dict, blank=True)
    # Successful requests only: {bin: count}.
    latency_bins = models.JSONField(default=dict, blank=True)
    ttft_bins = models.JSONField(default=dict, blank=True)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    cost_usd = models.FloatField(default=0)
    # The slowest successful requests of the hour: [[latency_ms, request_id], …], slowest first.
    slowest = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            # Also the index stats reads use: one dimension over a range of hours.
            models.UniqueConstraint(fields=["dimension", "hour", "value"], name="unique_rollup"),
        ]

    def __str__(self) -> str:
        return f"{self.dimension}={self.value} @ {self.hour:%Y-%m-%d %H:00}"


# Batches: OpenAI's Batch API, run by the django-q2 workers (routerapp.batches holds the behaviour).


def new_file_id() -> str:
    return f"file-{uuid.uuid4().hex[:24]}"


def new_batch_id() -> str:
    return f"batch_{uuid.uuid4().hex[:24]}"


class File(models.Model):
    """An uploaded JSONL file (purpose "batch") or one a batch produced ("batch_output")."""

    class Purpose(models.TextChoices):
        BATCH = "batch"
        BATCH_OUTPUT = "batch_output"

    id = models.CharField(primary_key=True, max_length=40, default=new_file_id, editable=False)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=255)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    bytes = models.PositiveBigIntegerField(default=0)
    # In the database, so every server process and worker reads the same file in any setup.
    content = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # GET /v1/files: one key's files, newest first.
            models.Index(fields=["api_key", "created_at"], name="file_key_created"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.filename}"


class BatchQuerySet(models.QuerySet):
    def unfinished(self) -> BatchQuerySet:
        return self.filter(status__in=Batch.ACTIVE)


class Batch(models.Model):
    """One batch job: its input file, its status and timestamps as OpenAI reports them, its results."""

    class Status(models.TextChoices):
        VALIDATING = "validating"
        FAILED = "failed"
        IN_PROGRESS = "in_progress"
        FINALIZING = "finalizing"
        COMPLETED = "completed"
        EXPIRED = "expired"
        CANCELLING = "cancelling"
        CANCELLED = "cancelled"

    # A worker still has something to do for a batch in one of these.
    ACTIVE = (Status.VALIDATING, Status.IN_PROGRESS, Status.FINALIZING, Status.CANCELLING)

    id = models.CharField(primary_key=True, max_length=40, default=new_batch_id, editable=False)
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.CASCADE, related_name="batches"
    )
    # Kept as text too: the input file may be deleted while the batch lives on.
    input_file_id = models.CharField(max_length=40)
    endpoint = models.CharField(max_length=100)
    completion_window = models.CharField(max_length=10, default="24h")
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.VALIDATING)
    # Validation errors and why a batch stopped early: [{"code", "message", "param", "line"}].
    errors = models.JSONField(default=list, blank=True)
    output_file = models.ForeignKey(File, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error_file = models.ForeignKey(File, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    total = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    in_progress_at = models.DateTimeField(null=True, blank=True)
    finalizing_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    cancelling_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The worker running the batch holds a lease and renews it; an expired lease means it died.
    lease_owner = models.CharField(max_length=40, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    objects = BatchQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "batches"
        indexes = [
            # GET /v1/batches: one key's batches, newest first.
            models.Index(fields=["api_key", "created_at"], name="batch_key_created"),
            # The resume schedule: unfinished batches.
            models.Index(fields=["status"], name="batch_status"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def progress_percent(self) -> int:
        return round(100 * (self.completed + self.failed) / self.total) if self.total else 0


class BatchItem(models.Model):
    """One line of a batch's input and what became of it. Stored as it goes, so a restarted worker
    continues where the last one stopped."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    line = models.PositiveIntegerField(help_text="1-based line number in the input file.")
    custom_id = models.CharField(max_length=512)
    # The output line's id ("batch_req_…").
    item_id = models.CharField(max_length=40)
    model = models.CharField(max_length=200)
    body = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # How many times a worker started this item: more than 1 only after a worker died mid-request.
    runs = models.PositiveSmallIntegerField(default=0)
    # The history record of the last run (QueryRecord.request_id).
    request_id = models.CharField(max_length=40, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    # Set instead of a response when the item never got one: {"code", "message"}.
    error = models.JSONField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["batch_id", "line"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "line"], name="unique_batch_line"),
            models.UniqueConstraint(fields=["batch", "custom_id"], name="unique_batch_custom_id"),
        ]
        indexes = [
            # The worker: the next pending items of a batch in line order.
            models.Index(fields=["batch", "status", "line"], name="batchitem_batch_status"),
        ]

    def __str__(self) -> str:
        return f"{self.custom_id} {self.status}"


class OptimizerTemplate(models.Model):
    """Per task type: the system guidance the `instructions` strategy adds and the parameter
    defaults the `params` strategy sets (never over what the client sent)."""

    task_type = models.CharField(max_length=20, unique=True)
    instructions = models.TextField(blank=True, help_text="Added to the system prompt; empty adds none.")
    temperature = models.FloatField(null=True, blank=True)
    top_p = models.FloatField(null=True, blank=True)
    max_tokens = models.PositiveIntegerField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task_type"]

    def __str__(self) -> str:
        return self.task_type


class QuarantinedRecord(models.Model):
    """A finished request the history writer could not store as it was, with the reason.

    When a batch fails, the writer retries it row by row; a row that still fails lands here, as
    its draft in JSON, so one bad value never takes its batch with it and nothing is lost unseen.
    The writer then stores a repaired QueryRecord for it (numbers clamped), so the history stays
    complete and this row says what was changed.
    """

    request_id = models.CharField(max_length=64, db_index=True)
    draft = models.JSONField(default=dict)
    error = models.TextField()
    repaired = models.BooleanField(default=False, help_text="A repaired QueryRecord was stored.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"quarantined {self.request_id}"


class OptimizerPattern(models.Model):
    """What the router has learned about one deployment on one kind of query (a pattern).

    A pattern is a task type (`task:code`). Rebuilt from the latest ROUTER_LEARNING_WINDOW scored
    answers by the learning task, and moved online by feedback and judge scores. Rows are
    aggregates, not references to history, so they survive history pruning.
    """

    pattern = models.CharField(max_length=80)
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="patterns")
    count = models.PositiveIntegerField(default=0, help_text="Scored answers in the learning window.")
    quality_mean = models.FloatField(default=0.0)
    success_rate = models.FloatField(default=1.0, help_text="Share of upstream attempts that answered.")
    latency_ms_mean = models.FloatField(default=0.0)
    cost_usd_mean = models.FloatField(default=0.0)
    completion_tokens_mean = models.FloatField(default=0.0)
    feedback_count = models.PositiveIntegerField(default=0)
    # Share of the pattern's answers in the window this deployment gave: what the router chose.
    share = models.FloatField(default=0.0)
    # One point per hour the learning task ran: [iso hour, quality_mean, share, count], oldest first.
    timeline = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When the learning task last rebuilt the row from history (None: only feedback or a judge has
    # moved it). Live snapshots replay their own observations made after it: an `updated_at` moved
    # by a rescore says nothing about which answers the row includes.
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pattern", "deployment"], name="unique_pattern_deployment"),
        ]

    def __str__(self) -> str:
        return f"{self.pattern} @ {self.deployment_id}: q={self.quality_mean:.2f} n={self.count}"
