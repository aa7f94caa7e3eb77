"""Publishing, as people see it: engine health, the targets that need a person, one-click
resolutions (it is there / publish again / publish anyway / retry) and each target's history."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit, urlunsplit

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from rupor.accounts.roles import Perm, Role, can
from rupor.channels.models import Channel
from rupor.core import clock, dbwatch
from rupor.networks import registry
from rupor.ops import service as ops
from rupor.planning import service as planning
from rupor.publishing import health
from rupor.publishing import service as publishing
from rupor.publishing.models import TargetState
from rupor.web.base import _actor, _ws, workspace_request, workspace_view

#: The one-click actions: form value -> (allowed in state, what it does).
ACTIONS = {
    "published": TargetState.UNCONFIRMED,  # "It is there"
    "republish": TargetState.UNCONFIRMED,  # "Publish again"
    "anyway": TargetState.MISSED,  # "Publish anyway"
    "retry": TargetState.FAILED,  # "Retry"
}


#: An owner is reminded when the newest backup is older than this (a daily schedule has failed).
BACKUP_STALE_DAYS = 2


def _own(request: HttpRequest, target_id: int) -> None:
    if not publishing.in_workspace(_ws(request).pk, target_id):
        raise Http404


@workspace_view(Perm.POSTS_VIEW)
@require_GET
def overview(request: HttpRequest) -> HttpResponseBase:
    ws = _ws(request)
    role = workspace_request(request).role
    targets = list(publishing.needing_attention(ws.pk)[:200])
    snapshot = health.health_snapshot(ws.pk) if can(role, Perm.CHANNELS_VIEW) else None
    failures = sorted((snapshot.failures_24h if snapshot else {}).items())
    # Backups are of the whole installation: its owners' business (the CLI records each one).
    owner = snapshot is not None and role == Role.OWNER
    last_backup = ops.last_backup() if owner else None
    return render(
        request,
        "web/publishing.html",
        {
            "targets": targets,
            "snapshot": snapshot,
            "can_act": can(role, Perm.POSTS_PUBLISH),
            "failed_count": sum(1 for t in targets if t.state == TargetState.FAILED),
            "failures": [
                {"network": n, "name": registry.DISPLAY_NAMES.get(n, n), "count": c} for n, c in failures
            ],
            # Networks that fetch media from RUPOR_BASE_URL, which the internet cannot reach.
            "media_unreachable": ", ".join(
                registry.display_name(n) for n in (snapshot.media_unreachable if snapshot else ())
            ),
            "show_backup": owner,
            "last_backup": last_backup,
            "backup_stale": last_backup is None
            or clock.now() - last_backup.finished_at > dt.timedelta(days=BACKUP_STALE_DAYS),
            "database": database_notes(snapshot.database if snapshot else ()),
        },
    )


def database_notes(troubles: tuple[dbwatch.Trouble, ...]) -> list[dict[str, object]]:
    """What the database did to Rupor's processes lately, in words, with what to do about it."""
    notes = []
    for trouble in troubles:
        numbers = {
            "minute": trouble.last_minute,
            "quarter": trouble.last_15_minutes,
            "processes": trouble.processes,
        }
        if trouble.kind == dbwatch.REFUSED:
            text = _(
                "The database refused connections: %(minute)s in the last minute, %(quarter)s in the last "
                "15 minutes (Rupor processes affected: %(processes)s)."
            )
            hint = _(
                "Too many connections for the role or the server, or the server is not accepting them. Workers "
                "wait and try again by themselves; raise the connection limit (CONNECTION LIMIT, "
                "max_connections) or lower RUPOR_DB_POOL_MAX or the number of processes."
            )
        elif trouble.kind == dbwatch.LOST:
            text = _(
                "Database connections were lost: %(minute)s in the last minute, %(quarter)s in the last "
                "15 minutes (Rupor processes affected: %(processes)s)."
            )
            hint = _(
                "The server restarted or the network cut connections. Workers reconnect by themselves, and "
                "what they were publishing is taken up again when its lease expires."
            )
        else:
            text = _(
                "No pooled database connection was free in time: %(minute)s in the last minute, %(quarter)s "
                "in the last 15 minutes (Rupor processes affected: %(processes)s)."
            )
            hint = _(
                "Threads waited longer than RUPOR_DB_POOL_TIMEOUT for a connection: raise RUPOR_DB_POOL_MAX, "
                "or lower the worker's concurrency or the web server's threads."
            )
        notes.append(
            {
                "kind": trouble.kind,
                "text": text % numbers,
                "hint": hint,
                "at": trouble.last_at,
                "message": trouble.last_message,
            }
        )
    return notes


def network_address(remote_url: str, base_url: str) -> str:
    """Where a person sees the post on its network: the address the network gave, or, for a
    channel that talks to a stand-in at its own address (the demo's emulators), the same page
    there. Empty when the network gave none: no link is better than a made-up one."""
    if not remote_url:
        return ""
    parsed = urlsplit(remote_url)
    if parsed.scheme not in ("http", "https"):
        return ""
    if not base_url:
        return remote_url
    base = urlsplit(base_url)
    return urlunsplit((base.scheme, base.netloc, parsed.path, parsed.query, ""))


def _outcome_labels() -> dict[str, str]:
    labels = {str(k): str(v) for k, v in TargetState.choices}
    labels.update(
        {
            "edited": _("Edited"),
            "waiting": _("Sent; the network is still processing it"),
            "rate_limited": _("Rate limited"),
            "transient": _("Temporary error"),
            "auth_expired": _("Credentials expired"),
            "rejected": _("Refused by the network"),
            "duplicate": _("Already on the network"),
            "media_processing": _("Media still processing"),
            "unknown_outcome": _("Outcome unknown"),
            "not_supported": _("Not supported by the network"),
        }
    )
    return labels


