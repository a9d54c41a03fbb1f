"""Content-Security-Policy for the dashboard's pages.

The dashboard runs only its own static scripts (htmx, playground.js) and shows model output and
upstream text, escaped; the policy is the second line if an escape is ever missed: no inline or
foreign script, no plugin, no framing, forms and fetches to this origin only. Inline styles stay
allowed: htmx adds its indicator style element and the charts position bars with style attributes.
Django 5.2 has no CSP setting of its own (6.0 does); the admin keeps Django's defaults.
"""

from __future__ import annotations

from django.utils.deprecation import MiddlewareMixin

POLICY = "; ".join(
    [
        "default-src 'self'",
        # Only the dashboard's own files: no inline script, no eval (htmx's allowEval is off, and
        # "poll only while visible" is static/dashboard/poll.js rather than a trigger filter).
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicy(MiddlewareMixin):
    def process_response(self, request, response):
        if request.path.startswith("/dashboard/"):
            response.headers.setdefault("Content-Security-Policy", POLICY)
        return response
