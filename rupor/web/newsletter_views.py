"""Newsletters: lists and newsletters (/newsletters/), one list's subscribers, segments, welcome
chain and import, one newsletter with its schedule and delivery statistics, and the public
one-click unsubscribe page (/u/<token>/). Views parse, call newsletters.service and render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rupor.accounts.roles import Perm, can
from rupor.channels import service as channels
from rupor.core import clock
from rupor.core.timezones import LocalTimeError, to_local, to_utc
from rupor.links import service as links
from rupor.newsletters import service
from rupor.newsletters.service import NewsletterError
from rupor.web.base import _actor, workspace_request, workspace_view


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _refused(request: HttpRequest, exc: NewsletterError) -> None:
    messages.error(request, exc.message)


@workspace_view(Perm.NEWSLETTERS_VIEW)
@require_http_methods(["GET", "POST"])
def newsletters_page(request: HttpRequest) -> HttpResponseBase:
    here = workspace_request(request)
    ws = here.workspace
    if request.method == "POST":
        try:
            if request.POST.get("action") == "list":
                list_id = service.create_list(
                    _actor(request),
                    service.ListInput(
                        channel_id=_int(request.POST.get("channel_id")) or 0,
                        name=request.POST.get("name", ""),
                        key=request.POST.get("key", ""),
                        keyword=request.POST.get("keyword", ""),
                        is_default=bool(request.POST.get("is_default")),
                    ),
                )
                return redirect("web:newsletter_list", list_id=list_id)
            newsletter_id = service.create_newsletter(
                _actor(request),
                service.NewsletterInput(
                    list_id=_int(request.POST.get("list_id")) or 0,
                    title=request.POST.get("title", ""),
                    text=request.POST.get("text", ""),
                    purpose=request.POST.get("purpose", "useful"),
                    segment_id=_int(request.POST.get("segment_id")),
                ),
            )
            return redirect("web:newsletter", newsletter_id=newsletter_id)
        except NewsletterError as exc:
            _refused(request, exc)
    lists = service.list_rows(ws.pk)
    mixes = {row.id: service.mix(ws.pk, row.id) for row in lists}
    items = []
    for n in service.newsletters(ws.pk)[:100]:
        items.append({"n": n, "stats": service.stats(ws.pk, n.pk)})
    return render(
        request,
        "web/newsletters.html",
        {
            "lists": [{"row": row, "mix": mixes[row.id]} for row in lists],
            "items": items,
            "channels": service.messaging_channels(ws.pk),
            "segments": service.segments(ws.pk),
            "may_send": can(here.role, Perm.NEWSLETTERS_SEND),
            "may_draft": can(here.role, Perm.NEWSLETTERS_DRAFT),
            "selling_limit": service.SELLING_SHARE,
            "form": request.POST if request.method == "POST" else {},
        },
        status=400 if request.method == "POST" else 200,
    )


@workspace_view(Perm.NEWSLETTERS_VIEW)
@require_http_methods(["GET", "POST"])
def newsletter_list(request: HttpRequest, list_id: int) -> HttpResponseBase:
    here = workspace_request(request)
    try:
        lst = service.get_list(here.workspace.pk, list_id)
    except NewsletterError as exc:
        return HttpResponse(exc.message, status=404)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "segment":
                service.create_segment(
                    _actor(request),
                    lst.pk,
                    request.POST.get("name", ""),
                    tag=request.POST.get("tag", ""),
                    source=request.POST.get("source", ""),
                    active_within_days=_int(request.POST.get("active_within_days")),
                )
                messages.success(request, _("Segment added."))
            elif action == "welcome":
                service.add_welcome_step(
                    _actor(request),
                    lst.pk,
                    request.POST.get("text", ""),
                    _int(request.POST.get("delay_hours")) or 0,
                    request.POST.get("purpose", "useful"),
                )
                messages.success(request, _("Welcome message added."))
            elif action == "import":
                result = service.import_subscribers(
                    _actor(request), lst.pk, request.POST.get("rows", "")[:1_000_000]
                )
                messages.success(request, _("Added: %(n)s.") % {"n": result.added})
                for line, why in result.refused[:20]:
                    messages.warning(request, _("Line %(line)s: %(why)s") % {"line": line, "why": why})
            return redirect("web:newsletter_list", list_id=lst.pk)
        except NewsletterError as exc:
            _refused(request, exc)
    row = next(r for r in service.list_rows(here.workspace.pk) if r.id == lst.pk)
    status = request.GET.get("status", "")
    return render(
        request,
        "web/newsletter_list.html",
        {
            "lst": lst,
            "row": row,
            "subscriptions": service.subscriptions(here.workspace.pk, lst.pk, status=status)[:200],
            "status": status,
            "segments": service.segments(here.workspace.pk, lst.pk),
            "steps": lst.welcome_steps.all(),
            "may_send": can(here.role, Perm.NEWSLETTERS_SEND),
            "stop_words": sorted(service.STOP_WORDS),
        },
    )


def _schedule_at(request: HttpRequest, zone: str) -> dt.datetime:
    raw = request.POST.get("scheduled_at", "")
    if not raw:
        return clock.now()
    try:
        return to_utc(dt.datetime.fromisoformat(raw).replace(tzinfo=None), zone)
    except (ValueError, OverflowError):  # not a date, or one at the edge of the calendar
        raise NewsletterError(_("A date and time, please."), "scheduled_at") from None
    except LocalTimeError as exc:
        raise NewsletterError(str(exc), "scheduled_at") from None


@workspace_view(Perm.NEWSLETTERS_VIEW)
@require_GET
def newsletter_page(request: HttpRequest, newsletter_id: int) -> HttpResponseBase:
    here = workspace_request(request)
    try:
        n = service.get_newsletter(here.workspace.pk, newsletter_id)
    except NewsletterError as exc:
        return HttpResponse(exc.message, status=404)
    zone = here.workspace.timezone
    suggested = to_local(clock.now() + dt.timedelta(hours=1), zone).replace(minute=0, second=0, microsecond=0)
    channel = channels.find_channel(n.list.channel_id, removed_too=True)
    network = channel.network if channel is not None else ""
    stats = service.stats(here.workspace.pk, n.pk)
    conv = links.conventions(here.workspace.pk)
    return render(
        request,
        "web/newsletter.html",
        {
            "n": n,
            "stats": stats,
            "network": network,
            "rates": _rates(stats),
            "links": links.newsletter_links(here.workspace.pk, n.pk),
            "tracking": conv.newsletter_links,
            "medium": conv.newsletter_medium,
            # Before it goes out: the text as it will be sent (nothing is made for the preview).
            "preview": service.tracked_text(n, network, store=False) if network and not n.sent_text else "",
            "problems": service.problems(here.workspace.pk, n.pk),
            "reach": service.audience(n.list, n.segment, clock.now()).count(),
            "mix": service.mix(here.workspace.pk, n.list_id),
            "selling_limit": service.SELLING_SHARE,
            "may_send": can(here.role, Perm.NEWSLETTERS_SEND),
            "suggested": f"{suggested:%Y-%m-%dT%H:%M}",
            "tz": zone,
        },
    )


def _rates(stats: service.Stats) -> dict[str, int | None]:
    """Read and clicked as whole percents of the messages delivered (None: not known)."""

    def share(part: int | None) -> int | None:
        return round(part * 100 / stats.sent) if part is not None and stats.sent else None

    return {"read": share(stats.read), "clicked": share(stats.unique_clicks)}


@workspace_view(Perm.NEWSLETTERS_SEND)
@require_POST
def newsletter_action(request: HttpRequest, newsletter_id: int) -> HttpResponseBase:
    here = workspace_request(request)
    try:
        if request.POST.get("action") == "cancel":
            service.cancel(_actor(request), newsletter_id)
            messages.success(request, _("Cancelled: nothing more goes out."))
        else:
            at = (
                clock.now()
                if request.POST.get("action") == "now"
                else _schedule_at(request, here.workspace.timezone)
            )
            service.schedule(_actor(request), newsletter_id, at)
            messages.success(request, _("Scheduled. Quiet hours hold messages until they end."))
    except NewsletterError as exc:
        if exc.status == 404:  # not this workspace's: nothing to go back to
            raise Http404(str(exc)) from exc
        _refused(request, exc)
    return redirect("web:newsletter", newsletter_id=newsletter_id)


def _private(response: HttpResponseBase) -> HttpResponseBase:
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponseBase:
    """The link at the foot of every message: one button, no sign-in. A GET changes nothing
    (link previews and mail scanners open links); the button's POST unsubscribes."""
    sub = service.subscription_by_token(token)
    if sub is None:
        return _private(render(request, "web/unsubscribe.html", {"invalid": True}, status=404))
    done = False
    if request.method == "POST":
        done = service.unsubscribe_by_token(token)
        sub = service.subscription_by_token(token)
    return _private(
        render(request, "web/unsubscribe.html", {"sub": sub, "done": done, "token": token, "invalid": False})
    )


urlpatterns: list[URLPattern] = [
    path("newsletters/", newsletters_page, name="newsletters"),
    path("newsletters/lists/<int:list_id>/", newsletter_list, name="newsletter_list"),
    path("newsletters/<int:newsletter_id>/", newsletter_page, name="newsletter"),
    path("newsletters/<int:newsletter_id>/action/", newsletter_action, name="newsletter_action"),
    path("u/<str:token>/", unsubscribe, name="unsubscribe"),
]
