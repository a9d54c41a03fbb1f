"""One view per page; an htmx request (the polling panels) gets the page's live partial only."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from dashboard.forms import HistoryFilter
from routerapp import stats
from routerapp.conf import router_settings
from routerapp.models import Attempt, Deployment, ErrorGroup, ModelGroup, QueryRecord
from routerapp.stats.ensembles import ensemble_stats
from routerapp.stats.patterns import pattern_boards

HISTORY_PAGE = 50


class HtmxHttpRequest(HttpRequest):
    # What django-htmx's middleware adds, for the type checker.
    htmx: HtmxDetails


def _page(request: HtmxHttpRequest, template: str, partial: str, context: dict) -> HttpResponse:
    context["windows"] = list(stats.WINDOWS)
    context["partial"] = partial
    return render(request, partial if request.htmx else template, context)


@require_GET
# The dashboard shows every client's traffic and spend: staff only, like the admin it logs in through.
@staff_member_required
def overview(request: HtmxHttpRequest) -> HttpResponse:
    window = stats.parse_window(request.GET.get("window"))
    numbers = stats.WindowStats(window, "deployment")  # one read of the rollups for all panels
    report = numbers.report()
    points = numbers.series(overall=True).lines["all"]
    by_deployment = {row.key: row for row in report.rows}
    failures = stats.upstream_failures(window)
    deployments = [
        {"deployment": d, "stat": by_deployment.get(str(d.id)), "failures": failures.get(d.id, 0)}
        for d in Deployment.objects.select_related("provider", "model_group").order_by("provider__name", "id")
    ]
    return _page(
        request,
        "dashboard/overview.html",
        "dashboard/partials/overview_live.html",
        {
            "window": window,
            "report": report,
            "total": report.total,
            "rps_line": [p.rps for p in points],
            "latency_line": [p.latency["p95"] for p in points],
            "error_line": [p.error_rate for p in points],
            "cost_line": [p.cost_usd for p in points],
            "deployments": deployments,
            "error_groups": stats.error_groups(window, order="recent", limit=8),
        },
    )


@require_GET
@staff_member_required
def latency(request: HtmxHttpRequest) -> HttpResponse:
    window = stats.parse_window(request.GET.get("window"))
    by = stats.parse_grouping(request.GET.get("by")) or "deployment"
    metric = request.GET.get("metric") if request.GET.get("metric") in stats.PERCENTILES else "p95"
    numbers = stats.WindowStats(window, by)  # one read of the rollups for all three
    return _page(
        request,
        "dashboard/latency.html",
        "dashboard/partials/latency_live.html",
        {
            "window": window,
            "by": by,
            "groupings": stats.GROUPINGS,
            "metric": metric,
            "metrics": list(stats.PERCENTILES),
            "series": numbers.series(),
            "histogram": numbers.histogram(),
            "report": numbers.report(),
        },
    )


@require_GET
@staff_member_required
def errors(request: HtmxHttpRequest) -> HttpResponse:
    window = stats.parse_window(request.GET.get("window"), default="24h")
    order = "count" if request.GET.get("order") == "count" else "recent"
    return _page(
        request,
        "dashboard/errors.html",
        "dashboard/partials/errors_live.html",
        {"window": window, "order": order, "groups": stats.error_groups(window, order=order)},
    )


@require_GET
@staff_member_required
def error_group(request: HtmxHttpRequest, group_id: int) -> HttpResponse:
    group = get_object_or_404(
        ErrorGroup.objects.select_related("provider", "deployment__provider"), pk=group_id
    )
    records = {r.request_id: r for r in QueryRecord.objects.filter(request_id__in=group.recent)}
    this_hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    hours = [this_hour - timedelta(hours=i) for i in range(47, -1, -1)]
    trend = [group.hourly.get(str(int(h.timestamp())), 0) for h in hours]
    return render(
        request,
        "dashboard/error_group.html",
        {"group": group, "records": [records[r] for r in group.recent if r in records], "trend": trend},
    )


@require_GET
@staff_member_required
def history(request: HtmxHttpRequest) -> HttpResponse:
    form = HistoryFilter(request.GET or None)
    rows = QueryRecord.objects.select_related("deployment__provider", "api_key")
    if form.is_valid():
        f = form.cleaned_data
        rows = rows.matching(
            request_id_prefix=f["q"],
            model=f["model"],
            status=f["status"],
            deployment_id=f["deployment"],
            api_key_id=f["key"],
            error_type=f["error_type"],
            since=timezone.now() - stats.WINDOWS[f["window"]] if f["window"] else None,
            slower_than_ms=f["slower_than"],
            before=f["before"],
        )
    # Newest first, paged by keyset ("created before T") rather than OFFSET: every filter above has an
    # index ending in created_at, so any page is an index range scan, even at millions of rows.
    page = list(rows.order_by("-created_at", "-id")[: HISTORY_PAGE + 1])
    older = page[HISTORY_PAGE - 1].created_at.isoformat() if len(page) > HISTORY_PAGE else None
    params = request.GET.copy()
    params.pop("before", None)
    return render(
        request,
        "dashboard/history.html",
        {
            "form": form,
            "records": page[:HISTORY_PAGE],
            "older_query": _with(params, before=older) if older else "",
            "newest_query": params.urlencode(),
            "paged": bool(request.GET.get("before")),
        },
    )


@require_GET
@staff_member_required
def history_detail(request: HtmxHttpRequest, request_id: str) -> HttpResponse:
    record = (
        QueryRecord.objects.select_related("deployment__provider", "deployment__model_group", "api_key")
        .filter(request_id=request_id)
        .first()
    )
    if record is None:
        raise Http404("No such request")
    attempts = list(Attempt.objects.filter(query=record).select_related("deployment__provider"))
    return render(
        request,
        "dashboard/history_detail.html",
        {"record": record, "attempts": attempts, "waterfall": waterfall(record, attempts)},
    )


@require_GET
@staff_member_required
def ensembles(request: HtmxHttpRequest) -> HttpResponse:
    window = stats.parse_window(request.GET.get("window"), default="24h")
    return _page(
        request,
        "dashboard/ensembles.html",
        "dashboard/partials/ensembles_live.html",
        {"window": window, "ensembles": ensemble_stats(stats.WINDOWS[window])},
    )


def _with(params, **changes) -> str:
    params = params.copy()
    params.update(changes)
    return params.urlencode()


def waterfall(record: QueryRecord, attempts: list[Attempt]) -> dict:
    """Bars on one time axis: the request's spans, or its attempts when it has no trace."""
    spans = list(record.spans.all())
    total = (
        max(
            [
                record.latency_ms,
                *(s.start_ms + s.duration_ms for s in spans),
                *(a.start_ms + a.latency_ms for a in attempts),
            ]
        )
        or 1.0
    )
    bars = []
    if spans:
        depth: dict[int, int] = {}
        for s in spans:
            depth[s.position] = depth.get(s.parent, -1) + 1 if s.parent is not None else 0
            detail = s.attributes.get("deployment") or s.attributes.get("model") or ""
            if s.attributes.get("error"):
                detail = f"{detail} {s.attributes['error']}".strip()
            bars.append(_bar(s.name, detail, s.status, s.start_ms, s.duration_ms, total, depth[s.position]))
    else:
        for a in attempts:
            label = a.deployment.label if a.deployment else "(deleted deployment)"
            detail = f"{label} {a.error_type}".strip()
            bars.append(_bar(f"attempt {a.retry}", detail, a.status, a.start_ms, a.latency_ms, total, 0))
    ticks = [{"left": f * 100, "label": total * f} for f in (0, 0.25, 0.5, 0.75, 1)]
    return {"bars": bars, "total_ms": total, "ticks": ticks}


def _bar(
    name: str, detail: str, status: str, start: float, duration: float, total: float, depth: int
) -> dict:
    return {
        "name": name,
        "detail": detail,
        "status": status,
        "start_ms": start,
        "duration_ms": duration,
        "left": max(0.0, min(100.0, 100 * start / total)),
        "width": max(0.4, min(100.0, 100 * duration / total)),
        "depth": depth,
    }


@require_GET
@staff_member_required
def patterns(request: HtmxHttpRequest) -> HttpResponse:
    """What learned routing knows: per model name, task type and prompt cluster, which deployment wins."""
    model = request.GET.get("model") or None
    return _page(
        request,
        "dashboard/patterns.html",
        "dashboard/partials/patterns_live.html",
        {
            "model": model,
            "models": list(
                ModelGroup.objects.filter(deployments__patterns__isnull=False)
                .distinct()
                .values_list("name", flat=True)
                .order_by("name")
            ),
            "boards": pattern_boards(model),
            "learning_window": router_settings()["LEARNING_WINDOW"],
        },
    )
