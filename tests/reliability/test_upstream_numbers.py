"""Numbers an upstream reports are checked at the adapter: one bad value never reaches the history."""

from __future__ import annotations

import pytest

from routerapp.models import QuarantinedRecord
from routerapp.providers.base import MAX_TOKENS, counted
from tests.factories import create_key, create_model, create_provider
from tests.helpers import ask, records


@pytest.mark.parametrize("value", ["-5", "9223372036854775808", "1e30", '"many"', "null", "3.7", "true"])
def test_a_bad_usage_count_is_replaced_and_every_record_is_written(upstream, live_url, value):
    provider = create_provider(name="up", base_url=upstream.base_url)
    bad = f"ok;prompt_tokens={value}"
    create_model("bad", [(provider, bad)])
    create_model("good", [(provider, "ok")])
    key = create_key()
    for model in ("good", "bad", "good"):
        response = ask(live_url, key, model)
        assert response.status_code == 200, response.text
        usage = response.json()["usage"]
        assert 0 <= usage["prompt_tokens"] <= MAX_TOKENS
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    written = records()
    assert len(written) == 3 and all(r.status == "ok" and 0 <= r.prompt_tokens <= MAX_TOKENS for r in written)
    assert not QuarantinedRecord.objects.exists()  # refused at the adapter, not repaired later


def test_counted_takes_sane_counts_only():
    assert counted(12) == 12 and counted(12.9) == 12 and counted("7") == 7
    assert counted(10**12) == MAX_TOKENS
    for bad in (-5, 2**63, float("nan"), float("inf"), "x", None, True, [], {}):
        assert counted(bad) is None
