"""Giveaways: the list, the form, one giveaway's page with its steps (announce, close, draw),
and, for anyone without signing in, its public page, its files and the verifier that recomputes
a draw from the files. Views parse, call giveaways.service and render."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rupor.accounts.roles import Perm, can
from rupor.channels import service as channels
from rupor.core import clock, config, timezones
from rupor.giveaways import service
from rupor.giveaways.service import GiveawayError, GiveawayInput
from rupor.networks import registry
from rupor.web.base import WorkspaceRequest, _actor, _bind_error, workspace_view
from rupor.web.forms import LOCAL_INPUT_FORMAT

#: The verifier reads at most this much of what is uploaded (three files of a big giveaway).
MAX_UPLOAD = 20 * 1024 * 1024
FILE_NAMES = ("rules.json", "entrants.json", "draw.json", "bundle.json")
#: The verifier's steps, in the order it checks them, as people read them.
STEP_LABELS = {
    "rules_hash": gettext_lazy("SHA-256 of the rules file"),
    "entrants_name_rules": gettext_lazy("The entrant list and the draw name these rules"),
    "list_sorted": gettext_lazy("The entrant list is sorted and has no repeats"),
    "list_hash": gettext_lazy("SHA-256 of the entrant list (one id per line) matches the published hash"),
    "beacon_named": gettext_lazy("The beacon round used is the one named in the rules"),
    "frozen_before_beacon": gettext_lazy("The list was frozen before that round was emitted"),
    "beacon_randomness": gettext_lazy("The beacon's randomness is SHA-256 of its signature"),
    "seed": gettext_lazy("Seed = SHA-256(list hash ‖ randomness)"),
    "order": gettext_lazy("The drawn order recomputed"),
    "winners": gettext_lazy(
        "Winners: the first drawn who passed the re-check; the rest eligible are the reserve"
    ),
}
STATE_LABELS = {
    "draft": gettext_lazy("Draft"),
    "announced": gettext_lazy("Announced"),
    "closed": gettext_lazy("List frozen"),
    "drawn": gettext_lazy("Drawn"),
    "cancelled": gettext_lazy("Cancelled"),
}


class GiveawayForm(djforms.Form):
    channel = djforms.TypedChoiceField(label=gettext_lazy("Channel"), coerce=int)
    title = djforms.CharField(label=gettext_lazy("Title"), max_length=200)
    prize = djforms.CharField(
        label=gettext_lazy("Prize"),
        required=False,
        max_length=2000,
        widget=djforms.Textarea(attrs={"rows": 2}),
    )
    starts_at = djforms.DateTimeField(
        label=gettext_lazy("Entries open"),
        input_formats=[LOCAL_INPUT_FORMAT],
        widget=djforms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT),
    )
    ends_at = djforms.DateTimeField(
        label=gettext_lazy("Entries close"),
        input_formats=[LOCAL_INPUT_FORMAT],
        widget=djforms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT),
    )
    post_remote_id = djforms.CharField(
        label=gettext_lazy("Contest post on the network (optional)"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Empty: the rules post Rupor drafts, once it is published."),
    )
    require_member = djforms.BooleanField(
        label=gettext_lazy("Member of the community"), required=False, initial=True
    )
    require_like = djforms.BooleanField(label=gettext_lazy("Liked the post"), required=False)
    require_repost = djforms.BooleanField(label=gettext_lazy("Reposted the post"), required=False)
    comment_keyword = djforms.CharField(
        label=gettext_lazy("Commented with the word (optional)"), required=False, max_length=100
    )
    exclude_staff = djforms.BooleanField(
        label=gettext_lazy("Exclude the community's managers"), required=False, initial=True
    )
    excluded_ids = djforms.CharField(
        label=gettext_lazy("Also exclude (ids on the network, separated by spaces or commas)"),
        required=False,
        max_length=5000,
    )
    winners = djforms.IntegerField(
        label=gettext_lazy("Winners"), min_value=1, max_value=service.MAX_WINNERS, initial=1
    )
    reserve = djforms.IntegerField(
        label=gettext_lazy("Reserve"), min_value=0, max_value=service.MAX_RESERVE, initial=3
    )
    beacon_url = djforms.URLField(
        assume_scheme="https",
        label=gettext_lazy("drand relay"),
        help_text=gettext_lazy(
            "The public randomness beacon (League of Entropy's quicknet, a round every 3 s)."
        ),
    )

    def __init__(self, *args: Any, channel_choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = channel_choices  # type: ignore[attr-defined]  # a ChoiceField

    def to_input(self, tz: str) -> GiveawayInput:
        d = self.cleaned_data
        ids = tuple(x for x in d.get("excluded_ids", "").replace(",", " ").split() if x)
        return GiveawayInput(
            channel_id=d["channel"],
            title=d["title"],
            prize=d.get("prize") or "",
            starts_at=timezones.to_utc(d["starts_at"].replace(tzinfo=None), tz),
            ends_at=timezones.to_utc(d["ends_at"].replace(tzinfo=None), tz),
            post_remote_id=d.get("post_remote_id") or "",
            require_member=bool(d.get("require_member")),
            require_like=bool(d.get("require_like")),
            require_repost=bool(d.get("require_repost")),
            comment_keyword=d.get("comment_keyword") or "",
            exclude_staff=bool(d.get("exclude_staff")),
            excluded_ids=ids,
            winners=d["winners"],
            reserve=d["reserve"],
            beacon_url=d["beacon_url"],
        )


def _capability_rows(workspace_id: int) -> list[dict[str, Any]]:
    """Per network of the workspace's channels: which conditions Rupor can check there."""
    rows = []
    for network in sorted({c.network for c in channels.workspace_channels(workspace_id)}):
        checks = service.checks_for(network)
        rows.append(
            {
                "network": registry.display_name(network),
                "checks": [(str(service.CONDITION_LABELS[k]), ok) for k, ok in checks.items()],
                "collects": service.can_collect(network),
            }
        )
    return rows


