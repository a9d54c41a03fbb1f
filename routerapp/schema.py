"""What a valid provider, model group, deployment and ensemble is: one definition.

importconfig and exportconfig (config.py), the admin forms and the routing table all go through
these models, so a strategy name, a fallback or a price that one of them accepts, the others accept
too. Field names are the config file's keys; where a database column is named differently
(`headers` ↔ `extra_headers`, `model` ↔ `upstream_model`), `from_row` and `apply_to` say so, once.

Checks that need to know other entries (fallbacks naming a known model, deployments naming a
known provider) read the names from the validation context (`Known`); without one they are skipped,
which is how a single row is checked where the database already enforces the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from routerapp.models import Deployment, Ensemble, ModelGroup, Provider
from routerapp.optimizer import switches
from routerapp.providers import ADAPTERS, KINDS
from routerapp.providers.base import COMMON_OPTIONS
from routerapp.routing.strategies import STRATEGIES

DEFAULT_STRATEGY = "simple-shuffle"
FALLBACK_KINDS = ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks")

Name = Annotated[str, Field(min_length=1)]
Number = Annotated[float, Field(ge=0)]
# A timeout or cooldown: a day at most, so no value overflows a clock or a timer.
Seconds = Annotated[float, Field(ge=0, le=86_400)]
# At most what every database's integer column holds (PostgreSQL's, the smallest).
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]


@dataclass(frozen=True)
class Known:
    """Names other entries may refer to: the file's own plus the database's."""

    providers: frozenset[str] = frozenset()
    models: frozenset[str] = frozenset()
    # Ensemble names, each with the model names it sends requests to (members, then the judge).
    ensembles: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _known(info: ValidationInfo) -> Known | None:
    context = info.context
    return context if isinstance(context, Known) else None


class Spec(BaseModel):
    # Strict: "60" is not a number and `yes` is not a count; unknown keys are mistakes.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    # The model field holding each config key, where the names differ (the admin's error messages).
    COLUMNS: ClassVar[dict[str, str]] = {}


class ProviderSpec(Spec):
    name: Annotated[str, Field(min_length=1, pattern=r"^[-a-zA-Z0-9_]+$")]
    kind: Name
    base_url: str = ""
    # Only ever an `env:VAR` reference on the way out; on the way in also a key to encrypt.
    api_key: str | None = None
    timeout_s: Seconds = 60.0
    headers: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True

    @field_validator("kind")
    @classmethod
    def _kind_is_registered(cls, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"kind '{kind}' is not one of {', '.join(KINDS)}")
        return kind

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, url: str) -> str:
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("'base_url' must start with http:// or https://")
        return url

    @model_validator(mode="after")
    def _openai_needs_base_url(self) -> Self:
        if self.kind == "openai" and not self.base_url:
            raise ValueError("an openai-kind provider needs 'base_url'")
        return self

    @model_validator(mode="after")
    def _options_are_known(self) -> Self:
        known = ADAPTERS[self.kind].OPTIONS | COMMON_OPTIONS
        per_model = self.options.get("models") if "models" in known else None
        layers = [self.options, *(per_model.values() if isinstance(per_model, dict) else ())]
        unknown = sorted({k for layer in layers if isinstance(layer, dict) for k in layer} - known)
        if unknown:
            raise ValueError(
                f"unknown option(s) {', '.join(unknown)} for a {self.kind} provider; "
                f"known: {', '.join(sorted(known)) or '(none)'}"
            )
        return self

    COLUMNS: ClassVar[dict[str, str]] = {"headers": "extra_headers", "api_key": "api_key_ref"}

    @staticmethod
    def fields_of(row: Provider) -> dict[str, Any]:
        """A row as the config file writes it: a stored (encrypted) key is never part of it."""
        fields = {
            "name": row.name,
            "kind": row.kind,
            "base_url": row.base_url,
            "timeout_s": row.timeout_s,
            "headers": row.extra_headers,
            "options": row.options,
            "enabled": row.enabled,
        }
        return fields | ({"api_key": row.api_key_ref} if row.api_key_ref else {})

    @classmethod
    def from_row(cls, row: Provider) -> ProviderSpec:
        return cls.model_construct(**cls.fields_of(row))

    def apply_to(self, row: Provider) -> None:
        row.kind, row.base_url, row.timeout_s = self.kind, self.base_url, self.timeout_s
        row.extra_headers, row.options, row.enabled = dict(self.headers), dict(self.options), self.enabled
        if "api_key" in self.model_fields_set:
            row.set_api_key(self.api_key or "")


class RowSettings(Spec):
    """Settings a database row holds under the config file's names."""

    @classmethod
    def fields_of(cls, row: Any) -> dict[str, Any]:
        return {name: getattr(row, name) for name in cls.model_fields}

    @classmethod
    def settings_of(cls, row: Any) -> Self:
        """The row's settings, validated: the routing table carries only what the schema allows."""
        return cls.model_validate(cls.fields_of(row))


