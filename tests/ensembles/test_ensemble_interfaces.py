"""Ensembles through the other interfaces that call route(): the shell's `ask` (and with it the
playground, which shares routing.interactive), and simulated members sampled with their own seeds."""

from __future__ import annotations

import asyncio

import pytest

from routerapp.models import QueryRecord
from routerapp.providers.base import ChatRequest, ProviderConfig, Timeouts
from routerapp.providers.simulated import SimulatedAdapter
from tests.factories import create_ensemble, create_model, create_provider
from tests.helpers import flush_history
from tests.helpers import run_command as run


@pytest.mark.django_db(transaction=True)
def test_ask_streams_an_ensembles_merged_answer(upstream):
    up = create_provider(name="up", base_url=upstream.base_url)
    create_model("a", [(up, "words=forty_two")])
    create_model("b", [(up, "words=forty_two")])
    create_ensemble("council", ["a", "b"])
    out, err = run("ask", "council", "what is six times seven?")
    assert out.strip() == "forty two"
    assert "up/words=forty_two" in err
    flush_history()
    record = QueryRecord.objects.get(model="council")
    assert record.status == "ok" and record.stream and record.attempts.count() == 2


def test_the_simulated_answer_depends_on_the_requests_seed():
    provider = ProviderConfig(
        id=1, name="sim", kind="simulated", options={"latency_ms": 0, "jitter_ms": 0, "quality": 0.5}
    )
    adapter = SimulatedAdapter(provider)
    question = [{"role": "user", "content": "What is 123 plus 456 times 7?"}]

    def answers(seed: int | None) -> str:
        params = {} if seed is None else {"seed": seed}
        request = ChatRequest(model="m", messages=question, params=params)
        return asyncio.run(adapter.complete(request, "m", Timeouts(total=5))).content

    # The same seed gives the same answer; across seeds, at quality 0.5, both right and wrong appear.
    assert answers(3) == answers(3)
    assert answers(None) == answers(None)
    assert len({answers(seed) for seed in range(12)}) > 1
