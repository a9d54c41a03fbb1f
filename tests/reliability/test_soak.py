"""A short soak (the full one is `make reliability`): 5 % upstream faults, nothing lost, no other error."""

from __future__ import annotations

from routerapp.models import Attempt
from tests.factories import create_key, create_model, create_provider
from tests.helpers import records
from tests.routing.test_retries import burst

N = 400


def test_under_load_with_5_percent_faults_every_request_is_answered_and_recorded(upstream, live_url):
    provider = create_provider(name="up", base_url=upstream.base_url)
    create_model(
        "m",
        [
            (provider, "ok;fail=0.05;as=500;seed=1"),
            (provider, "ok;fail=0.05;as=reset;seed=2"),
            (provider, "ok;fail=0.05;as=malformed;seed=3"),
        ],
    )
    statuses = burst(live_url, create_key(), "m", N, concurrency=8)
    assert statuses == {200: N}
    written = records()
    assert len(written) == N and all(r.status == "ok" for r in written)
    injected = Attempt.objects.filter(status="error")
    assert injected.exists()  # the faults did happen ...
    assert set(injected.values_list("error_type", flat=True)) == {
        "ProviderUnavailableError"
    }  # ... and only they
    assert sum(upstream.hits.values()) == Attempt.objects.count()  # every attempt is in the history