class DeploymentSettings(RowSettings):
    """How one deployment is used: the routing table carries exactly these."""

    weight: Number = 1.0
    rpm: Count | None = None
    tpm: Count | None = None
    # USD per million tokens; empty means "look it up in genai-prices".
    input_cost_per_mtok: Number | None = None
    output_cost_per_mtok: Number | None = None
    # Empty: genai-prices, else the input price (cache) or the output price (reasoning).
    cached_input_cost_per_mtok: Number | None = None
    cache_write_cost_per_mtok: Number | None = None
    reasoning_cost_per_mtok: Number | None = None
    context_window: Count | None = None

    @field_validator("weight", mode="before")
    @classmethod
    def _empty_weight_is_one(cls, weight: Any) -> Any:
        return 1.0 if weight is None else weight


# The settings a deployment row holds under the same names (admin forms, import, export).
DEPLOYMENT_SETTINGS = tuple(DeploymentSettings.model_fields)


class DeploymentSpec(DeploymentSettings):
    provider: Name
    model: Name
    enabled: bool = True

    @field_validator("provider")
    @classmethod
    def _provider_is_defined(cls, provider: str, info: ValidationInfo) -> str:
        known = _known(info)
        if known is not None and provider not in known.providers:
            raise ValueError(f"provider '{provider}' is not defined")
        return provider

    COLUMNS: ClassVar[dict[str, str]] = {"model": "upstream_model"}

    @classmethod
    def from_row(cls, row: Deployment) -> DeploymentSpec:
        return cls.model_construct(
            provider=row.provider.name,
            model=row.upstream_model,
            enabled=row.enabled,
            **DeploymentSettings.fields_of(row),
        )

    def apply_to(self, row: Deployment) -> None:
        for name in DEPLOYMENT_SETTINGS:
            setattr(row, name, getattr(self, name))
        row.enabled = self.enabled


class ModelGroupSettings(RowSettings):
    """How requests for a model name are routed; empty numbers mean the router defaults."""

    strategy: str = DEFAULT_STRATEGY
    # Ordered lists of other model names to try when this one is exhausted.
    fallbacks: list[Name] = Field(default_factory=list)
    context_window_fallbacks: list[Name] = Field(default_factory=list)
    content_policy_fallbacks: list[Name] = Field(default_factory=list)
    num_retries: Count | None = None
    timeout_s: Seconds | None = None
    first_token_timeout_s: Seconds | None = None
    chunk_timeout_s: Seconds | None = None
    # The breaker (routing/breaker.py): at least allowed_fails failures in the last minute, and a
    # failure rate of allowed_fail_rate once it saw min_requests attempts in it.
    allowed_fails: Count | None = None
    allowed_fail_rate: Annotated[float, Field(gt=0, le=1)] | None = None
    min_requests: Annotated[int, Field(ge=1)] | None = None
    cooldown_s: Seconds | None = None
    # Optimizer strategies on for this model (routerapp.optimizer.switches), e.g. [compress, cache].
    optimize: list[str] = Field(default_factory=list)
    # The response cache: how long an answer is kept, and whether answers at temperature > 0 are too.
    cache_ttl_s: Number | None = None
    cache_any_temperature: bool = False
    # Leave out request fields a deployment cannot honour instead of refusing the request.
    drop_params: bool = False

    @field_validator("optimize", mode="before")
    @classmethod
    def _optimize_is_a_switch_spec(cls, spec: Any) -> Any:
        if spec is None:
            return []
        if not isinstance(spec, str | list | tuple):
            raise ValueError("optimize must be a list of strategy names or a comma-separated string")
        return switches.normalize(spec)

    # Learned routing (`strategy: learned`, routerapp.optimizer.chooser): what one point of quality
    # on the 0–1 scale is worth against the relative cost (λ) and relative latency (μ).
    cost_weight: Number = 0.1
    latency_weight: Number = 0.0
    # Judge scoring: this fraction of the model's scored answers is graded by `judge_model`.
    judge_model: str = ""
    judge_sample_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    enabled: bool = True

    @field_validator("judge_model")
    @classmethod
    def _judge_is_known(cls, name: str, info: ValidationInfo) -> str:
        known = _known(info)
        if name and known is not None and name not in known.models:
            raise ValueError(f"judge_model names unknown model '{name}'")
        return name

    @field_validator("strategy", mode="before")
    @classmethod
    def _empty_strategy_is_default(cls, strategy: Any) -> Any:
        return DEFAULT_STRATEGY if strategy is None or strategy == "" else strategy  # not [] or {}

    @field_validator("strategy")
    @classmethod
    def _strategy_is_registered(cls, strategy: str) -> str:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy '{strategy}' is not one of {', '.join(sorted(STRATEGIES))}")
        return strategy

    @field_validator(*FALLBACK_KINDS, mode="before")
    @classmethod
    def _empty_list(cls, names: Any) -> Any:
        return [] if names is None else names

    @field_validator(*FALLBACK_KINDS)
    @classmethod
    def _fallbacks_are_known(cls, names: list[str], info: ValidationInfo) -> list[str]:
        known = _known(info)
        for name in names:
            if known is not None and name not in known.models:
                raise ValueError(f"{info.field_name} names unknown model '{name}'")
        return names


