"""Learned routing through the front door: the real server, the official SDK, the JSON API."""

from __future__ import annotations

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils import timezone

from routerapp import tasks
from routerapp.models import OptimizerPattern, Provider, QueryRecord
from routerapp.optimizer.feedback import record_feedback
from routerapp.optimizer.learning import live
from tests.factories import create_key, create_model, create_provider
from tests.helpers import flush_history

CHEAP = {"input_cost_per_mtok": 0.1, "output_cost_per_mtok": 0.1}
DEAR = {"input_cost_per_mtok": 10.0, "output_cost_per_mtok": 30.0}
THINGS = ["list", "string", "tree", "graph", "queue", "matrix", "file", "date", "order", "user"]
ACTIONS = ["reverses", "sorts", "validates", "merges", "counts the items in", "flattens"]


def code_prompt(i: int) -> list[dict]:
    """A different code request each time (the simulated provider draws quality per text)."""
    action, thing = ACTIONS[i % len(ACTIONS)], THINGS[(i // len(ACTIONS)) % len(THINGS)]
    return [{"role": "user", "content": f"Write a python function that {action} a {thing} number {i}."}]


def simulated(name: str, quality: float) -> Provider:
    return create_provider(
        name=name, kind="simulated", options={"latency_ms": 0, "jitter_ms": 0, "quality": quality, "seed": 3}
    )


@pytest.fixture
def two_deployments(live_url):
    cheap, dear = simulated("cheap", 1.0), simulated("dear", 1.0)
    group = create_model(
        "auto", [(cheap, "m", CHEAP), (dear, "m", DEAR)], strategy="learned", cost_weight=0.1
    )
    return cheap, dear, group


def ask(client, i: int) -> tuple[str, str]:
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=code_prompt(i))
    return raw.headers["x-router-deployment"], raw.headers["x-request-id"]


def test_feedback_through_the_api_moves_the_pattern(two_deployments, client_for, live_url):
    key, other = create_key(name="alice"), create_key(name="bob")
    _, request_id = ask(client_for(key), 0)
    flush_history()
    tasks.learn_patterns()
    record = QueryRecord.objects.get(request_id=request_id)
    assert record.task_type == "code" and record.quality_score == 1.0
    row = OptimizerPattern.objects.get(pattern="task:code", deployment_id=record.deployment_id)
    assert (row.count, row.quality_mean) == (1, 1.0)

    url = f"{live_url}/api/queries/{request_id}/feedback"
    # Only the key that made the request may rate it; to another it does not exist.
    denied = httpx.post(url, headers={"authorization": f"Bearer {other}"}, json={"score": 0.0})
    assert denied.status_code == 404 and denied.json()["error"]["code"] == "not_found"
    assert httpx.post(url, json={"score": 0.0}).status_code == 401
    bad = httpx.post(url, headers={"authorization": f"Bearer {key}"}, json={"score": 1.5})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "score"

    response = httpx.post(
        url, headers={"authorization": f"Bearer {key}"}, json={"score": 0.0, "comment": "does not run"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["score"] == 0.0 and response.json()["quality_score"] == 1.0
    row.refresh_from_db()
    assert (row.count, row.quality_mean, row.feedback_count) == (1, 0.0, 1)
    # The server's snapshot moved too, without waiting for the learning task ...
    assert live.snapshot().arm("task:code", record.deployment_id).mean_quality == pytest.approx(0.0, abs=1e-9)
    # ... and the learning task keeps the feedback over the answer's own score.
    tasks.learn_patterns()
    row.refresh_from_db()
    assert (row.count, row.quality_mean) == (1, 0.0)
    record.refresh_from_db()
    assert record.feedback_comment == "does not run" and record.effective_score == 0.0


def test_a_staff_session_may_rate_any_request(two_deployments, client_for, client):
    _, request_id = ask(client_for(create_key(name="carol")), 1)
    flush_history()
    client.force_login(User.objects.create_user("ops", password="pw-for-tests", is_staff=True))
    response = client.post(
        f"/api/queries/{request_id}/feedback", {"score": 0.25}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert QueryRecord.objects.get(request_id=request_id).feedback_score == 0.25
    missing = client.post("/api/queries/nope/feedback", {"score": 1}, content_type="application/json")
    assert missing.status_code == 404


def test_learned_switches_deployment_when_one_degrades(two_deployments, client_for):
    cheap, _, _ = two_deployments
    client = client_for(create_key())
    # Equally good: the cheap deployment wins once both have been tried. How soon is chance: when
    # the first answers happen to come from the dear one, Thompson sampling keeps to it until the
    # cheap one's draws catch up (seen to take 30 requests), so the test looks at 40 to 60.
    first = [ask(client, i)[0] for i in range(60)]
    assert first[-20:].count("cheap/m") >= 15, first  # exploration still tries the other now and then
    # The cheap one starts writing unfinished code (a `pass` body: the answer's checks score it 0.3).
    cheap.options = {**cheap.options, "quality": 0.0}
    cheap.save()
    after = [ask(client, i)[0] for i in range(60, 120)]
    assert after[-20:].count("dear/m") >= 15, after
    flush_history()
    degraded = QueryRecord.objects.filter(deployment__provider=cheap, id__gt=0).order_by("-id").first()
    assert degraded.quality_problems == ["unfinished_code"]


def test_patterns_survive_history_pruning(two_deployments, client_for):
    client = client_for(create_key())
    for i in range(5):
        ask(client, i)
    flush_history()
    tasks.learn_patterns()
    before = {(r.pattern, r.deployment_id): r.count for r in OptimizerPattern.objects.all()}
    # Each answer counts for its task type and for its prompt cluster.
    assert sum(c for (p, _), c in before.items() if p.startswith("task:")) == 5
    assert sum(c for (p, _), c in before.items() if p.startswith("cluster:")) == 5
    QueryRecord.objects.all().delete()  # what pruning does to old history
    tasks.learn_patterns()
    after = {(r.pattern, r.deployment_id): r.count for r in OptimizerPattern.objects.all()}
    assert after == before


def test_a_judge_model_grades_sampled_answers_in_the_worker(live_url, client_for, upstream):
    grader = create_provider(name="grader-up", kind="openai", base_url=upstream.base_url)
    create_model("grader", [(grader, "words=Grade:_7/10")])
    cheap, dear = simulated("cheap", 1.0), simulated("dear", 1.0)
    create_model(
        "auto",
        [(cheap, "m", CHEAP), (dear, "m", DEAR)],
        strategy="learned",
        judge_model="grader",
        judge_sample_rate=1.0,
    )
    _, request_id = ask(client_for(create_key()), 7)
    flush_history()
    record = QueryRecord.objects.get(request_id=request_id)
    assert record.judge_pending and record.quality_score == 1.0

    assert tasks.judge_answers() == "1 of 1 answers graded"
    record.refresh_from_db()
    assert (record.judge_score, record.judge_pending, record.effective_score) == (0.7, False, 0.7)
    judged = upstream.last["messages"][-1]["content"]
    assert "Write a python function" in judged and "def " in judged
    row = OptimizerPattern.objects.get(pattern="task:code", deployment_id=record.deployment_id)
    assert (row.count, row.quality_mean) == (1, pytest.approx(0.7))
    # Feedback outranks the judge.
    record_feedback(record.request_id, 1.0)
    row.refresh_from_db()
    assert (row.count, row.quality_mean) == (1, pytest.approx(1.0))


def test_patterns_rebuilt_in_another_process_reach_this_one_without_a_shared_cache(db):
    # The task worker rebuilds the rows and stamps its own (local-memory) cache: nothing arrives
    # here through the cache, so the rows themselves must say they changed.
    provider = create_provider(name="sim", kind="simulated")
    a, b = create_model("m", [(provider, "a"), (provider, "b")]).deployments.order_by("id")
    OptimizerPattern.objects.create(
        pattern="task:code", deployment=a, count=10, quality_mean=0.2, rebuilt_at=timezone.now()
    )
    cache.clear()
    live.reload()
    assert live.snapshot().arm("task:code", a.id).mean_quality == pytest.approx(0.2)

    # A rebuild in the worker: the rows are rewritten with a new rebuilt_at.
    rebuilt = timezone.now()
    OptimizerPattern.objects.filter(deployment=a).update(quality_mean=0.9, rebuilt_at=rebuilt)
    OptimizerPattern.objects.create(
        pattern="task:code", deployment=b, count=10, quality_mean=0.5, rebuilt_at=rebuilt
    )
    cache.clear()  # as if written by a process with a cache of its own
    snapshot = live.snapshot()
    assert snapshot.arm("task:code", a.id).mean_quality == pytest.approx(0.9)
    assert snapshot.arm("task:code", b.id).mean_quality == pytest.approx(0.5)


def test_a_reload_after_feedback_keeps_what_this_process_learned_since_the_last_rebuild(db):
    # Feedback moves a row's updated_at, which makes every process reload its snapshot from the rows.
    # The rows hold only what the last rebuild counted: the answers this process scored since then
    # must be replayed, not dropped (they were, and learned routing forgot everything it had seen).
    provider = create_provider(name="sim", kind="simulated")
    a, b = create_model("m", [(provider, "a"), (provider, "b")]).deployments.order_by("id")
    live.reload()
    for _ in range(40):
        live.observe(  # an answer teaches its task type and its cluster
            ("task:code", "cluster:3"),
            a.id,
            quality=0.9,
            latency_ms=10.0,
            cost_usd=0.001,
            completion_tokens=5.0,
        )
        live.observe(
            ("task:code",), b.id, quality=0.2, latency_ms=10.0, cost_usd=0.001, completion_tokens=5.0
        )
    # Feedback writes a row (no rebuild): the snapshot keeps what it learned, feedback included.
    OptimizerPattern.objects.create(pattern="task:code", deployment=b, count=1, quality_mean=1.0)
    assert live.snapshot().arm("task:code", a.id).n == pytest.approx(40, rel=0.2)
    # A reload (after a rebuild, or a restart) replays what it scored since the last rebuild.
    live.reload()
    snapshot = live.snapshot()
    assert snapshot.arm("task:code", a.id).n == pytest.approx(40, rel=0.2)
    assert snapshot.arm("task:code", a.id).mean_quality == pytest.approx(0.9)
    assert snapshot.arm("cluster:3", a.id).n == pytest.approx(40, rel=0.2)
    assert snapshot.arm("cluster:3", a.id).mean_latency_ms == pytest.approx(10.0)
    assert snapshot.arm("task:code", b.id).n > 30