def _known_causes() -> dict[str, str]:
    """The engine's fixed causes and messages (stored in English, as recorded), in the reader's
    language; anything else (a network's own words) is shown as it was recorded."""
    return {
        "publishing": _("Publishing started"),
        "published": _("Published"),
        "Published.": _("Published."),
        "edit requested": _("Edit requested"),
        "edited on the network": _("Edited on the network"),
        "Edited on the network.": _("Edited on the network."),
        "unscheduled": _("Taken off the schedule"),
        "cancelled": _("Cancelled"),
        "retry requested": _("Retry requested"),
        "publish anyway": _("Publish anyway"),
        "channel reconnected": _("Channel reconnected"),
        "channel settings need fixing": _("Channel settings need fixing"),
        "channel settings fixed": _("Channel settings fixed"),
        "channel needs reconnecting": _("Channel needs reconnecting"),
        "channel removed": _("Channel removed"),
        "credentials expired": _("Credentials expired"),
        "a person confirmed it is on the channel": _("A person confirmed it is on the channel"),
        "a person asked to publish it again": _("A person asked to publish it again"),
        "the network refused the post": _("The network refused the post"),
        "the network refused the edit": _("The network refused the edit"),
        "not published within the late window": _("Not published within the late window"),
        "outcome unknown; will check": _("Outcome unknown; Rupor will check"),
        "sent; waiting for the network to finish": _("Sent; waiting for the network to finish"),
        "Sent; the network is still processing it.": _("Sent; the network is still processing it."),
    }


_SCHEDULED_FOR = re.compile(r"^(re)?scheduled for (\S+)$")


def _cause(text: str, known: dict[str, str]) -> str:
    if text in known:
        return known[text]
    found = _SCHEDULED_FOR.match(text)
    if found:
        try:
            when = dt.datetime.fromisoformat(found.group(2))
        except ValueError:
            return text
        local = timezone.localtime(when).strftime("%Y-%m-%d %H:%M")
        return (_("Rescheduled for %(when)s") if found.group(1) else _("Scheduled for %(when)s")) % {
            "when": local
        }
    return text


@workspace_view(Perm.POSTS_INTERNAL)  # attempt logs are the team's, not the client's
@require_GET
def target(request: HttpRequest, target_id: int) -> HttpResponseBase:
    _own(request, target_id)
    found = publishing.history(target_id)
    if found is None:
        raise Http404
    ws = _ws(request)
    chosen = next(iter(publishing.needing_attention(ws.pk).filter(pk=target_id)), None)
    channel = Channel.objects.filter(workspace_id=ws.pk, pk=found.summary.channel_id).first()
    labels = _outcome_labels()
    known = _known_causes()
    return render(
        request,
        "web/publishing_target.html",
        {
            "h": found,
            "target": chosen,
            "state_label": labels.get(found.summary.state, found.summary.state),
            "can_act": can(workspace_request(request).role, Perm.POSTS_PUBLISH),
            "post": planning.post_of_variant(ws.pk, found.summary.variant_id),
            "channel": channel,
            "network_url": network_address(found.summary.remote_url, channel.base_url if channel else ""),
            "attempts": [
                {"a": a, "outcome": labels.get(a.outcome, a.outcome), "message": _cause(a.message, known)}
                for a in found.attempts
            ],
            "events": [
                {
                    "e": e,
                    "from": labels.get(e.from_state, e.from_state),
                    "to": labels.get(e.to_state, e.to_state),
                    "cause": _cause(e.cause, known),
                }
                for e in found.events
            ],
        },
    )


@workspace_view(Perm.POSTS_PUBLISH)
@require_POST
def act(request: HttpRequest, target_id: int) -> HttpResponseBase:
    _own(request, target_id)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        messages.error(request, _("Choose what to do with this publication."))
        return redirect("web:publishing")
    who = _actor(request)
    actor = who.label
    try:
        with transaction.atomic():
            if action in ("published", "republish"):
                publishing.resolve_unconfirmed(
                    target_id,
                    action,
                    actor=actor,
                    remote_url=request.POST.get("remote_url", "").strip(),
                    by=who,
                )
            elif action == "anyway":
                publishing.publish_anyway(target_id, actor=actor, by=who)
            else:
                publishing.retry_failed(_ws(request).pk, [target_id], actor=actor, by=who)
    except publishing.ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            {
                "published": _("Marked as published. Nothing is sent again."),
                "republish": _("It goes out again now, as a new post."),
                "anyway": _("It goes out now, late, as you asked."),
                "retry": _("It goes out again now."),
            }[action],
        )
    if request.POST.get("next") == "target":
        return redirect("web:publishing_target", target_id=target_id)
    return redirect("web:publishing")


@workspace_view(Perm.POSTS_PUBLISH)
@require_POST
def retry_all(request: HttpRequest) -> HttpResponseBase:
    with transaction.atomic():
        who = _actor(request)
        count = publishing.retry_failed(_ws(request).pk, None, actor=who.label, by=who)
    if count:
        messages.success(
            request,
            ngettext(
                "%(n)s failed publication goes out again now.",
                "%(n)s failed publications go out again now.",
                count,
            )
            % {"n": count},
        )
    else:
        messages.info(request, _("There is nothing failed to retry."))
    return redirect("web:publishing")


urlpatterns: list[URLPattern] = [
    path("publishing/", overview, name="publishing"),
    path("publishing/retry-failed/", retry_all, name="publishing_retry_all"),
    path("publishing/targets/<int:target_id>/", target, name="publishing_target"),
    path("publishing/targets/<int:target_id>/act/", act, name="publishing_act"),
]
