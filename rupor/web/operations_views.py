"""Operations: how this Rupor runs, for the people who run it (owners and admins:
``workspace.manage``), and Prometheus's /metrics.

The page reads :func:`rupor.operations.snapshot.operations_snapshot` for the current workspace:
its queues, lag, errors and media are the workspace's own; the workers and RUPOR_HOME are the
instance's. /metrics reads the same snapshot for the whole instance (``operations/metrics.py``).
"""

from __future__ import annotations

import math

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from rupor.accounts.roles import Perm
from rupor.core import config
from rupor.core.distribution import Distribution
from rupor.networks import registry
from rupor.operations import metrics as prometheus
from rupor.operations.snapshot import operations_snapshot
from rupor.publishing.health import OK_OUTCOMES, merged
from rupor.publishing.models import TargetState
from rupor.web.base import WorkspaceRequest, workspace_view


def duration(seconds: float | None) -> str:
    """A span of time as people read it: 42 s, 5 min 3 s, 2 h 10 min, 3 d 4 h; — for none."""
    if seconds is None:
        return "—"
    if math.isinf(seconds):
        return _("over %(hours)s h") % {"hours": 4}
    s = max(0, round(seconds))
    if s < 60:
        return _("%(s)s s") % {"s": s}
    if s < 3600:
        return _("%(m)s min %(s)s s") % {"m": s // 60, "s": s % 60}
    if s < 86400:
        return _("%(h)s h %(m)s min") % {"h": s // 3600, "m": s % 3600 // 60}
    return _("%(d)s d %(h)s h") % {"d": s // 86400, "h": s % 86400 // 3600}


def _quantiles(dist: Distribution) -> dict[str, str | int]:
    """The median and 90th percentile of a recent distribution (bucket bounds, as Prometheus's
    histogram_quantile would say without interpolating: "at most")."""
    return {"count": dist.count, "p50": duration(dist.quantile(0.5)), "p90": duration(dist.quantile(0.9))}


def _attempt_rows(attempts: dict[str, dict[str, int]]) -> list[dict[str, object]]:
    rows = []
    for network, outcomes in sorted(attempts.items()):
        errors = {o: n for o, n in outcomes.items() if o not in OK_OUTCOMES}
        rows.append(
            {
                "network": network,
                "name": registry.display_name(network),
                "ok": sum(n for o, n in outcomes.items() if o in OK_OUTCOMES),
                "errors": sum(errors.values()),
                "detail": ", ".join(f"{o} {n}" for o, n in sorted(errors.items())),
            }
        )
    return rows


def _wait_rows(waits: dict[str, dict[str, float]]) -> list[dict[str, object]]:
    return [
        {
            "network": network,
            "name": registry.display_name(network),
            "inline": int(row.get("inline", 0)),
            "inline_s": duration(row.get("inline_s", 0.0)),
            "deferred": int(row.get("deferred", 0)),
            "deferred_s": duration(row.get("deferred_s", 0.0)),
        }
        for network, row in sorted(waits.items())
        if row.get("inline") or row.get("deferred")
    ]


@workspace_view(Perm.WORKSPACE_MANAGE)
@require_GET
def operations(request: WorkspaceRequest) -> HttpResponseBase:
    snap = operations_snapshot(request.workspace.pk)
    engine = snap.engine
    workers = [
        {
            "w": w,
            "status": "alive" if w.alive else ("stopped" if w.stopped else "stale"),
            "age": duration(w.age_s),
        }
        for w in engine.workers
    ]
    return render(
        request,
        "web/operations.html",
        {
            "snap": snap,
            "workers": workers,
            "stale_workers": sum(1 for w in workers if w["status"] == "stale"),
            "counts": {state: engine.counts.get(state, 0) for state in TargetState.values},
            "state_labels": {str(k): str(v) for k, v in TargetState.choices},
            "oldest_due": duration(engine.oldest_due_s),
            "lateness": _quantiles(engine.lateness_recent_all),
            "intake_latency": _quantiles(merged(snap.intake.latency_recent.values())),
            "oldest_waiting": duration(snap.intake.oldest_waiting_s),
            "oldest_staged": duration(snap.intake.oldest_staged_s),
            "collection_lag": duration(snap.collection.oldest_overdue_s),
            "outbox_oldest": duration(snap.outbox.oldest_due_s),
            "attempts": _attempt_rows(engine.attempts_recent),
            "waits": _wait_rows(engine.rate_waits),
            "window_min": int(engine.window_s // 60),
            "metrics_on": bool(config.metrics_token()),
            "metrics_url": f"{config.base_url()}/metrics",
        },
    )


@never_cache
@require_http_methods(["GET", "HEAD"])
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus's scrape: 404 while RUPOR_METRICS_TOKEN is unset (the endpoint does not exist),
    401 without the right ``Authorization: Bearer`` token, else the exposition text."""
    allowed = prometheus.authorized(request.headers.get("Authorization", ""))
    if allowed is None:
        raise Http404
    if not allowed:
        refused = HttpResponse(
            "Unauthorized: send the token of RUPOR_METRICS_TOKEN as 'Authorization: Bearer <token>'.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        refused["WWW-Authenticate"] = 'Bearer realm="rupor-metrics"'
        return refused
    return HttpResponse(prometheus.render(), content_type=prometheus.CONTENT_TYPE)
