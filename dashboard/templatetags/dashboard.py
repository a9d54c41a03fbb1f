"""Formatting filters and server-rendered SVG charts: no chart library, no JavaScript.

Chart geometry is computed here; the SVG markup lives in dashboard/partials/*_chart.html, so every
label goes through template escaping.
"""

from __future__ import annotations

import math
from datetime import datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from routerapp.optimizer.detect import cluster_label
from routerapp.providers.redact import redact

register = template.Library()

PALETTE = ["#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#4b5563"]


# Numbers.


@register.filter(name="cluster_label")
def cluster_label_filter(cluster: int | None) -> str:
    """A prompt cluster's id with its task type and top terms."""
    return "–" if cluster is None else f"{cluster} · {cluster_label(cluster)}"


@register.filter
def ms(value: float | None) -> str:
    """Milliseconds for people: 0.42 ms, 38 ms, 1.24 s."""
    if not isinstance(value, int | float):
        return "–"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 10:
        return f"{value:.0f} ms"
    return f"{value:.2f} ms" if value < 1 else f"{value:.1f} ms"


@register.filter
def usd(value: float | None) -> str:
    if not isinstance(value, int | float) or not value:
        return "$0"
    if value < 0.0001:
        return "<$0.0001"
    return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"


@register.filter
def pct(value: float | None) -> str:
    if not isinstance(value, int | float) or not value:
        return "0%"
    return f"{value * 100:.1f}%" if value >= 0.001 else "<0.1%"


@register.filter
def rate(value: float | None) -> str:
    if not isinstance(value, int | float) or not value:
        return "0"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}" if value >= 0.01 else f"{value:.3f}"


@register.filter
def count(value: int | None) -> str:
    if not isinstance(value, int | float) or not value:
        return "0"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    return f"{value / 1000:.1f}k" if value >= 10_000 else f"{value:,}"


@register.filter
def get(mapping, key):
    return mapping.get(key) if mapping else None


# Secrets in stored bodies and upstream errors: the same masking as an upstream error passed to a
# client (routerapp.providers.redact), so there is one list of what a secret looks like. Stored
# upstream text was already masked with the provider's own secrets when it was written.


@register.filter
def masked(text: str | None) -> str:
    """The text with anything that looks like a credential replaced by ***."""
    return redact(text) if text else ""


# Charts.


def _points(values: list[float | None], width: float, height: float, top: float | None = None) -> list[str]:
    """Polyline segments ("x,y x,y …"), split where values are missing."""
    present = [v for v in values if v is not None]
    top = top if top else max(present, default=0) or 1
    step = width / max(1, len(values) - 1)
    segments: list[str] = []
    current: list[str] = []
    for i, v in enumerate(values):
        if v is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        current.append(f"{i * step:.1f},{height - 1 - (height - 2) * min(v, top) / top:.1f}")
    if current:
        segments.append(" ".join(current))
    # A lone point between gaps still shows, as a short dash.
    return [
        seg if " " in seg else f"{seg} {float(seg.split(',')[0]) + 2:.1f},{seg.split(',')[1]}"
        for seg in segments
    ]


@register.simple_tag
def sparkline(values, width: int = 160, height: int = 36, label: str = "") -> SafeString:
    values = list(values or [])
    if len(values) < 2:
        values = [0, 0]
    lines = "".join(format_html('<polyline points="{}" />', seg) for seg in _points(values, width, height))
    return format_html(
        '<svg class="spark" viewBox="0 0 {} {}" preserveAspectRatio="none" role="img" aria-label="{}">{}</svg>',
        width,
        height,
        label,
        SafeString(lines),
    )


@register.simple_tag
def bars(values, width: int = 120, height: int = 24) -> SafeString:
    """A tiny bar chart (error trends)."""
    values = list(values or [])
    top = max(values, default=0) or 1
    w = width / max(1, len(values))
    rects = []
    for i, v in enumerate(values):
        h = max(1.0, height * v / top) if v else 0.5
        rects.append(
            f'<rect x="{i * w:.1f}" y="{height - h:.1f}" width="{max(0.5, w - 0.6):.1f}" height="{h:.1f}" />'
        )
    return format_html(
        '<svg class="bars" viewBox="0 0 {} {}" preserveAspectRatio="none" role="img">{}</svg>',
        width,
        height,
        SafeString("".join(rects)),  # numbers only
    )


def nice_top(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


# The big charts: lines and bars in an SVG stretched to its box (preserveAspectRatio="none",
# strokes that do not scale), axis labels in HTML around it, so text stays legible at any width.
PLOT_W, PLOT_H = 1000, 300


@register.inclusion_tag("dashboard/partials/line_chart.html")
def line_chart(series, metric: str = "p95"):
    """Latency over time, one line per group of a stats.Series."""
    lines = {label: [p.latency.get(metric) for p in points] for label, points in series.lines.items()}
    top = nice_top(max((v for vs in lines.values() for v in vs if v is not None), default=0))
    paths = [
        {"label": label, "color": PALETTE[i % len(PALETTE)], "segments": _points(values, PLOT_W, PLOT_H, top)}
        for i, (label, values) in enumerate(lines.items())
    ]
    times: list[datetime] = series.times
    fmt = "%H:%M:%S" if series.step_s < 60 else "%H:%M" if series.step_s < 3600 else "%d %b %H:%M"
    xticks = []
    if times:
        for f in (0, 0.5, 1):
            i = round(f * (len(times) - 1))
            xticks.append({"pct": 100 * i / max(1, len(times) - 1), "label": times[i].strftime(fmt)})
    return {
        "w": PLOT_W,
        "h": PLOT_H,
        "paths": paths,
        "grid": [PLOT_H * f for f in (0.25, 0.5, 0.75)],
        "yticks": [{"pct": f * 100, "label": ms(top * f)} for f in (0, 0.5, 1)],
        "xticks": xticks,
        "metric": metric,
    }


@register.inclusion_tag("dashboard/partials/histogram_chart.html")
def histogram_chart(histogram):
    """Successful requests by latency (a list of stats.Bar)."""
    top = nice_top(max((b.count for b in histogram), default=0))
    w = PLOT_W / max(1, len(histogram))
    rects = [
        {
            "x": f"{i * w + 1:.1f}",
            "y": f"{PLOT_H - PLOT_H * b.count / top:.1f}",
            "w": f"{max(1.0, w - 2):.1f}",
            "h": f"{PLOT_H * b.count / top:.1f}",
            "title": f"{ms(b.low_ms)} – {ms(b.high_ms)}: {b.count}",
        }
        for i, b in enumerate(histogram)
    ]
    step = max(1, math.ceil(len(histogram) / 4))
    return {
        "w": PLOT_W,
        "h": PLOT_H,
        "rects": rects,
        "grid": [PLOT_H * f for f in (0.25, 0.5, 0.75)],
        "xticks": [
            {"pct": 100 * i / len(histogram), "label": ms(b.low_ms)}
            for i, b in enumerate(histogram)
            if i % step == 0
        ],
        "yticks": [{"pct": f * 100, "label": count(int(top * f))} for f in (0, 0.5, 1)],
    }


@register.simple_tag(takes_context=True)
def query(context, **changes) -> str:
    """The current URL's query string with some parameters changed (None removes one)."""
    params = context["request"].GET.copy()
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    params.pop("before", None)
    return "?" + params.urlencode()
