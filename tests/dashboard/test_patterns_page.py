"""The Patterns page: per model name and task type, which deployment wins and by how much."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from routerapp.models import OptimizerPattern
from routerapp.observability.drafts import AttemptDraft
from routerapp.observability.writer import write_batch
from routerapp.optimizer.rebuild import rebuild_patterns
from tests.factories import create_model, create_provider, record_draft


@pytest.fixture
def learned(db):
    provider = create_provider(name="sim", kind="simulated")
    group = create_model(
        "auto", [(provider, "small"), (provider, "large")], strategy="learned", cost_weight=0.5
    )
    small, large = group.deployments.order_by("id")
    drafts = []
    for i in range(30):
        # Equally good at poems, so the cheap one wins them; only the large one writes working code.
        for deployment, cost in ((small, 0.0001), (large, 0.002)):
            task = "code" if i % 2 else "creative"
            good = task == "creative" or deployment == large
            drafts.append(
                record_draft(
                    model="auto",
                    deployment_id=deployment.id,
                    task_type=task,
                    quality_score=1.0 if good else 0.3,
                    cost_usd=cost,
                    latency_ms=100.0,
                    attempts=[AttemptDraft(deployment.id, 0, "ok", 0.0, 100.0)],
                )
            )
    write_batch(drafts)
    rebuild_patterns()
    return small, large


@pytest.fixture
def staff(client, db):
    client.force_login(User.objects.create_user("ops", password="pw-for-tests", is_staff=True))


def test_patterns_page_names_the_winner_of_each_task_type(client, staff, learned):
    small, large = learned
    assert OptimizerPattern.objects.count() == 4
    response = client.get("/dashboard/patterns/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "auto · task type code" in html and "auto · task type creative" in html
    code = html.split("auto · task type code")[1].split("</section>")[0]
    creative = html.split("auto · task type creative")[1].split("</section>")[0]
    assert f"Winner: <strong>{large.label}</strong>" in code
    assert f"Winner: <strong>{small.label}</strong>" in creative
    assert "ahead by" in creative


def test_patterns_page_polls_its_partial_and_needs_staff(client, learned):
    assert client.get("/dashboard/patterns/").status_code == 302
    client.force_login(User.objects.create_user("ops", password="pw-for-tests", is_staff=True))
    partial = client.get("/dashboard/patterns/?model=auto", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and b"<html" not in partial.content and b"task:code" in partial.content


@pytest.fixture
def clustered(db):
    """One task type, two prompt clusters of it: the small deployment is as good on the first, only
    the large one is good on the second."""
    from routerapp.optimizer import detect

    first, second = [c.id for c in detect.clusters.info if c.task_type == "creative"][:2]
    provider = create_provider(name="sim", kind="simulated")
    group = create_model(
        "auto", [(provider, "small"), (provider, "large")], strategy="learned", cost_weight=0.5
    )
    small, large = group.deployments.order_by("id")
    drafts = []
    for i in range(30):
        cluster = first if i % 2 else second
        for deployment, cost in ((small, 0.0001), (large, 0.002)):
            good = cluster == first or deployment == large
            drafts.append(
                record_draft(
                    model="auto",
                    deployment_id=deployment.id,
                    task_type="creative",
                    task_cluster=cluster,
                    quality_score=1.0 if good else 0.3,
                    cost_usd=cost,
                    latency_ms=100.0,
                    attempts=[AttemptDraft(deployment.id, 0, "ok", 0.0, 100.0)],
                )
            )
    write_batch(drafts)
    rebuild_patterns()
    return small, large, first, second


def test_patterns_page_shows_each_cluster_with_its_label_and_winner(client, staff, clustered):
    from routerapp.optimizer import detect

    small, large, first, second = clustered
    assert OptimizerPattern.objects.count() == 6  # task:creative and two clusters, two deployments each
    html = client.get("/dashboard/patterns/").content.decode()
    boards = {}
    for cluster in (first, second):
        heading = f"auto · creative · cluster {cluster}: {detect.clusters.info[cluster].label}"
        assert heading in html
        boards[cluster] = html.split(heading)[1].split("</section>")[0]
    assert f"Winner: <strong>{small.label}</strong>" in boards[first]
    assert f"Winner: <strong>{large.label}</strong>" in boards[second]
    # The task type's board comes before its clusters'.
    assert html.index("auto · task type creative") < html.index(f"cluster {first}:")


def test_the_history_detail_names_the_requests_cluster(client, staff, clustered):
    from routerapp.models import QueryRecord
    from routerapp.optimizer import detect

    *_, second = clustered
    record = QueryRecord.objects.filter(task_cluster=second).first()
    html = client.get(f"/dashboard/history/{record.request_id}/").content.decode()
    assert f"{second} · {detect.cluster_label(second)}" in html
