"""Prompt clusters: assignment, the shipped artifact, and learning per cluster live and in replay."""

from __future__ import annotations

import httpx
import orjson
import pytest

from routerapp import tasks
from routerapp.models import OptimizerPattern, QueryRecord
from routerapp.optimizer import clusters as clustering
from routerapp.optimizer import detect as detection
from routerapp.optimizer import replay
from routerapp.optimizer.detect import detect
from routerapp.optimizer.learning import live
from tests.factories import create_key, create_model, create_provider
from tests.helpers import flush_history

THEMES = ["the sea", "autumn", "a city at night", "my grandmother", "the moon", "a lost dog", "winter"]
PEOPLE = ["my landlord", "a colleague", "my manager", "a client", "the school", "a supplier", "the bank"]
ASKS = ["help with the heating", "the late report", "a day off", "a refund", "a meeting next week"]
PRICE = {"input_cost_per_mtok": 1.0, "output_cost_per_mtok": 1.0}


def poem(i: int) -> str:
    return f"Write a short poem about {THEMES[i % len(THEMES)]}, number {i}."


def email(i: int) -> str:
    return f"Write an email to {PEOPLE[i % len(PEOPLE)]} asking for {ASKS[i % len(ASKS)]}, number {i}."


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def family_cluster(make) -> int:
    """The one cluster every prompt of a family lands in (fails if the family is split)."""
    found = {(d.task_type, d.cluster) for d in (detect(user(make(i))) for i in range(30))}
    assert len(found) == 1, found
    ((task, cluster),) = found
    assert task == "creative" and cluster is not None
    return cluster


def test_the_shipped_clusters_belong_to_the_shipped_detector():
    # Retraining the detector without refitting the clusters (make train-classifier does both) fails here.
    assert detection.clusters is not None, "clusters.npz missing or fitted to another detector"
    assert detection.clusters.fingerprint == detection._classifier.fingerprint
    assert {c.task_type for c in detection.clusters.info} == set(detection.TASK_TYPES)
    assert all(c.label and c.size > 0 for c in detection.clusters.info)


def test_the_same_prompt_always_gets_the_same_cluster():
    prompt = user("Write a SQL query that returns the ten customers with the most orders last month.")
    first = detect(prompt).cluster
    assert first is not None
    assert all(detect(prompt).cluster == first for _ in range(5))
    # A fresh load of the artifact assigns it the same way.
    again = clustering.Clusters(clustering.ARTIFACT, detection._classifier.index, detection.TASK_TYPES)
    unique, x = detection._classifier.vector(detection._classifier.ids(detection.parts(prompt)))
    assert again.assign(detect(prompt).task_type, unique, x) == first


def test_a_cluster_belongs_to_the_detected_task_type():
    for text in ("What is 17 times 23?", "Who wrote Pride and Prejudice?", poem(1), email(2)):
        d = detect(user(text))
        assert detection.clusters.info[d.cluster].task_type == d.task_type


def test_two_prompt_families_of_one_task_type_land_in_different_clusters():
    assert family_cluster(poem) != family_cluster(email)
    assert "creative" in detection.cluster_label(family_cluster(poem))


@pytest.fixture
def by_family(live_url):
    """Two equally priced deployments: 'poet' is good at poems and bad at emails, 'clerk' the other
    way round; on the creative task type as a whole they are equal."""
    poems, emails = f"cluster:{family_cluster(poem)}", f"cluster:{family_cluster(email)}"
    options = {"latency_ms": 0, "jitter_ms": 0, "seed": 3}
    poet = create_provider(
        name="poet", kind="simulated", options={**options, "quality": {poems: 1.0, emails: 0.0}}
    )
    clerk = create_provider(
        name="clerk", kind="simulated", options={**options, "quality": {poems: 0.0, emails: 1.0}}
    )
    return create_model(
        "auto", [(poet, "m", PRICE), (clerk, "m", PRICE)], strategy="learned", cost_weight=0.0
    )


