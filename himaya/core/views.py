import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from himaya.core.operations import check_database, metrics_text, readiness


def health(request: HttpRequest) -> JsonResponse:
    """Unauthenticated liveness + database check for load balancers and `make run`."""
    if check_database().ok:
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "database unavailable"}, status=503)


@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness for a load balancer: the database, the queue and the storage answer (503 if one does not)."""
    checks = readiness()
    ok = all(c.ok for c in checks)
    return JsonResponse({"status": "ready" if ok else "not ready", "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks}},
                        status=200 if ok else 503)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text, behind its own bearer token (HIMAYA_METRICS_TOKEN), not a staff login."""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not given or not hmac.compare_digest(given.encode(), settings.HIMAYA_METRICS_TOKEN.encode()):
        response = HttpResponse("metrics need the bearer token of HIMAYA_METRICS_TOKEN\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="himaya-metrics"'
        return response
    return HttpResponse(metrics_text(), content_type="text/plain; version=0.0.4; charset=utf-8")
