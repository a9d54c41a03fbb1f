"""The pattern store and the chooser that live routing and replay share."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from routerapp.optimizer.chooser import Option, expected_quality, rank
from routerapp.optimizer.patterns import PatternStore


def test_evidence_fades_so_an_arm_left_alone_is_tried_again():
    store = PatternStore(gamma=0.99)
    for _ in range(100):
        store.observe("task:code", "a", quality=0.2)
    # A geometric sum: 1 + γ + … + γ^99.
    assert store.arm("task:code", "a").n == pytest.approx((1 - 0.99**100) / (1 - 0.99))
    for _ in range(300):
        store.observe("task:code", "b", quality=0.9)
    faded = store.arm("task:code", "a")
    assert faded.n < 4 and faded.mean_quality == pytest.approx(0.2)
    # Other patterns are not touched by this one's traffic.
    store.observe("task:math", "a", quality=1.0)
    assert store.arm("task:math", "a").n == 1


def test_stored_aggregates_count_as_much_as_the_memory_keeps():
    store = PatternStore(gamma=0.995)
    store.seed("task:qa", 7, count=10_000, quality_mean=0.8, latency_ms_mean=120.0, cost_usd_mean=0.002)
    arm = store.arm("task:qa", 7)
    assert arm.n == pytest.approx(200) and arm.mean_quality == pytest.approx(0.8)
    assert arm.mean_latency_ms == pytest.approx(120.0) and arm.mean_cost_usd == pytest.approx(0.002)


def test_rescore_replaces_a_score_or_adds_an_answer():
    store = PatternStore()
    store.observe("task:code", "a", quality=1.0)
    store.rescore("task:code", "a", quality_delta=-1.0)
    assert store.arm("task:code", "a").mean_quality == pytest.approx(0.0)
    store.rescore("task:code", "a", quality_delta=1.0, count_delta=1)
    assert store.arm("task:code", "a").n == pytest.approx(2, rel=0.01)


def test_rank_trades_quality_against_relative_cost():
    store = PatternStore()
    for _ in range(150):
        store.observe("p", "cheap", quality=0.9)
        store.observe("p", "dear", quality=0.95)
    options = [Option("cheap", 0.001), Option("dear", 0.01)]
    rng = random.Random(1)
    # λ = 0: the better one; λ = 0.5: 0.05 of quality is not worth 90 % of the price.
    firsts = Counter(rank(store, "p", options, cost_weight=0.0, rng=rng)[0].key for _ in range(200))
    assert firsts["dear"] > 150
    firsts = Counter(rank(store, "p", options, cost_weight=0.5, rng=rng)[0].key for _ in range(200))
    assert firsts["cheap"] == 200
    ranked = rank(store, "p", options, cost_weight=0.5, rng=rng)
    assert ranked[-1].relative_cost == 1.0 and ranked[0].relative_cost == pytest.approx(0.1)
    assert expected_quality(store.arm("p", "dear")) == pytest.approx(0.95, abs=0.02)


def test_a_cluster_backs_off_to_its_task_type_until_it_has_answers_of_its_own():
    from routerapp.optimizer.patterns import BACKOFF_ANSWERS

    store = PatternStore(gamma=1.0)
    for _ in range(100):
        store.observe("task:creative", "a", quality=0.9)
    # A cluster nobody routed yet: its view is the task type's mean, worth BACKOFF_ANSWERS answers.
    fresh = store.view("cluster:3", "a", "task:creative")
    assert fresh.n == pytest.approx(BACKOFF_ANSWERS) and fresh.mean_quality == pytest.approx(0.9)
    assert store.arm("cluster:3", "a").n == 0  # the view changed nothing stored
    # Its own answers, worse than the type's, soon outweigh the type's.
    for _ in range(40):
        store.observe("cluster:3", "a", quality=0.1)
    seen = store.view("cluster:3", "a", "task:creative")
    assert seen.n == pytest.approx(40 + BACKOFF_ANSWERS)
    assert seen.mean_quality == pytest.approx((40 * 0.1 + BACKOFF_ANSWERS * 0.9) / (40 + BACKOFF_ANSWERS))
    assert seen.mean_quality < 0.25
    # Without a coarser pattern, or backing off to itself, the view is the arm.
    assert store.view("task:creative", "a", None) is store.arm("task:creative", "a")
    assert store.view("task:creative", "a", "task:creative") is store.arm("task:creative", "a")
