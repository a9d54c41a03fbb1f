"""The Batches page: every batch with its progress (polled with htmx while any is running), one
batch's per-line outcomes, and downloads of its files. Reads through routerapp.batches."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.views import HtmxHttpRequest
from routerapp import batches, errors
from routerapp.models import Batch, BatchItem

PAGE = 50
ITEMS_PAGE = 200


def _found(lookup, *args, **kwargs):
    """The core's answer, or the page's 404 for an id it does not know."""
    try:
        return lookup(*args, **kwargs)
    except errors.RouterError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from None
        raise


@require_GET
@staff_member_required
def batch_list(request: HtmxHttpRequest) -> HttpResponse:
    rows = list(Batch.objects.select_related("api_key").order_by("-created_at")[:PAGE])
    context = {"batches": rows, "polling": any(b.is_active for b in rows)}
    template = "dashboard/partials/batches_live.html" if request.htmx else "dashboard/batches.html"
    return render(request, template, context)


@require_GET
@staff_member_required
def batch_detail(request: HtmxHttpRequest, batch_id: str) -> HttpResponse:
    batch = _found(batches.status, batch_id)
    status = request.GET.get("status", "")
    items = BatchItem.objects.filter(batch=batch).defer("body", "response")
    if status in BatchItem.Status.values:
        items = items.filter(status=status)
    context = {
        "batch": batch,
        "items": items[:ITEMS_PAGE],
        "status_filter": status,
        "statuses": BatchItem.Status.values,
        "polling": batch.is_active,
    }
    template = "dashboard/partials/batch_live.html" if request.htmx else "dashboard/batch_detail.html"
    return render(request, template, context)


@require_GET
@staff_member_required
def batch_file(request: HtmxHttpRequest, file_id: str) -> HttpResponse:
    file, content = _found(batches.file_content, file_id, api_key_id=None)
    return HttpResponse(
        content,
        content_type="application/jsonl",
        headers={"content-disposition": f'attachment; filename="{file.filename}"'},
    )