# The settings a model group row holds under the same names.
MODEL_GROUP_SETTINGS = tuple(ModelGroupSettings.model_fields)


class ModelGroupSpec(ModelGroupSettings):
    name: Name
    deployments: list[DeploymentSpec] = Field(default_factory=list)

    @field_validator("deployments", mode="before")
    @classmethod
    def _no_deployments(cls, deployments: Any) -> Any:
        return [] if deployments is None else deployments

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for key in FALLBACK_KINDS:
            if self.name in getattr(self, key):
                raise ValueError(f"{key} must not name the model itself")
        if self.judge_model == self.name:
            raise ValueError("judge_model must not name the model itself (it would grade its own grades)")
        pairs: set[tuple[str, str]] = set()
        for d in self.deployments:
            if (d.provider, d.model) in pairs:
                raise ValueError(f"deployment {d.provider}/{d.model} is listed twice")
            pairs.add((d.provider, d.model))
        return self

    @classmethod
    def from_row(cls, row: ModelGroup) -> ModelGroupSpec:
        settings = ModelGroupSettings.fields_of(row)
        deployments = [DeploymentSpec.from_row(d) for d in sorted(row.deployments.all(), key=lambda d: d.id)]
        return cls.model_construct(name=row.name, deployments=deployments, **settings)

    def apply_to(self, row: ModelGroup) -> None:
        for name in MODEL_GROUP_SETTINGS:
            value = getattr(self, name)
            setattr(row, name, list(value) if isinstance(value, list) else value)


# Ensembles (routerapp.ensembling): a model name whose answer merges several models' answers.

MERGES = ("vote", "best", "synthesize")


