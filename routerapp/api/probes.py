"""/health/liveness and /health/readiness: unauthenticated probes for load balancers and orchestrators.

Plain views rather than a ninja API: they answer before any key exists and must stay cheap.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from routerapp import readiness


@require_safe
async def liveness(request: HttpRequest) -> JsonResponse:
    # The process answers: nothing else is asked, so a slow database never restarts a healthy process.
    return JsonResponse({"status": "ok"})


@require_safe
async def readiness_view(request: HttpRequest) -> JsonResponse:
    problems = await readiness.problems()
    if problems:
        return JsonResponse({"status": "unavailable", "reasons": problems}, status=503)
    return JsonResponse({"status": "ok"})