@workspace_view(Perm.GIVEAWAYS_VIEW)
@require_GET
def giveaways(request: WorkspaceRequest) -> HttpResponseBase:
    return render(
        request,
        "web/giveaways.html",
        {
            "giveaways": service.list_giveaways(_actor(request)),
            "states": STATE_LABELS,
            "may_manage": can(request.role, Perm.GIVEAWAYS_MANAGE),
        },
    )


@workspace_view(Perm.GIVEAWAYS_MANAGE)
@require_http_methods(["GET", "POST"])
def giveaway_new(request: WorkspaceRequest) -> HttpResponseBase:
    choices = [
        (c.id, f"{c.name} ({registry.display_name(c.network)})")
        for c in channels.workspace_channels(request.workspace.pk)
    ]
    tz = request.workspace.timezone
    status = 200
    if request.method == "POST":
        form = GiveawayForm(request.POST, channel_choices=choices)
        if form.is_valid():
            try:
                made = service.create_giveaway(_actor(request), form.to_input(tz))
            except GiveawayError as exc:
                _bind_error(form, exc.field if exc.field in form.fields else None, exc.message)
            except timezones.LocalTimeError as exc:
                _bind_error(form, "starts_at", str(exc))
            else:
                messages.success(request, _("The giveaway was created. Check it, then announce it."))
                return redirect("web:giveaway", giveaway_id=made.pk)
        status = 400
    else:
        now = timezones.to_local(clock.now(), tz).replace(second=0, microsecond=0)
        form = GiveawayForm(
            channel_choices=choices,
            initial={
                "starts_at": now,
                "ends_at": now + dt.timedelta(days=7),
                "beacon_url": config.drand_url(),
            },
        )
    return render(
        request,
        "web/giveaway_form.html",
        {"form": form, "capabilities": _capability_rows(request.workspace.pk), "tz": tz},
        status=status,
    )


def _order_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    winners, reserve = set(doc.get("winners", [])), set(doc.get("reserve", []))
    rows = []
    for i, row in enumerate(doc.get("rechecks", []), 1):
        entrant = row["entrant"]
        rows.append(
            {
                "n": i,
                "entrant": entrant,
                "winner": entrant in winners,
                "reserve": entrant in reserve,
                "reason": service.REASONS.get(row.get("reason", ""), row.get("reason", "")),
            }
        )
    return rows


def _context(giveaway: Any) -> dict[str, Any]:
    rules = json.loads(giveaway.rules_json) if giveaway.rules_json else None
    entrants = json.loads(giveaway.entrants_json) if giveaway.entrants_json else None
    doc = service.draw_record(giveaway)
    return {
        "g": giveaway,
        "state_label": STATE_LABELS.get(giveaway.state, giveaway.state),
        "network": registry.display_name(giveaway.channel.network),
        "rules": rules,
        "rules_hash": service.rules_hash(giveaway),
        "entrants": entrants,
        "draw": doc,
        "order": _order_rows(doc) if doc else [],
        "files": list(service.published_files(giveaway)),
        "round_time": service.round_time(giveaway),
        "public_path": service.public_path(giveaway),
        "checks": [
            (str(service.CONDITION_LABELS[k]), ok)
            for k, ok in service.checks_for(giveaway.channel.network).items()
        ],
    }


