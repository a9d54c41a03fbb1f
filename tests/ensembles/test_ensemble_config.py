"""The `ensembles:` config section: imported, validated with messages naming the entry, exported back."""

from __future__ import annotations

import re

import pytest
import yaml
from django.core.management import CommandError

from routerapp.models import Ensemble
from routerapp.routing.table import load_table
from tests.helpers import stdout_of as run
from tests.helpers import write_config as write

pytestmark = pytest.mark.django_db

BASE = """
providers:
  - {name: sim, kind: simulated}
models:
  - {name: fast, deployments: [{provider: sim, model: sim-fast}]}
  - {name: smart, deployments: [{provider: sim, model: sim-smart}]}
  - {name: local, deployments: [{provider: sim, model: sim-local}]}
"""

COUNCIL = """
ensembles:
  - name: council
    members: [fast, smart, local, fast]
    merge: vote
    judge: smart
    min_members: 2
    member_timeout_s: 30
    min_confidence: 0.0
"""


def test_import_creates_the_ensemble_and_the_routing_table_knows_it(tmp_path):
    run("importconfig", write(tmp_path, BASE + COUNCIL))
    council = Ensemble.objects.get(name="council")
    assert council.members == ["fast", "smart", "local", "fast"]
    assert (council.merge, council.judge, council.min_members) == ("vote", "smart", 2)
    table = load_table()
    assert table.ensembles["council"].members == ("fast", "smart", "local", "fast")
    assert "council" in table.model_names() and table.has_model("council")


def test_export_writes_it_back_and_a_reimport_changes_nothing(tmp_path):
    run("importconfig", write(tmp_path, BASE + COUNCIL))
    exported = yaml.safe_load(run("exportconfig"))
    # Like the other sections, values equal to their defaults (merge: vote, 30 s, 0.0) are left out.
    assert exported["ensembles"] == [
        {"name": "council", "members": ["fast", "smart", "local", "fast"], "judge": "smart", "min_members": 2}
    ]
    path = tmp_path / "again.yaml"
    path.write_text(yaml.safe_dump(exported))
    assert "updated 5" in run("importconfig", str(path))
    assert yaml.safe_load(run("exportconfig")) == exported


@pytest.mark.parametrize(
    ("ensembles", "entry", "problem"),
    [
        ("[{name: c, members: [fast, ghost]}]", "ensembles[0] (c)", "member 'ghost' is not a model"),
        ("[{name: c, members: [fast], merge: shout}]", "ensembles[0] (c)", "merge 'shout'"),
        ("[{name: c, members: [fast], merge: synthesize}]", "ensembles[0] (c)", "needs a 'judge'"),
        ("[{name: c, members: [fast], judge: c}]", "ensembles[0] (c)", "judge cannot be the ensemble itself"),
        ("[{name: fast, members: [smart]}]", "ensembles[0] (fast)", "already a model name"),
        ("[{name: c, members: [fast], min_members: 2}]", "ensembles[0] (c)", "'min_members' must be between"),
        ("[{name: c, members: []}]", "ensembles[0] (c)", "'members' must not be empty"),
        (
            "[{name: c, members: [fast], min_confidence: 2}]",
            "ensembles[0] (c)",
            "'min_confidence' must be at most 1",
        ),
        ("[{name: c, members: [fast], colour: red}]", "ensembles[0] (c)", "unknown field(s) colour"),
        (
            "[{name: a, members: [fast, b]}, {name: b, members: [smart, a]}]",
            "ensembles[0] (a)",
            "cycle: a -> b -> a",
        ),
        (
            "[{name: a, members: [fast], judge: b}, {name: b, members: [a]}]",
            "ensembles[0] (a)",
            "cycle: a -> b -> a",
        ),
        (
            "[{name: c, members: [fast]}, {name: c, members: [smart]}]",
            "ensembles",
            "ensemble 'c' is defined twice",
        ),
    ],
)
def test_bad_ensembles_are_rejected_naming_the_entry(tmp_path, ensembles, entry, problem):
    path = write(tmp_path, BASE + f"ensembles: {ensembles}\n")
    with pytest.raises(CommandError) as raised:
        run("importconfig", path)
    message = str(raised.value)
    assert f"{path}: {entry}: " in message and problem in message, message
    assert not Ensemble.objects.exists()


def test_a_model_cannot_take_the_name_of_a_stored_ensemble(tmp_path):
    run("importconfig", write(tmp_path, BASE + COUNCIL))
    path = write(tmp_path, "models: [{name: council, deployments: [{provider: sim, model: x}]}]")
    with pytest.raises(CommandError, match="already an ensemble name"):
        run("importconfig", path)


def test_ensembles_of_ensembles_are_fine_without_a_cycle(tmp_path):
    text = (
        BASE + "ensembles: [{name: inner, members: [fast, smart]}, {name: outer, members: [inner, local]}]\n"
    )
    run("importconfig", write(tmp_path, text))
    assert set(load_table().ensembles) == {"inner", "outer"}


@pytest.fixture
def admin_client(client):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("root", "root@localhost", "pw-123456")
    client.force_login(user)
    return client


def admin_form(**fields) -> dict:
    return {
        "name": "council",
        "members": "fast, smart, fast",
        "merge": "vote",
        "judge": "",
        "min_members": "2",
        "member_timeout_s": "30",
        "min_confidence": "0",
        "enabled": "on",
        **fields,
    }


def test_the_admin_edits_ensembles_with_the_same_validation(tmp_path, admin_client):
    run("importconfig", write(tmp_path, BASE))
    response = admin_client.post("/admin/routerapp/ensemble/add/", admin_form())
    assert response.status_code == 302, response.content[:3000]
    assert Ensemble.objects.get(name="council").members == ["fast", "smart", "fast"]
    page = admin_client.get(f"/admin/routerapp/ensemble/{Ensemble.objects.get().pk}/change/")
    assert b"fast, smart, fast" in page.content

    bad = admin_client.post("/admin/routerapp/ensemble/add/", admin_form(name="c2", members="fast, ghost"))
    assert bad.status_code == 200 and b"member &#x27;ghost&#x27; is not a model" in bad.content
    selfjudge = admin_client.post("/admin/routerapp/ensemble/add/", admin_form(name="c3", judge="c3"))
    assert b"judge cannot be the ensemble itself" in selfjudge.content
    clash = admin_client.post(
        "/admin/routerapp/ensemble/add/", admin_form(name="fast", members="smart", min_members="1")
    )
    assert b"already a model name" in clash.content, re.findall(rb"errorlist[^<]*<li>([^<]*)", clash.content)
    assert Ensemble.objects.count() == 1
