"""Publishing, as people see it: engine health, the targets that need a person, one-click
resolutions (it is there / publish again / publish anyway / retry) and each target's history."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from rupor.accounts.roles import Perm, can
from rupor.networks import registry
from rupor.publishing import health
from rupor.publishing import service as publishing
from rupor.publishing.models import TargetState
from rupor.web.views import _actor, _ws, workspace_view

#: The one-click actions: form value -> (allowed in state, what it does).
ACTIONS = {
    "published": TargetState.UNCONFIRMED,  # "It is there"
    "republish": TargetState.UNCONFIRMED,  # "Publish again"
    "anyway": TargetState.MISSED,  # "Publish anyway"
    "retry": TargetState.FAILED,  # "Retry"
}


def _own(request: HttpRequest, target_id: int) -> None:
    if not publishing.in_workspace(_ws(request).pk, target_id):
        raise Http404


@workspace_view(Perm.POSTS_VIEW)
@require_GET
def overview(request: HttpRequest) -> HttpResponseBase:
    ws = _ws(request)
    role = request.role  # type: ignore[attr-defined]
    targets = list(publishing.needing_attention(ws.pk)[:200])
    snapshot = health.health_snapshot(ws.pk) if can(role, Perm.CHANNELS_VIEW) else None
    failures = sorted((snapshot.failures_24h if snapshot else {}).items())
    labels = dict(TargetState.choices)
    return render(request, "web/publishing.html", {
        "targets": targets, "snapshot": snapshot, "can_act": can(role, Perm.POSTS_PUBLISH),
        "failed_count": sum(1 for t in targets if t.state == TargetState.FAILED),
        "failures": [{"network": n, "name": registry.DISPLAY_NAMES.get(n, n), "count": c} for n, c in failures],
        "counts": [{"state": s, "label": labels.get(s, s), "count": c} for s, c in sorted((snapshot.counts if snapshot else {}).items())],
    })


@workspace_view(Perm.POSTS_VIEW)
@require_GET
def target(request: HttpRequest, target_id: int) -> HttpResponseBase:
    _own(request, target_id)
    found = publishing.history(target_id)
    if found is None:
        raise Http404
    chosen = next(iter(publishing.needing_attention(_ws(request).pk).filter(pk=target_id)), None)
    return render(request, "web/publishing_target.html", {
        "h": found, "target": chosen, "state_label": dict(TargetState.choices).get(found.summary.state, found.summary.state),
        "can_act": can(request.role, Perm.POSTS_PUBLISH),  # type: ignore[attr-defined]
    })


@workspace_view(Perm.POSTS_PUBLISH)
@require_POST
def act(request: HttpRequest, target_id: int) -> HttpResponseBase:
    _own(request, target_id)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        messages.error(request, _("Choose what to do with this publication."))
        return redirect("web:publishing")
    actor = _actor(request).label
    try:
        with transaction.atomic():
            if action in ("published", "republish"):
                publishing.resolve_unconfirmed(target_id, action, actor=actor, remote_url=request.POST.get("remote_url", "").strip())
            elif action == "anyway":
                publishing.publish_anyway(target_id, actor=actor)
            else:
                publishing.retry_failed(_ws(request).pk, [target_id], actor=actor)
    except publishing.ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, {
            "published": _("Marked as published. Nothing is sent again."),
            "republish": _("It goes out again now, as a new post."),
            "anyway": _("It goes out now, late, as you asked."),
            "retry": _("It goes out again now."),
        }[action])
    if request.POST.get("next") == "target":
        return redirect("web:publishing_target", target_id=target_id)
    return redirect("web:publishing")


@workspace_view(Perm.POSTS_PUBLISH)
@require_POST
def retry_all(request: HttpRequest) -> HttpResponseBase:
    with transaction.atomic():
        count = publishing.retry_failed(_ws(request).pk, None, actor=_actor(request).label)
    if count:
        messages.success(request, ngettext("%(n)s failed publication goes out again now.",
                                           "%(n)s failed publications go out again now.", count) % {"n": count})
    else:
        messages.info(request, _("There is nothing failed to retry."))
    return redirect("web:publishing")


urlpatterns: list[URLPattern] = [
    path("publishing/", overview, name="publishing"),
    path("publishing/retry-failed/", retry_all, name="publishing_retry_all"),
    path("publishing/targets/<int:target_id>/", target, name="publishing_target"),
    path("publishing/targets/<int:target_id>/act/", act, name="publishing_act"),
]
