"""The Batches pages through Django's test client: staff only, live partials, file downloads."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from routerapp import batches
from routerapp.models import ApiKey
from tests.batches.helpers import jsonl, request_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch():
    key, _ = ApiKey.create_key("tenant")
    file = batches.create_file(
        api_key_id=key.id, filename="in.jsonl", content=jsonl([request_line("a", "m")]), purpose="batch"
    )
    return batches.submit(api_key_id=key.id, input_file_id=file.id)


def test_the_batches_pages_need_a_staff_login(client, batch):
    client.force_login(User.objects.create_user("user", password="x" * 12))
    for url in (
        "/dashboard/batches/",
        f"/dashboard/batches/{batch.pk}/",
        f"/dashboard/files/{batch.input_file_id}/",
    ):
        assert client.get(url).status_code == 302


def test_a_running_batch_polls_and_its_files_download(client, batch):
    client.force_login(User.objects.create_user("ops", password="x" * 12, is_staff=True))
    page = client.get("/dashboard/batches/").content.decode()
    assert batch.pk in page and 'hx-trigger="every 2s' in page and "<html" in page
    partial = client.get("/dashboard/batches/", HTTP_HX_REQUEST="true").content.decode()
    assert batch.pk in partial and "<html" not in partial
    detail = client.get(f"/dashboard/batches/{batch.pk}/").content.decode()
    assert "validating" in detail and "Not validated yet." in detail
    download = client.get(f"/dashboard/files/{batch.input_file_id}/")
    assert download["content-disposition"] == 'attachment; filename="in.jsonl"'
    assert b'"custom_id": "a"' in download.content
    assert client.get("/dashboard/batches/batch_nope/").status_code == 404

    batches.cancel(batch.pk)
    finished = client.get("/dashboard/batches/").content.decode()
    assert "hx-trigger" not in finished  # nothing running: the page stops polling
