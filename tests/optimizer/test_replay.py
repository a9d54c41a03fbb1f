"""`manage.py replay` on a small workload whose best answer is known."""

from __future__ import annotations

import io

import orjson
import pytest
from django.core.management import CommandError, call_command


def workload(tmp_path, n: int = 300):
    """Model a is right on code, b on poems, c on both at ten times the price."""
    lines = []
    for i in range(n):
        code = i % 2 == 0
        prompt = (
            f"Write a python function that reverses list number {i}."
            if code
            else f"Write a short poem about rain {i}."
        )
        results = {
            "a": {"score": 1.0 if code else 0.0, "cost_usd": 0.01},
            "b": {"score": 0.0 if code else 1.0, "cost_usd": 0.01},
            "c": {"score": 1.0, "cost_usd": 0.1, "latency_ms": 900},
        }
        lines.append(orjson.dumps({"id": f"q{i}", "prompt": prompt, "results": results}))
    path = tmp_path / "workload.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("replay", *args, stdout=out)
    return out.getvalue()


def test_replay_finds_the_cheap_model_that_is_right_for_each_kind_of_prompt(tmp_path):
    report = orjson.loads(run(str(workload(tmp_path)), "--cost-weights", "0,0.5", "--json"))
    quality_first, balanced = report["points"]
    assert set(balanced) >= {"cost_weight", "mean_score", "mean_cost_usd", "shares", "last_10pct_score"}
    # λ = 0.5: paying ten times more for no better score is not worth it.
    assert balanced["cost_weight"] == 0.5
    assert balanced["shares"]["c"] < 0.1
    assert balanced["shares"]["a"] == pytest.approx(0.5, abs=0.08)
    assert balanced["shares"]["b"] == pytest.approx(0.5, abs=0.08)
    assert balanced["mean_score"] > 0.9 and balanced["last_10pct_score"] == 1.0
    assert balanced["mean_cost_usd"] < 0.02
    # λ = 0: only quality counts, and c is never wrong.
    assert quality_first["mean_score"] > 0.9
    assert sum(quality_first["shares"].values()) == pytest.approx(1.0)

    baselines = report["baselines"]
    assert baselines["always"]["a"] == {"mean_score": 0.5, "mean_cost_usd": 0.01, "prompts": 300}
    assert baselines["always"]["c"]["mean_score"] == 1.0
    assert baselines["random"]["mean_score"] == pytest.approx(2 / 3, abs=1e-6)
    assert baselines["random"]["mean_cost_usd"] == pytest.approx(0.04)
    assert baselines["oracle"] == {"mean_score": 1.0, "mean_cost_usd": 0.01, "prompts": 300}


def test_replay_is_reproducible_and_draws_the_curve(tmp_path):
    path = workload(tmp_path, 120)
    plot = tmp_path / "curve.png"
    first = run(str(path), "--cost-weights", "0.25", "--json", "--plot", str(plot))
    assert first == run(str(path), "--cost-weights", "0.25", "--json")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = run(str(path), "--cost-weights", "0.25")
    assert "learned λ=0.25" in table and "oracle" in table and "always c" in table


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"id": "x", "results": {"a": {"score": 1}}}', "needs 'prompt'"),
        (b'{"prompt": "hi", "results": {"a": {"score": 2, "cost_usd": 0}}}', "results.a.score"),
        (b'{"prompt": "hi", "results": {}}', "'results' must map"),
    ],
)
def test_a_bad_line_is_named(tmp_path, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"prompt": "hi", "results": {"a": {"score": 1, "cost_usd": 0}}}\n' + line + b"\n")
    with pytest.raises(CommandError, match=rf"bad.jsonl:2: .*{problem}"):
        run(str(path))
