"""Time the statistics pages and GET /api/stats against a big history.

    DATABASE_URL=sqlite:////tmp/big.sqlite3 .venv/bin/python manage.py migrate
    DATABASE_URL=sqlite:////tmp/big.sqlite3 .venv/bin/python manage.py gendata --rows 1000000
    DATABASE_URL=sqlite:////tmp/big.sqlite3 .venv/bin/python bench/stats_at_size.py [--out bench/results/stats-at-size.md]

Each URL is requested through Django's test client as a staff user (the whole view: queries,
template, JSON), once to warm up and then `--repeat` times; the table shows the median and the
slowest run in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "routerapp.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from routerapp.models import ErrorGroup, QueryRecord  # noqa: E402

URLS = [
    *(f"/api/stats?window={w}" for w in ("5m", "1h", "24h", "7d")),
    *(
        f"/api/stats?window={w}&by={by}"
        for w in ("1h", "7d")
        for by in ("model", "deployment", "provider", "key")
    ),
    "/api/stats?window=7d&by=deployment&series=true",
    "/api/errors?window=7d",
    *(f"/dashboard/?window={w}" for w in ("5m", "1h", "24h", "7d")),
    *(f"/dashboard/latency/?window={w}&by=deployment" for w in ("1h", "24h", "7d")),
    "/dashboard/errors/?window=7d&order=count",
    "/dashboard/history/",
    "/dashboard/history/?status=error",
    "/dashboard/history/?window=24h&model=gen-smart&status=error",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    user, _ = User.objects.get_or_create(username="stats-bench", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    group = ErrorGroup.objects.order_by("-count").first()
    record = QueryRecord.objects.filter(status="error").order_by("-id").first()
    urls = list(URLS)
    if group:
        urls.append(f"/dashboard/errors/{group.id}/")
    if record:
        urls.append(f"/dashboard/history/{record.request_id}/")
    rows = QueryRecord.objects.count()
    lines = [
        f"History: {rows:,} QueryRecords on {connection.vendor} ({connection.settings_dict['NAME']}).",
        "",
        "| URL | median ms | max ms |",
        "|---|---:|---:|",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        runs = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            client.get(url)
            runs.append((time.perf_counter() - started) * 1000)
        lines.append(f"| `{url}` | {statistics.median(runs):.1f} | {max(runs):.1f} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
