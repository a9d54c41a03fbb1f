"""How much request history is kept: one pruning rule for the schedule and `manage.py prune`.

Only QueryRecords go (their attempts and spans with them); the hourly rollups, and so the
statistics and dashboards of past windows, stay.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from routerapp.models import QueryRecord

CHUNK = 5000  # rows per DELETE: keeps each lock short on a table of millions


def prune_history(*, older_than: timedelta | None = None, keep: int | None = None) -> int:
    """Delete requests older than `older_than` and beyond the newest `keep`; return how many went.

    With both, a request goes only if both say so (older, and not among the newest `keep`).
    """
    if older_than is None and keep is None:
        raise ValueError("prune_history needs older_than, keep or both")
    doomed = QueryRecord.objects.all()
    if older_than is not None:
        doomed = doomed.filter(created_at__lt=timezone.now() - older_than)
    if keep is not None:
        boundary = QueryRecord.objects.order_by("-created_at", "-id").values_list("created_at", "id")[
            keep : keep + 1
        ]
        row = next(iter(boundary), None)
        if row is None:
            return 0  # no more than `keep` requests in all
        at, last_id = row
        doomed = doomed.filter(Q(created_at__lt=at) | Q(created_at=at, id__lte=last_id))
    deleted = 0
    while True:
        ids = list(doomed.values_list("id", flat=True)[:CHUNK])
        if not ids:
            return deleted
        deleted += QueryRecord.objects.filter(id__in=ids).delete()[1].get(QueryRecord._meta.label, 0)
