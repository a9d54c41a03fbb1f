"""Static files (the admin's, the dashboard's) come from the ASGI server itself."""

from __future__ import annotations

import httpx


def test_static_files_are_served_with_caching_headers(live_url):
    response = httpx.get(f"{live_url}/static/admin/css/base.css", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "max-age" in response.headers["cache-control"]
    assert b"body" in response.content


def test_a_missing_static_file_is_a_404(live_url):
    assert httpx.get(f"{live_url}/static/admin/css/nowhere.css", timeout=10).status_code == 404
