"""One bad row never takes its history batch with it: retried row by row, quarantined, repaired."""

from __future__ import annotations

import pytest

from routerapp.models import ApiKey, QuarantinedRecord, QueryRecord
from routerapp.observability.drafts import AttemptDraft
from routerapp.observability.writer import HistoryWriter
from tests.factories import create_key, record_draft

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def writer():
    writer = HistoryWriter()
    yield writer
    writer.flush()
    writer._stopping = True  # its thread leaves its loop within a second


def test_a_bad_row_is_quarantined_and_the_rest_of_its_batch_is_written(writer):
    create_key(name="tenant")
    key_id = ApiKey.objects.get(name="tenant").id
    good = [record_draft(api_key_id=key_id, cost_usd=0.5) for _ in range(60)]
    bad = record_draft(api_key_id=key_id, prompt_tokens=-5, completion_tokens=2**63, cost_usd=float("nan"))
    bad.attempts.append(AttemptDraft(deployment_id=None, retry=0, status="ok", start_ms=0, latency_ms=1))
    for draft in [*good[:30], bad, *good[30:]]:
        writer.submit(draft)
    writer.flush()

    assert QueryRecord.objects.count() == 61  # the bad one too, repaired
    quarantined = QuarantinedRecord.objects.get()
    assert quarantined.request_id == bad.request_id and quarantined.repaired
    assert quarantined.draft["prompt_tokens"] == -5
    assert quarantined.draft["completion_tokens"] == str(2**63)  # kept as it came, as text
    assert quarantined.error
    repaired = QueryRecord.objects.get(request_id=bad.request_id)
    assert (repaired.prompt_tokens, repaired.completion_tokens, repaired.cost_usd) == (0, 2**31 - 1, 0.0)
    assert repaired.attempts.count() == 1
    # The unrelated records' spend was saved.
    assert float(ApiKey.objects.get(id=key_id).spent_usd) == pytest.approx(30.0)


def test_a_good_batch_quarantines_nothing(writer):
    for _ in range(10):
        writer.submit(record_draft())
    writer.flush()
    assert QueryRecord.objects.count() == 10
    assert not QuarantinedRecord.objects.exists()
