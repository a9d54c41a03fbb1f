"""Selection strategies deliver the distribution each one promises."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest

from routerapp.providers.base import ChatRequest, ProviderConfig
from routerapp.routing import limits
from routerapp.routing.strategies import STRATEGIES, Selection, get_strategy
from routerapp.routing.strategies.latency_based import EXPLORATION, average_latency
from routerapp.routing.table import DeploymentInfo, GroupInfo
from routerapp.schema import DeploymentSettings
from tests.factories import create_key, create_model
from tests.helpers import HI, ask
from tests.routing.test_retries import burst

PROVIDER = ProviderConfig(id=1, name="p", kind="openai")


def dep(id_: int, **fields) -> DeploymentInfo:
    settings = DeploymentSettings(**fields)
    return DeploymentInfo(id=id_, group="g", provider=PROVIDER, upstream_model=f"m{id_}", settings=settings)


def selection(candidates: list[DeploymentInfo], strategy: str, **request_params) -> Selection:
    group = GroupInfo(name="g", strategy=strategy, deployments=tuple(candidates))
    request = ChatRequest(model="g", messages=HI, params=request_params)
    return Selection(request, group, list(candidates), prompt_tokens=7)


def first_picks(strategy: str, candidates: list[DeploymentInfo], n: int) -> Counter[int]:
    chosen = get_strategy(strategy)
    return Counter(chosen.order(selection(candidates, strategy))[0].id for _ in range(n))


def test_every_configured_name_has_a_strategy():
    assert set(STRATEGIES) >= {"simple-shuffle", "least-busy", "latency-based", "cost-based", "usage-based"}
    assert get_strategy("no-such-thing").name == "simple-shuffle"


def test_simple_shuffle_follows_the_weights():
    picks = first_picks("simple-shuffle", [dep(1, weight=1), dep(2, weight=2), dep(3, weight=7)], 3000)
    assert picks[1] / 3000 == pytest.approx(0.1, abs=0.03)
    assert picks[2] / 3000 == pytest.approx(0.2, abs=0.03)
    assert picks[3] / 3000 == pytest.approx(0.7, abs=0.03)


def test_simple_shuffle_keeps_every_candidate_as_a_fallback():
    order = get_strategy("simple-shuffle").order(selection([dep(1), dep(2), dep(3)], "simple-shuffle"))
    assert sorted(d.id for d in order) == [1, 2, 3]


def test_least_busy_prefers_the_deployment_with_fewer_requests_in_flight():
    strategy = get_strategy("least-busy")
    a, b, c = dep(1), dep(2), dep(3)
    strategy.started(a)
    strategy.started(a)
    strategy.started(b)
    assert [d.id for d in strategy.order(selection([a, b, c], "least-busy"))] == [3, 2, 1]
    strategy.finished(a, latency_ms=10, ok=True)
    strategy.finished(a, latency_ms=10, ok=True)
    assert strategy.order(selection([a, b], "least-busy"))[0] is a


def test_least_busy_counts_a_stream_as_in_flight_until_it_ends(up, upstream, live_url):
    create_model(
        "m",
        [(up, "ok;n=a;chunks=30;chunk_delay=50"), (up, "ok;n=b;chunks=30;chunk_delay=50")],
        strategy="least-busy",
    )
    key = create_key()
    opened = threading.Event()
    streamed_by: list[str] = []

    def long_stream() -> None:
        with httpx.stream(
            "POST",
            f"{live_url}/v1/chat/completions",
            headers={"authorization": f"Bearer {key}"},
            json={"model": "m", "messages": HI, "stream": True},
            timeout=10,
        ) as response:
            streamed_by.append(response.headers["x-router-deployment"])
            opened.set()
            response.read()

    thread = threading.Thread(target=long_stream)
    thread.start()
    assert opened.wait(5)
    answered_by = Counter(ask(live_url, key, "m").headers["x-router-deployment"] for _ in range(6))
    thread.join()
    assert streamed_by[0] not in answered_by and sum(answered_by.values()) == 6


def test_latency_based_sends_most_traffic_to_the_faster_upstream_and_still_explores(up, upstream, live_url):
    # Far apart, so that a loaded machine adding tens of ms to the fast one does not reorder them.
    create_model("m", [(up, "ok;delay=5"), (up, "ok;delay=300")], strategy="latency-based")
    key = create_key()
    burst(live_url, key, "m", 20, concurrency=4)  # warm-up: both get measured
    upstream.reset()
    burst(live_url, key, "m", 300, concurrency=4)
    fast, slow = upstream.hits["ok;delay=5"], upstream.hits["ok;delay=300"]
    assert fast + slow == 300
    assert fast / 300 >= 0.8
    assert slow >= 1  # the exploration share keeps measuring the slow one


def test_latency_based_orders_by_the_moving_average():
    strategy = get_strategy("latency-based")
    a, b, c = dep(1), dep(2), dep(3)
    for d, ms in ((a, 300), (b, 20), (c, 90)):
        strategy.finished(d, latency_ms=ms, ok=True)
    orders = Counter(
        tuple(d.id for d in strategy.order(selection([a, b, c], "latency-based"))) for _ in range(2000)
    )
    assert orders[(2, 3, 1)] / 2000 == pytest.approx(1 - EXPLORATION, abs=0.03)
    strategy.finished(b, latency_ms=10, ok=False)  # a failure counts as very slow, however fast it came
    assert average_latency(b.id) > 3000


def test_latency_based_sends_one_request_at_a_time_to_measure_a_new_deployment():
    strategy = get_strategy("latency-based")
    known, new = dep(1), dep(2)
    strategy.finished(known, latency_ms=50, ok=True)
    firsts = Counter(strategy.order(selection([known, new], "latency-based"))[0].id for _ in range(100))
    # One request takes the unmeasured deployment first; the rest of the burst is not piled onto it
    # before anyone knows whether it answers at all (exploration aside).
    assert 1 <= firsts[2] <= 1 + 15
    strategy.finished(new, latency_ms=10, ok=True)
    assert Counter(strategy.order(selection([known, new], "latency-based"))[0].id for _ in range(100))[2] > 80


def test_cost_based_picks_the_cheapest_with_headroom(stopped_clock):
    cheap = dep(1, input_cost_per_mtok=0.1, output_cost_per_mtok=0.4, rpm=2)
    mid = dep(2, input_cost_per_mtok=1.0, output_cost_per_mtok=4.0)
    dear = dep(3, input_cost_per_mtok=10.0, output_cost_per_mtok=40.0)
    assert first_picks("cost-based", [dear, mid, cheap], 50) == {1: 50}
    limits.reserve(cheap, 10)
    limits.reserve(cheap, 10)  # cheap is at its rpm for this minute
    order = get_strategy("cost-based").order(selection([dear, mid, cheap], "cost-based"))
    assert [d.id for d in order] == [2, 3, 1]


def test_usage_based_picks_the_most_headroom(stopped_clock):
    small, big = dep(1, rpm=10), dep(2, rpm=100)
    # Both untouched: a tie, broken at random.
    assert first_picks("usage-based", [small, big], 50)[1] == pytest.approx(25, abs=15)
    for _ in range(3):
        limits.reserve(small, 1)
    for _ in range(20):
        limits.reserve(big, 1)
    assert first_picks("usage-based", [small, big], 50) == {2: 50}  # 80 % left beats 70 %
    for _ in range(70):
        limits.reserve(big, 1)
    assert first_picks("usage-based", [small, big], 50) == {1: 50}  # 10 % left loses to 70 %


def test_usage_based_spreads_traffic_in_proportion_to_the_limits(up, upstream, live_url, stopped_clock):
    create_model("m", [(up, "ok;n=a", {"rpm": 20}), (up, "ok;n=b", {"rpm": 60})], strategy="usage-based")
    key = create_key()
    for _ in range(40):
        assert ask(live_url, key, "m").status_code == 200
    assert upstream.hits["ok;n=a"] == pytest.approx(10, abs=2)
    assert upstream.hits["ok;n=b"] == pytest.approx(30, abs=2)