class EnsembleSpec(Spec):
    name: Name
    # Model names, in order; a name may repeat (the same model sampled again).
    members: Annotated[list[Name], Field(min_length=1)]
    merge: str = "vote"
    # The model that synthesizes (merge: synthesize).
    judge: str = ""
    # Quorum of usable answers.
    min_members: Annotated[int, Field(ge=1)] = 1
    member_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    min_confidence: Annotated[float, Field(ge=0, le=1)] = 0.0
    enabled: bool = True

    @field_validator("judge", mode="before")
    @classmethod
    def _no_judge(cls, judge: Any) -> Any:
        return "" if judge is None else judge

    @field_validator("merge")
    @classmethod
    def _merge_is_known(cls, merge: str) -> str:
        if merge not in MERGES:
            raise ValueError(f"merge '{merge}' is not one of {', '.join(MERGES)}")
        return merge

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        if self.name in self.members:
            raise ValueError("an ensemble cannot be its own member")
        if self.judge == self.name:
            raise ValueError("the judge cannot be the ensemble itself")
        if self.merge == "synthesize" and not self.judge:
            raise ValueError("merge: synthesize needs a 'judge' model")
        if self.min_members > len(self.members):
            raise ValueError(
                f"'min_members' must be between 1 and the number of members ({len(self.members)})"
            )
        known = _known(info)
        if known is None:
            return self
        if self.name in known.models:
            raise ValueError(
                f"the name '{self.name}' is already a model name; an ensemble needs a name of its own"
            )
        for member in self.members:
            if member not in known.models and member not in known.ensembles:
                raise ValueError(f"member '{member}' is not a model or ensemble")
        if self.judge and self.judge not in known.models and self.judge not in known.ensembles:
            raise ValueError(f"judge '{self.judge}' is not a model or ensemble")
        uses = {**known.ensembles, self.name: self.uses}
        if cycle := _cycle(self.name, uses):
            raise ValueError("ensembles form a cycle: " + " -> ".join(cycle))
        return self

    @property
    def uses(self) -> tuple[str, ...]:
        """The model names this ensemble sends requests to: members, then the judge."""
        return (*self.members, *((self.judge,) if self.judge else ()))

    @staticmethod
    def fields_of(row: Ensemble) -> dict[str, Any]:
        return {name: getattr(row, name) for name in EnsembleSpec.model_fields}

    @classmethod
    def from_row(cls, row: Ensemble) -> EnsembleSpec:
        return cls.model_construct(**cls.fields_of(row))

    def apply_to(self, row: Ensemble) -> None:
        for name in EnsembleSpec.model_fields:
            if name != "name":
                value = getattr(self, name)
                setattr(row, name, list(value) if isinstance(value, list) else value)


