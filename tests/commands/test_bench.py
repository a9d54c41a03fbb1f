"""`manage.py bench load`: a load run with a progress bar and a result table."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from routerapp.models import ApiKey, QueryRecord
from tests.factories import create_key, create_model, create_provider
from tests.helpers import run_command as run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def models(upstream):
    provider = create_provider(name="up", base_url=upstream.base_url)
    create_model("gpt-test", [(provider, "ok")])
    create_model("half", [(provider, "fail=0.5;seed=3")], num_retries=0)


def table(out: str) -> dict[str, str]:
    header, values = out.splitlines()[:2]
    return dict(
        zip(header.replace(" ms", "_ms").replace("ttft p50", "ttft").split(), values.split(), strict=True)
    )


def test_in_process_run_sends_every_request_and_prints_a_table(models, upstream):
    out, err = run("bench", "load", "--model", "gpt-test", "-n", "12", "-c", "3")
    row = table(out)
    assert row["requests"] == "12" and row["ok"] == "12" and row["errors"] == "0"
    assert "up/ok" in out  # answered by
    assert "12/12" in err  # the progress bar finished
    assert upstream.hits["ok"] == 12
    assert QueryRecord.objects.filter(status="ok").count() == 12
    assert not ApiKey.objects.exists()  # the temporary key is gone


def test_streamed_run_counts_failures_by_type(models):
    out, _ = run("bench", "load", "--model", "half", "-n", "10", "-c", "2", "--stream")
    row = table(out)
    assert int(row["ok"]) + int(row["errors"]) == 10 and int(row["errors"]) > 0
    assert row["ttft"] != "-"  # streamed: time to first token measured
    failures = out.split("\n\n")[-1].splitlines()
    assert failures[0].startswith("error") and failures[1].split() == ["api_error", row["errors"]]


def test_run_against_a_running_server(models, live_url):
    key = create_key()
    out, _ = run("bench", "load", "--url", live_url, "--key", key, "--model", "gpt-test", "-n", "5")
    assert table(out)["ok"] == "5"


def test_bad_arguments_exit_with_a_reason(models):
    with pytest.raises(CommandError, match="--requests must be at least 1"):
        run("bench", "load", "--model", "gpt-test", "-n", "0")
    with pytest.raises(CommandError, match="--url needs a client key"):
        run("bench", "load", "--model", "gpt-test", "--url", "http://127.0.0.1:9")
    with pytest.raises(CommandError, match="invalid choice"):
        run("bench", "nonsense")


def test_bench_as_a_subprocess(shell):
    done = shell("bench", "load", "--model", "gpt-test", "-n", "4", "-c", "2")
    assert done.returncode == 0, done.stderr
    assert table(done.stdout)["ok"] == "4"
    helped = shell("bench", "--help")
    assert helped.returncode == 0 and "load" in helped.stdout
