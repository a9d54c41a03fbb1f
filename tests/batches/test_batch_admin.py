"""The admin shows batches, their files and lines (read-only) and cancels through the core function."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import User

from routerapp import batches
from routerapp.models import ApiKey, Batch
from tests.batches.helpers import jsonl, request_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", password="x" * 12))
    return client


def make_batch() -> Batch:
    key, _ = ApiKey.create_key("tenant")
    file = batches.create_file(
        api_key_id=key.id, filename="in.jsonl", content=jsonl([request_line("a", "m")]), purpose="batch"
    )
    return batches.submit(api_key_id=key.id, input_file_id=file.id)


def test_batches_files_and_lines_are_listed_and_a_batch_is_cancelled_from_the_admin(admin_client):
    batch = make_batch()
    for page in ("batch", "file", "batchitem"):
        assert admin_client.get(f"/admin/routerapp/{page}/").status_code == 200
    # The admin escapes "_" in primary keys in its URLs (admin.utils.quote): so must the test.
    page = admin_client.get(f"/admin/routerapp/batch/{quote(batch.pk)}/change/")
    assert page.status_code == 200 and batch.pk in page.content.decode()
    response = admin_client.post(
        "/admin/routerapp/batch/", {"action": "cancel_batches", "_selected_action": [batch.pk]}, follow=True
    )
    assert "Cancelling 1 batch(es)" in response.content.decode()
    assert Batch.objects.get(pk=batch.pk).status == "cancelled"


def test_an_admin_key_is_made_in_the_admin(admin_client):
    admin_client.post(
        "/admin/routerapp/apikey/add/",
        {"name": "ops", "allowed_models": "[]", "is_admin": "on", "enabled": "on"},
    )
    assert ApiKey.objects.get(name="ops").is_admin
