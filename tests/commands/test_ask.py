"""`manage.py ask MODEL "prompt"`: one request through route(), streamed, then who answered and what it cost."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from routerapp.models import QueryRecord
from tests.factories import create_model, create_provider
from tests.helpers import run_command as run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def models(upstream):
    provider = create_provider(name="up", base_url=upstream.base_url)
    dead = create_provider(name="dead", base_url=upstream.base_url)
    create_model("gpt-test", [(provider, "words=the_answer_streams_here")])
    create_model("with-fallback", [(dead, "err=500")], num_retries=0, fallbacks=["gpt-test"])


def test_it_streams_the_answer_and_reports_deployment_cost_and_latency(models, upstream):
    out, err = run("ask", "gpt-test", "what is up?", "--system", "be brief", "--max-tokens", "50")
    assert out.strip() == "the answer streams here"
    assert "deployment  up/words=the_answer_streams_here" in err
    assert "latency" in err and "cost        $" in err
    assert upstream.last["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "what is up?"},
    ]
    assert upstream.last["max_tokens"] == 50 and upstream.last["stream"] is True
    record = QueryRecord.objects.get()
    assert record.status == "ok" and record.stream and record.deployment.label.startswith("up/")
    assert record.request_id in err


def test_it_shows_the_fallback_path(models):
    _, err = run("ask", "with-fallback", "hi")
    assert "attempts    dead/err=500 (ProviderUnavailableError) → up/words=the_answer_streams_here" in err
    assert QueryRecord.objects.get().fallback_used


def test_a_failed_request_exits_with_one_line_and_is_recorded(models):
    with pytest.raises(CommandError, match=r"^ModelNotFoundError: The model 'nope' does not exist"):
        run("ask", "nope", "hi")
    assert QueryRecord.objects.get().error_type == "ModelNotFoundError"
    with pytest.raises(CommandError, match="'temperature' must be a number between 0 and 2"):
        run("ask", "gpt-test", "hi", "--temperature", "7")


def test_ask_as_a_subprocess(shell):
    done = shell("ask", "gpt-test", "hello?")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello from the shell"
    assert "deployment  up/" in done.stderr
    failed = shell("ask", "broken", "hello?")
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1].startswith("CommandError: ProviderUnavailableError")