@workspace_view(Perm.GIVEAWAYS_VIEW)
@require_GET
def giveaway(request: WorkspaceRequest, giveaway_id: int) -> HttpResponseBase:
    try:
        found = service.get_giveaway(_actor(request), giveaway_id)
    except GiveawayError as exc:
        raise Http404 from exc
    context = _context(found)
    context.update(
        {
            "may_manage": can(request.role, Perm.GIVEAWAYS_MANAGE),
            "contest_post": service.contest_post(found) if found.state == "announced" else "",
            "now": clock.now(),
        }
    )
    return render(request, "web/giveaway.html", context)


ACTIONS = {
    "announce": (
        service.announce,
        gettext_lazy("The rules are frozen and published; the rules post waits in Posts as a draft."),
    ),
    "close": (service.close, gettext_lazy("The entrant list is collected, frozen and hashed.")),
    "draw": (
        service.draw,
        gettext_lazy("The winners are drawn; the results post waits in Posts as a draft."),
    ),
    "cancel": (service.cancel, gettext_lazy("The giveaway is cancelled.")),
}


@workspace_view(Perm.GIVEAWAYS_MANAGE)
@require_POST
def giveaway_action(request: WorkspaceRequest, giveaway_id: int, action: str) -> HttpResponseBase:
    if action not in ACTIONS:
        raise Http404
    act, done = ACTIONS[action]
    try:
        act(_actor(request), giveaway_id)
    except GiveawayError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, str(done))
    return redirect("web:giveaway", giveaway_id=giveaway_id)


# -- public: no sign-in --------------------------------------------------------------------


def _public(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
def giveaway_public(request: HttpRequest, public_id: str) -> HttpResponseBase:
    try:
        found = service.public_giveaway(public_id)
    except GiveawayError as exc:
        raise Http404 from exc
    return _public(render(request, "web/giveaway_public.html", _context(found)))


@require_GET
def giveaway_file(request: HttpRequest, public_id: str, name: str) -> HttpResponseBase:  # noqa: ARG001 - Django passes the request to every view
    try:
        found = service.public_giveaway(public_id)
    except GiveawayError as exc:
        raise Http404 from exc
    files = service.published_files(found)
    if name == "bundle.json" and files:
        text = service.bundle(found)
    elif name in files:
        text = files[name]
    else:
        raise Http404
    response = HttpResponse(text.encode(), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="giveaway-{found.public_id}-{name}"'
    return _public(response)


def _read_uploads(request: HttpRequest) -> list[Any]:
    documents: list[Any] = []
    total = 0
    for upload in request.FILES.getlist("files"):
        total += upload.size or 0
        if total > MAX_UPLOAD:
            raise ValueError(_("The files are too large."))
        try:
            documents.append(json.loads(upload.read().decode("utf-8")))
        except (UnicodeDecodeError, ValueError):
            raise ValueError(_("%(name)s is not a JSON file.") % {"name": upload.name}) from None
    return documents


@require_http_methods(["GET", "POST"])
def giveaway_verify(request: HttpRequest) -> HttpResponseBase:
    """Anyone uploads the published files (or opens a giveaway's own) and sees the draw recomputed."""
    context: dict[str, Any] = {"labels": STEP_LABELS, "reasons": service.REASONS}
    documents: list[Any] = []
    public_id = request.GET.get("g", "")
    status = 200
    try:
        if request.method == "POST":
            documents = _read_uploads(request)
        elif public_id:
            found = service.public_giveaway(public_id)
            documents = [json.loads(t) for t in service.published_files(found).values()]
            context["source"] = found
        if documents:
            result = service.verify_files(documents)
            context["result"] = result
            context["steps"] = [(STEP_LABELS.get(s.key, s.key), s) for s in result.steps]
            context["replaced"] = [
                (r["entrant"], service.REASONS.get(r["reason"], r["reason"])) for r in result.replaced
            ]
    except (ValueError, GiveawayError) as exc:
        context["error"] = getattr(exc, "message", str(exc))
        status = 400
    return _public(render(request, "web/giveaway_verify.html", context, status=status))


urlpatterns: list[URLPattern] = [
    path("giveaways/", giveaways, name="giveaways"),
    path("giveaways/new/", giveaway_new, name="giveaway_new"),
    path("giveaways/verify/", giveaway_verify, name="giveaway_verify"),
    path("giveaways/public/<str:public_id>/", giveaway_public, name="giveaway_public"),
    path("giveaways/public/<str:public_id>/<str:name>", giveaway_file, name="giveaway_file"),
    path("giveaways/<int:giveaway_id>/", giveaway, name="giveaway"),
    path("giveaways/<int:giveaway_id>/<str:action>/", giveaway_action, name="giveaway_action"),
]