def _cycle(start: str, uses: dict[str, tuple[str, ...]]) -> list[str] | None:
    """A path start -> ... -> start through ensembles' members and judges, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        name, path = stack.pop()
        for used in uses.get(name, ()):
            if used == start:
                return [*path, start]
            if used in uses and used not in seen:
                seen.add(used)
                stack.append((used, [*path, used]))
    return None


def ensemble_uses(data: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """What each raw config ensemble sends requests to, before it is validated (for `Known`)."""
    entries = data.get("ensembles")
    out: dict[str, tuple[str, ...]] = {}
    for e in entries if isinstance(entries, list) else ():
        if isinstance(e, dict) and isinstance(e.get("name"), str):
            members = e.get("members")
            judge = e.get("judge")
            uses = [str(m) for m in members] if isinstance(members, list) else []
            if isinstance(judge, str) and judge:
                uses.append(judge)
            out[e["name"]] = tuple(uses)
    return out


class ConfigSpec(Spec):
    """A whole config file."""

    providers: list[ProviderSpec] = Field(default_factory=list)
    models: list[ModelGroupSpec] = Field(default_factory=list)
    ensembles: list[EnsembleSpec] = Field(default_factory=list)

    @field_validator("providers", "models", "ensembles", mode="before")
    @classmethod
    def _empty_section(cls, entries: Any) -> Any:
        return [] if entries is None else entries

    @field_validator("providers", "models", "ensembles")
    @classmethod
    def _names_unique(cls, entries: list[Any], info: ValidationInfo) -> list[Any]:
        assert info.field_name is not None
        _unique(info.field_name.removesuffix("s"), [entry.name for entry in entries])
        return entries

    @field_validator("models")
    @classmethod
    def _models_have_deployments(cls, models: list[ModelGroupSpec]) -> list[ModelGroupSpec]:
        # Here, not on ModelGroupSpec: the admin validates a model before its deployment inlines.
        for m in models:
            if not m.deployments:
                raise ValueError(f"model '{m.name}' needs at least one deployment; none is listed")
        return models

    @field_validator("models")
    @classmethod
    def _no_fallback_cycles(cls, models: list[ModelGroupSpec]) -> list[ModelGroupSpec]:
        for kind in FALLBACK_KINDS:
            cycle = _find_cycle({m.name: list(getattr(m, kind)) for m in models})
            if cycle:
                raise ValueError(f"{kind} go round in a circle: {' -> '.join(cycle)}")
        return models


def _find_cycle(edges: dict[str, list[str]]) -> list[str]:
    """A path that comes back to its start, e.g. ["a", "b", "a"], or [] (depth-first, iterative)."""
    done: set[str] = set()
    for start in edges:
        if start in done:
            continue
        path, on_path = [start], {start}
        stack = [iter(edges.get(start, ()))]
        while stack:
            target = next(stack[-1], None)
            if target is None:
                stack.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                continue
            if target in on_path:
                return path[path.index(target) :] + [target]
            if target not in done and target in edges:
                path.append(target)
                on_path.add(target)
                stack.append(iter(edges[target]))
    return []


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} '{name}' is defined twice")
        seen.add(name)


def names_in(data: dict[str, Any], section: str) -> set[str]:
    """The names a raw config section defines, before it is validated (for `Known`)."""
    entries = data.get(section)
    if not isinstance(entries, list):
        return set()
    return {e["name"] for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)}


# Explaining errors in the config file's words, for the importer and the admin forms alike.

TYPE_NAMES = {
    "float_type": "a number",
    "int_type": "an integer",
    "string_type": "a string",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "list_type": "a list",
}


@dataclass(frozen=True)
class Problem:
    # Where the entry is within what was validated, e.g. ("models", 0, "deployments", 1); () for
    # the validated thing itself.
    entry: tuple[int | str, ...]
    # The key within the entry ("rpm", "headers.a"), "" for the entry as a whole.
    field: str
    text: str


def problems(exc: ValidationError, spec: type[Spec]) -> list[Problem]:
    """Each error of validating `spec`, the unknown keys of one entry together."""
    found: list[Problem] = []
    unknown: dict[tuple[int | str, ...], list[str]] = {}
    for error in exc.errors():
        entry, rest = _split(error["loc"])
        if error["type"] == "extra_forbidden":
            if entry not in unknown:
                unknown[entry] = []
                found.append(Problem(entry, "", ""))  # filled in below, in the order met
            unknown[entry].append(".".join(map(str, rest)))
            continue
        found.append(Problem(entry, ".".join(map(str, rest)), _describe(error, ".".join(map(str, rest)))))
    for i, problem in enumerate(found):
        if problem.entry in unknown and not problem.text:
            keys = sorted(unknown[problem.entry])
            owner = _spec_at(spec, problem.entry)
            what = "section(s)" if owner is ConfigSpec else "field(s)"
            allowed = ", ".join(sorted(owner.model_fields, key=_name_first))
            found[i] = Problem(
                problem.entry, keys[0], f"unknown {what} {', '.join(keys)}; allowed: {allowed}"
            )
    return found


ENTRY_LISTS: dict[str, type[Spec]] = {
    "providers": ProviderSpec,
    "models": ModelGroupSpec,
    "deployments": DeploymentSpec,
    "ensembles": EnsembleSpec,
}


def _split(loc: tuple[int | str, ...]) -> tuple[tuple[int | str, ...], tuple[int | str, ...]]:
    """("models", 0, "deployments", 1, "rpm") -> (("models", 0, "deployments", 1), ("rpm",))."""
    i = 0
    while i + 1 < len(loc) and loc[i] in ENTRY_LISTS and isinstance(loc[i + 1], int):
        i += 2
    return loc[:i], loc[i:]


def _spec_at(spec: type[Spec], entry: tuple[int | str, ...]) -> type[Spec]:
    return ENTRY_LISTS[str(entry[-2])] if entry else spec


def _name_first(field: str) -> bool:
    return field not in ("name", "provider", "model")


def _describe(error: Any, field: str) -> str:
    subject = f"'{field}' " if field else ""
    kind = error["type"]
    if kind in ("missing", "string_too_short"):
        return f"{subject}is required"
    if kind in ("model_type", "model_attributes_type"):
        return f"{subject}must be a mapping"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "greater_than_equal":
        return (
            f"{subject}must not be negative"
            if error["ctx"]["ge"] == 0
            else f"{subject}must be at least {error['ctx']['ge']}"
        )
    if kind == "greater_than":
        return f"{subject}must be more than {error['ctx']['gt']}"
    if kind == "less_than_equal":
        return f"{subject}must be at most {error['ctx']['le']}"
    if kind == "too_short":
        return f"{subject}must not be empty"
    if kind == "string_pattern_mismatch":
        return f"{subject}may only hold letters, digits, '-' and '_'"
    expected = TYPE_NAMES.get(kind)
    if expected is None:
        return f"{subject}{error['msg']}"
    if isinstance(error["input"], bool):
        return f"{subject}must be {expected}, not a boolean"
    return f"{subject}must be {expected}, got {type(error['input']).__name__}"