def ask(client, text: str) -> tuple[str, str]:
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=user(text))
    return raw.headers["x-router-deployment"], raw.headers["x-request-id"]


def rated(client, key: str, url: str, text: str) -> str:
    """Ask, then rate the answer through the feedback API as a user would (the answer's own checks
    cannot tell a weak poem from a good one): 1 when the simulated answer was a good one, else 0."""
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=user(text))
    good = raw.http_response.json()["x_simulated"]["good"]
    response = httpx.post(
        f"{url}/api/queries/{raw.headers['x-request-id']}/feedback",
        headers={"authorization": f"Bearer {key}"},
        json={"score": 1.0 if good else 0.0},
    )
    assert response.status_code == 200, response.text
    return raw.headers["x-router-deployment"]


def test_learned_routes_two_families_of_one_type_to_different_deployments(by_family, client_for, live_url):
    key = create_key()
    client = client_for(key)
    chosen: dict[str, list[str]] = {"poem": [], "email": []}
    for i in range(50):
        chosen["poem"].append(rated(client, key, live_url, poem(i)))
        chosen["email"].append(rated(client, key, live_url, email(i)))
        if i % 5 == 4:  # the learning task's schedule, compressed
            flush_history()
            tasks.learn_patterns()
    assert chosen["poem"][-15:].count("poet/m") >= 13, chosen["poem"]
    assert chosen["email"][-15:].count("clerk/m") >= 13, chosen["email"]
    flush_history()
    record = QueryRecord.objects.filter(deployment__provider__name="poet").order_by("-id").first()
    assert record.task_type == "creative" and record.task_cluster in (
        family_cluster(poem),
        family_cluster(email),
    )


def test_feedback_through_the_api_moves_the_cluster_pattern(by_family, client_for, live_url):
    key = create_key()
    deployment, request_id = ask(client_for(key), poem(0))
    flush_history()
    tasks.learn_patterns()
    record = QueryRecord.objects.get(request_id=request_id)
    pattern = f"cluster:{record.task_cluster}"
    assert record.task_cluster == family_cluster(poem)
    row = OptimizerPattern.objects.get(pattern=pattern, deployment_id=record.deployment_id)
    assert row.count == 1
    before = row.quality_mean
    response = httpx.post(
        f"{live_url}/api/queries/{request_id}/feedback",
        headers={"authorization": f"Bearer {key}"},
        json={"score": 1.0 - before},
    )
    assert response.status_code == 200, response.text
    assert response.json()["task_cluster"] == record.task_cluster
    row.refresh_from_db()
    assert (row.count, row.quality_mean, row.feedback_count) == (1, 1.0 - before, 1)
    arm = live.snapshot().arm(pattern, record.deployment_id)
    assert arm.mean_quality == pytest.approx(1.0 - before, abs=1e-9)
    # The task type's row moved the same way.
    task_row = OptimizerPattern.objects.get(pattern="task:creative", deployment_id=record.deployment_id)
    assert task_row.quality_mean == 1.0 - before


def test_replay_picks_each_clusters_best_within_one_task_type(tmp_path):
    lines = []
    for i in range(300):
        is_poem = i % 2 == 0
        results = {
            "poet": {"score": 1.0 if is_poem else 0.0, "cost_usd": 0.001},
            "clerk": {"score": 0.0 if is_poem else 1.0, "cost_usd": 0.001},
        }
        lines.append({"id": f"q{i}", "prompt": poem(i) if is_poem else email(i), "results": results})
    path = tmp_path / "families.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines))
    prompts = replay.read_workload(path)
    assert {p.pattern for p in prompts} == {"task:creative"}
    assert len({p.cluster for p in prompts}) == 2
    by_cluster = replay.replay_pass(prompts, 0.0)
    by_type = replay.replay_pass(prompts, 0.0, clusters=False)
    # Per cluster each family finds its model; per task type both look like a coin flip.
    assert by_cluster.last_10pct_score >= 0.9
    assert by_cluster.mean_score > by_type.mean_score + 0.2
