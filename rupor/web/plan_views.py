"""The plan's other pages: rubrics and the mix, queue slots, media library, import/export, and the client's review page.

Views parse input, call ``rupor.planning`` (mix, slots, media, plan_io, approvals) and render. The
permission each action needs is the one the API uses for it; the services check it again.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms as djforms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rupor.accounts.models import Workspace
from rupor.accounts.roles import Perm, can
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.core.timezones import zone
from rupor.networks import registry
from rupor.planning import approvals, mix, plan_io, slots
from rupor.planning import media as media_lib
from rupor.planning.models import ClientLink, Media, Post, Review
from rupor.planning.service import PlanningError
from rupor.web import previews
from rupor.web.base import _actor, _safe_next, _ws, workspace_request, workspace_view

log = logging.getLogger(__name__)

MAX_PERIOD_DAYS = 400
LINK_LIFETIMES_DAYS = (1, 3, 7, 14, 30)
IMPORT_SESSION_KEY = "rupor_plan_import"
_MONTH = re.compile(r"(\d{4})-(\d{2})")


# -- the period every plan page looks at ---------------------------------------------------


@dataclass
class Period:
    first: dt.date  # local, inclusive
    last: dt.date  # local, inclusive
    start: dt.datetime  # UTC
    end: dt.datetime  # UTC, exclusive
    is_month: bool
    errors: dict[str, str]

    def params(self) -> dict[str, str]:
        if self.is_month:
            return {"month": f"{self.first:%Y-%m}"}
        return {"start": self.first.isoformat(), "end": self.last.isoformat()}

    @property
    def query(self) -> str:
        return urlencode(self.params())

    def month_query(self, delta: int) -> str:
        year, month = divmod(self.first.year * 12 + self.first.month - 1 + delta, 12)
        return urlencode({"month": f"{year:04d}-{month + 1:02d}"})

    @property
    def prev_query(self) -> str:
        return self.month_query(-1)

    @property
    def next_query(self) -> str:
        return self.month_query(1)


def _midnight(day: dt.date, tz: str) -> dt.datetime:
    """The UTC instant a local day starts (a midnight skipped by DST moves forward)."""
    return slots.slot_instant(day, dt.time(0), tz)


def _month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def parse_period(data: QueryDict, tz: str) -> Period:
    """The period asked for (``month=YYYY-MM`` or ``start``/``end`` dates), else this month."""
    errors: dict[str, str] = {}
    today = clock.now().astimezone(zone(tz)).date()
    first, last = _month_bounds(today.year, today.month)
    is_month = True
    month = (data.get("month") or "").strip()
    start_text, end_text = (data.get("start") or "").strip(), (data.get("end") or "").strip()
    if month:
        match = _MONTH.fullmatch(month)
        if match and 1 <= int(match[2]) <= 12 and 1900 <= int(match[1]) <= 9998:
            first, last = _month_bounds(int(match[1]), int(match[2]))
        else:
            errors["month"] = _("Write the month as YYYY-MM.")
    elif start_text or end_text:
        start_day = _parse_date(start_text) if start_text else None
        end_day = _parse_date(end_text) if end_text else None
        if start_day is None:
            errors["start"] = (
                _("Pick the first day of the period.")
                if not start_text
                else _("This is not a date (YYYY-MM-DD).")
            )
        if end_day is None:
            errors["end"] = (
                _("Pick the last day of the period.")
                if not end_text
                else _("This is not a date (YYYY-MM-DD).")
            )
        if start_day and end_day:
            if end_day < start_day:
                errors["end"] = _("The period ends before it starts.")
            elif (end_day - start_day).days + 1 > MAX_PERIOD_DAYS:
                errors["end"] = _("A period is at most %(days)s days long.") % {"days": MAX_PERIOD_DAYS}
            else:
                first, last, is_month = start_day, end_day, False
    return Period(
        first, last, _midnight(first, tz), _midnight(last + dt.timedelta(days=1), tz), is_month, errors
    )


def _local_input(moment: dt.datetime, tz: str) -> str:
    return moment.astimezone(zone(tz)).strftime("%Y-%m-%dT%H:%M")


def _cadence_label(hours: int) -> str:
    if hours % 24 == 0:
        days = hours // 24
        return ngettext("a post every day", "a post every %(n)s days", days) % {"n": days}
    return ngettext("a post every hour", "a post every %(n)s hours", hours) % {"n": hours}


def _suggested_time(gap: mix.Gap) -> dt.datetime:
    """A time inside the gap to prefill "New post" with: one cadence after the last post, not in the past."""
    when = gap.start + dt.timedelta(hours=gap.cadence_hours)
    if when >= gap.end:
        when = gap.start + (gap.end - gap.start) / 2
    earliest = clock.now() + dt.timedelta(hours=1)
    if when < earliest:
        when = earliest if earliest < gap.end else when
    return when.replace(minute=0, second=0, microsecond=0)


def _share_rows(channel_mix: mix.ChannelMix, colours: dict[int, str]) -> list[dict[str, Any]]:
    rows = []
    for share in channel_mix.rubrics:
        rows.append(
            {
                "name": _(share.name) if share.name else "",
                "rubric_id": share.rubric_id,
                "posts": share.posts,
                "share": share.share,
                "target": share.target_share,
                "selling": share.is_selling,
                "over": share.over_target,
                "colour": colours.get(share.rubric_id or 0, "#9aa3b2"),
                "width": f"{min(share.share, 100.0):.1f}%",
                "target_left": f"{min(share.target_share, 100)}%",
            }
        )
    return rows


def _mix_cards(ws: Workspace, period: Period) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """The mix meter and gap warnings per channel; a refusal of the service comes back as text."""
    try:
        report = mix.mix(ws.pk, period.start, period.end)
        gap_list = mix.gaps(ws.pk, period.start, period.end)
    except PlanningError as exc:
        return [], [], exc.message
    colours = {r.pk: r.color for r in mix.list_rubrics(ws.pk)}
    networks = {c.pk: c.network for c in Channel.objects.filter(workspace=ws)}
    cards = []
    for m in report:
        over_selling = m.total > 0 and m.selling_share > m.selling_target
        selling = [s for s in m.rubrics if s.is_selling]
        # With one selling rubric its own warning repeats the 80/20 one; say it once.
        over = [s for s in m.rubrics if s.over_target] if not (over_selling and len(selling) == 1) else []
        cards.append(
            {
                "mix": m,
                "rows": _share_rows(m, colours),
                "over_selling": over_selling,
                "selling_width": f"{min(m.selling_share, 100.0):.1f}%",
                "selling_left": f"{min(m.selling_target, 100)}%",
                "has_selling": any(s.is_selling for s in m.rubrics),
                "over_rubrics": [
                    {"name": _(s.name), "share": s.share, "target": s.target_share} for s in over
                ],
            }
        )
    gaps = []
    for g in gap_list:
        gaps.append(
            {
                "gap": g,
                "past": g.end <= clock.now(),
                "network": networks.get(g.channel_id, ""),
                "cadence": _cadence_label(g.cadence_hours),
                "length": timesince(g.start, g.end, depth=2),
                "new_url": reverse("web:post_new")
                + "?"
                + urlencode(
                    {
                        "scheduled_at": _local_input(_suggested_time(g), ws.timezone),
                        "channel": g.channel_id,
                    }
                ),
            }
        )
    return cards, gaps, ""


def _client_links(ws: Workspace) -> list[ClientLink]:
    return list(
        ClientLink.objects.filter(workspace=ws, revoked_at__isnull=True, expires_at__gt=clock.now())
        .select_related("post", "created_by")
        .order_by("-created_at")[:50]
    )


def _plan_context(request: HttpRequest, period: Period, **extra: Any) -> dict[str, Any]:
    ws = _ws(request)
    role = workspace_request(request).role
    cards, gaps, mix_error = _mix_cards(ws, period)
    ideas = list(mix.ideas(ws.pk)[:50])
    may_link = can(role, Perm.POSTS_APPROVE)
    pending = 0
    if may_link:
        pending = Post.objects.filter(
            workspace=ws,
            status=Post.Status.CLIENT_REVIEW,
            scheduled_at__gte=period.start,
            scheduled_at__lt=period.end,
        ).count()
    return {
        "period": period,
        "cards": cards,
        "gaps": gaps,
        "mix_error": mix_error,
        "ideas": ideas,
        "has_rubrics": mix.list_rubrics(ws.pk).exists(),
        "has_channels": channels.list_channels(ws.pk).exists(),
        "may_link": may_link,
        "client_mode": ws.approval == Workspace.Approval.CLIENT,
        "links": _client_links(ws) if may_link else [],
        "lifetimes": LINK_LIFETIMES_DAYS,
        "pending_in_period": pending,
        "tab": "plan",
        "tz": ws.timezone,
        **extra,
    }


@workspace_view(Perm.POSTS_VIEW)
@require_GET
def plan(request: HttpRequest) -> HttpResponseBase:
    period = parse_period(request.GET, _ws(request).timezone)
    return render(
        request, "web/plan.html", _plan_context(request, period), status=400 if period.errors else 200
    )


@workspace_view(Perm.POSTS_EDIT)
@require_POST
def idea_queue(request: HttpRequest, post_id: int) -> HttpResponseBase:
    """Give a backlog idea the next free queue slot of its channels."""
    try:
        post = slots.add_to_queue(_actor(request), post_id)
    except PlanningError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
    else:
        assert post.scheduled_at is not None
        when = timezone.localtime(post.scheduled_at)
        messages.success(
            request,
            _("“%(post)s” takes the queue slot on %(when)s (%(tz)s).")
            % {
                "post": str(post)[:60],
                "when": when.strftime("%Y-%m-%d %H:%M"),
                "tz": _ws(request).timezone,
            },
        )
    return redirect(_safe_next(request, "web:plan"))


# -- client review links (managers) ---------------------------------------------------------


@workspace_view(Perm.POSTS_APPROVE)
@require_POST
def client_link_create(request: HttpRequest) -> HttpResponseBase:
    ws = _ws(request)
    period = parse_period(request.POST, ws.timezone)
    try:
        days = int(request.POST.get("days", "7"))
    except ValueError:
        days = 0
    error = ""
    new_link: dict[str, Any] | None = None
    if period.errors:
        error = _("Pick a valid period first.")
    elif days not in LINK_LIFETIMES_DAYS:
        error = _("Choose how long the link works.")
    else:
        try:
            link = approvals.client_link_for(
                _actor(request), start=period.start, end=period.end, ttl=dt.timedelta(days=days)
            )
        except PlanningError as exc:
            error = exc.message
        else:
            token = link.url.rsplit("/", 1)[-1]
            new_link = {
                "url": request.build_absolute_uri(reverse("web:client_review", args=[token])),
                "expires_at": link.expires_at,
                "count": len(link.post_ids),
            }
    context = _plan_context(request, period, new_link=new_link, link_error=error)
    status = 400 if error else 201
    if getattr(request, "htmx", False):
        return render(request, "web/_plan_links.html", context, status=200)
    return render(request, "web/plan.html", context, status=status)


@workspace_view(Perm.POSTS_APPROVE)
@require_POST
def client_link_revoke(request: HttpRequest, link_id: int) -> HttpResponseBase:
    try:
        approvals.revoke_client_link(_actor(request), link_id)
    except PlanningError as exc:
        raise Http404 from exc
    messages.success(request, _("The review link was revoked; it stops working now."))
    return redirect(_safe_next(request, "web:plan"))


# -- rubrics ---------------------------------------------------------------------------------


class RubricForm(djforms.Form):
    name = djforms.CharField(label=gettext_lazy("Name"), required=False, max_length=200)
    color = djforms.CharField(
        label=gettext_lazy("Colour"),
        required=False,
        max_length=7,
        initial="#6b7280",
        widget=djforms.TextInput(attrs={"type": "color"}),
    )
    target_share = djforms.IntegerField(
        label=gettext_lazy("Target share, %"),
        required=False,
        initial=0,
        widget=djforms.NumberInput(attrs={"min": 0, "max": 100, "step": 1}),
        help_text=gettext_lazy(
            "The share of a channel's plan this rubric should have. All targets add up to at most 100 %."
        ),
    )
    is_selling = djforms.BooleanField(
        label=gettext_lazy("Selling content"),
        required=False,
        help_text=gettext_lazy(
            "Offers, prices, calls to buy. The plan warns when selling posts take more than their share."
        ),
    )

    def to_input(self) -> mix.RubricInput:
        data = self.cleaned_data
        return mix.RubricInput(
            name=data["name"] or "",
            color=data["color"] or "#6b7280",
            target_share=data["target_share"] or 0,
            is_selling=bool(data["is_selling"]),
        )


def _rubric_error(form: RubricForm, exc: PlanningError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _rubrics_page(
    request: HttpRequest,
    new_form: RubricForm | None = None,
    edit: tuple[int, RubricForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    ws = _ws(request)
    rows: list[dict[str, Any]] = []
    for rubric in mix.list_rubrics(ws.pk):
        if edit is not None and edit[0] == rubric.pk:
            form, is_open = edit[1], True
        else:
            form = RubricForm(
                prefix=f"r{rubric.pk}",
                initial={
                    "name": rubric.name,
                    "color": rubric.color,
                    "target_share": rubric.target_share,
                    "is_selling": rubric.is_selling,
                },
            )
            is_open = False
        rows.append({"rubric": rubric, "form": form, "open": is_open, "posts": rubric.posts.count()})
    total = sum(r["rubric"].target_share for r in rows)
    return render(
        request,
        "web/plan_rubrics.html",
        {
            "rows": rows,
            "form": new_form or RubricForm(prefix="new"),
            "total": total,
            "left": max(0, 100 - total),
            "may_manage": can(workspace_request(request).role, Perm.POSTS_PUBLISH),
            "tab": "rubrics",
        },
        status=status,
    )


@workspace_view(Perm.POSTS_VIEW)
@require_GET
def rubrics(request: HttpRequest) -> HttpResponseBase:
    return _rubrics_page(request)


@workspace_view(Perm.POSTS_PUBLISH)
@require_POST
def rubric_create(request: HttpRequest) -> HttpResponseBase:
    form = RubricForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            rubric = mix.create_rubric(_actor(request), form.to_input())
        except PlanningError as exc:
            _rubric_error(form, exc)
        else:
            messages.success(request, _("Rubric “%(name)s” added.") % {"name": rubric.name})
            return redirect("web:plan_rubrics")
    return _rubrics_page(request, new_form=form, status=400)


@workspace_view(Perm.POSTS_PUBLISH)
@require_POST
def rubric_update(request: HttpRequest, rubric_id: int) -> HttpResponseBase:
    if not mix.list_rubrics(_ws(request).pk).filter(pk=rubric_id).exists():
        raise Http404
    form = RubricForm(request.POST, prefix=f"r{rubric_id}")
    if form.is_valid():
        try:
            rubric = mix.update_rubric(_actor(request), rubric_id, form.to_input())
        except PlanningError as exc:
            if exc.status == 404:
                raise Http404 from exc
            _rubric_error(form, exc)
        else:
            messages.success(request, _("Rubric “%(name)s” saved.") % {"name": rubric.name})
            return redirect("web:plan_rubrics")
    return _rubrics_page(request, edit=(rubric_id, form), status=400)


@workspace_view(Perm.POSTS_PUBLISH)
@require_POST
def rubric_delete(request: HttpRequest, rubric_id: int) -> HttpResponseBase:
    try:
        mix.delete_rubric(_actor(request), rubric_id)
    except PlanningError as exc:
        raise Http404 from exc
    messages.success(request, _("The rubric was deleted; its posts stay, without a rubric."))
    return redirect("web:plan_rubrics")


# -- queue slots -----------------------------------------------------------------------------


class SlotForm(djforms.Form):
    weekday = djforms.TypedChoiceField(
        label=gettext_lazy("Day"),
        coerce=int,
        choices=[(i, WEEKDAYS[i]) for i in range(7)],
    )
    time = djforms.TimeField(
        label=gettext_lazy("Time"),
        input_formats=["%H:%M", "%H:%M:%S"],
        widget=djforms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={
            "invalid": gettext_lazy("Write the time as HH:MM, e.g. 10:30."),
            "required": gettext_lazy("Pick a time."),
        },
    )


def _next_free(ws: Workspace, channel_id: int, count: int = 5) -> list[dt.datetime]:
    out: list[dt.datetime] = []
    after: dt.datetime | None = None
    while len(out) < count:
        when = slots.next_free_slot(ws.pk, [channel_id], after=after)
        if when is None:
            break
        out.append(when)
        after = when
    return out


def _queue_page(
    request: HttpRequest, forms: dict[int, SlotForm] | None = None, status: int = 200
) -> HttpResponse:
    ws = _ws(request)
    forms = forms or {}
    by_channel: dict[int, list[slots.SlotView]] = {}
    for slot in slots.list_slots(ws.pk):
        by_channel.setdefault(slot.channel_id, []).append(slot)
    cards = []
    for channel in channels.list_channels(ws.pk).order_by("network", "name"):
        mine = by_channel.get(channel.pk, [])
        days = [
            {
                "weekday": i,
                "name": WEEKDAYS[i],
                "short": WEEKDAYS_ABBR[i],
                "slots": [s for s in mine if s.weekday == i],
            }
            for i in range(7)
        ]
        cards.append(
            {
                "channel": channel,
                "days": days,
                "count": len(mine),
                "form": forms.get(channel.pk)
                or SlotForm(prefix=f"c{channel.pk}", initial={"weekday": 0, "time": "10:00"}),
                "next": _next_free(ws, channel.pk) if mine else [],
            }
        )
    return render(
        request,
        "web/queue.html",
        {
            "cards": cards,
            "tz": ws.timezone,
            "may_manage": can(workspace_request(request).role, Perm.POSTS_PUBLISH),
        },
        status=status,
    )


@workspace_view(Perm.POSTS_VIEW)
@require_GET
def queue(request: HttpRequest) -> HttpResponseBase:
    return _queue_page(request)


@workspace_view(Perm.POSTS_PUBLISH)
@require_POST
def slot_add(request: HttpRequest, channel_id: int) -> HttpResponseBase:
    try:
        channel = channels.get_channel(_ws(request).pk, channel_id)
    except channels.ChannelError as exc:
        raise Http404 from exc
    form = SlotForm(request.POST, prefix=f"c{channel.pk}")
    if form.is_valid():
        try:
            slot = slots.add_slot(
                _actor(request), channel.pk, form.cleaned_data["weekday"], form.cleaned_data["time"]
            )
        except PlanningError as exc:
            if exc.status == 404:
                raise Http404 from exc
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("%(channel)s: a slot every %(day)s at %(time)s.")
                % {
                    "channel": channel.name,
                    "day": WEEKDAYS[slot.weekday],
                    "time": slot.time.strftime("%H:%M"),
                },
            )
            return redirect(reverse("web:queue") + f"#channel-{channel.pk}")
    return _queue_page(request, {channel.pk: form}, status=400)


@workspace_view(Perm.POSTS_PUBLISH)
@require_POST
def slot_delete(request: HttpRequest, slot_id: int) -> HttpResponseBase:
    try:
        slots.delete_slot(_actor(request), slot_id)
    except PlanningError as exc:
        raise Http404 from exc
    messages.success(request, _("The slot was removed."))
    return redirect("web:queue")


# -- media library ---------------------------------------------------------------------------

ACCEPT = ",".join(sorted(media_lib.EXTENSIONS))


def _media_page(
    request: HttpRequest, errors: list[str] | None = None, status: int = 200, delete_error: str = ""
) -> HttpResponse:
    ws = _ws(request)
    kind = request.GET.get("kind", "")
    if kind not in ("photo", "video"):
        kind = ""
    items = list(media_lib.list_media(ws.pk, kind or None)[:200])
    uses = media_lib.use_counts([m.pk for m in items])
    for item in items:
        item.used_by = uses.get(item.pk, 0)  # type: ignore[attr-defined]  # a display-only mark for the template
    return render(
        request,
        "web/media.html",
        {
            "items": items,
            "kind": kind,
            "errors": errors or [],
            "accept": ACCEPT,
            "delete_error": delete_error,
            "max_photo_mb": media_lib.MAX_PHOTO_BYTES // (1024 * 1024),
            "max_video_mb": media_lib.MAX_VIDEO_BYTES // (1024 * 1024),
            "may_upload": can(workspace_request(request).role, Perm.POSTS_EDIT),
            "total": media_lib.list_media(ws.pk).count(),
        },
        status=status,
    )


@workspace_view(Perm.POSTS_VIEW)
@require_http_methods(["GET", "POST"])
def media_library(request: HttpRequest) -> HttpResponseBase:
    if request.method != "POST":
        return _media_page(request)
    if "delete" in request.POST:  # /media/<path> is the file server, so deleting posts here
        return _media_delete(request)
    if "alt_for" in request.POST:  # describing a picture, the same way
        return _media_alt(request)
    if not can(workspace_request(request).role, Perm.POSTS_EDIT):
        return _media_page(request, [_("Your role does not allow uploading media.")], status=403)
    uploads = request.FILES.getlist("files")
    if not uploads:
        return _media_page(request, [_("Choose one or more files to upload.")], status=400)
    errors: list[str] = []
    added = known = 0
    actor = _actor(request)
    for upload in uploads:
        name = upload.name or "upload"
        if (upload.size or 0) > media_lib.MAX_VIDEO_BYTES:
            errors.append(
                _("%(name)s is larger than %(mb)s MB.")
                % {"name": name, "mb": media_lib.MAX_VIDEO_BYTES // (1024 * 1024)}
            )
            continue
        try:
            _media, new = media_lib.store_media(
                actor, name, upload
            )  # streamed from Django's upload, never read whole
        except PlanningError as exc:
            errors.append(exc.message)
            continue
        if new:
            added += 1
        else:
            known += 1
    if added:
        messages.success(
            request,
            ngettext("%(n)s file added to the library.", "%(n)s files added to the library.", added)
            % {"n": added},
        )
    if known:
        messages.info(
            request,
            ngettext(
                "%(n)s file was already in the library.", "%(n)s files were already in the library.", known
            )
            % {"n": known},
        )
    if errors:
        return _media_page(request, errors, status=400)
    return redirect("web:media")


def _media_alt(request: HttpRequest) -> HttpResponseBase:
    try:
        media_id = int(request.POST.get("alt_for", ""))
    except ValueError:
        media_id = 0
    if not 0 < media_id < 2**63:
        media_id = 0  # no such file (and no database overflow)
    try:
        media_lib.set_alt_text(_actor(request), media_id, request.POST.get("alt_text", ""))
    except PlanningError as exc:
        return _media_page(request, status=exc.status, delete_error=exc.message)
    messages.success(request, _("The description was saved."))
    kind = request.GET.get("kind", "")
    return redirect(reverse("web:media") + (f"?kind={kind}" if kind in ("photo", "video") else ""))


def _media_delete(request: HttpRequest) -> HttpResponseBase:
    try:
        media_id = int(request.POST.get("delete", ""))
    except ValueError:
        media_id = 0
    if not 0 < media_id < 2**63:
        media_id = 0  # no such file (and no database overflow)
    try:
        media_lib.delete_media(_actor(request), media_id)
    except PlanningError as exc:
        return _media_page(request, status=exc.status, delete_error=exc.message)
    messages.success(request, _("The file was deleted from the library."))
    return redirect("web:media")


# -- import and export -----------------------------------------------------------------------


class ImportForm(djforms.Form):
    file = djforms.FileField(
        label=gettext_lazy("Plan file (.csv or .xlsx)"),
        widget=djforms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
        error_messages={"required": gettext_lazy("Choose a CSV or XLSX file.")},
    )


def _staged(request: HttpRequest) -> plan_io.StagedImport | None:
    return plan_io.StagedImport.from_dict(request.session.get(IMPORT_SESSION_KEY))


def _forget_import(request: HttpRequest) -> None:
    plan_io.discard(plan_io.StagedImport.from_dict(request.session.pop(IMPORT_SESSION_KEY, None)))


COLUMNS: list[tuple[str, Any, Any]] = [
    (
        "date",
        gettext_lazy("with time"),
        gettext_lazy("YYYY-MM-DD. Leave date and time empty for an idea (a draft without a date)."),
    ),
    (
        "time",
        gettext_lazy("with date"),
        gettext_lazy("HH:MM, 24-hour, wall-clock time in the workspace time zone."),
    ),
    ("channels", gettext_lazy("yes"), gettext_lazy("Channel names or ids, separated by commas.")),
    ("rubric", gettext_lazy("no"), gettext_lazy("Rubric name.")),
    ("title", gettext_lazy("no"), gettext_lazy("Internal title, up to 200 characters.")),
    ("text", gettext_lazy("yes, or text_<network>"), gettext_lazy("The shared text of the post.")),
    (
        "text_<network>",
        gettext_lazy("no"),
        gettext_lazy("Text for the channels of one network, e.g. text_vk, text_telegram, text_ok."),
    ),
    (
        "media_urls",
        gettext_lazy("no"),
        gettext_lazy(
            "Up to 10 http(s) addresses, separated by commas; downloaded into the media library on import."
        ),
    ),
    (
        "link",
        gettext_lazy("no"),
        gettext_lazy("An http(s) address attached to the post on every channel of the row."),
    ),
    (
        "status",
        gettext_lazy("no"),
        gettext_lazy("draft (default) or scheduled; a scheduled row needs a future date and time."),
    ),
]


def _import_page(
    request: HttpRequest, form: ImportForm | None = None, status: int = 200, **extra: Any
) -> HttpResponse:
    ws = _ws(request)
    return render(
        request,
        "web/plan_import.html",
        {
            "form": form or ImportForm(),
            "columns": COLUMNS,
            "tab": "import",
            "tz": ws.timezone,
            "may_import": can(workspace_request(request).role, Perm.POSTS_EDIT),
            "networks": ", ".join(f"text_{key}" for key in registry.DISPLAY_NAMES),
            "max_mb": plan_io.MAX_FILE_BYTES // (1024 * 1024),
            **extra,
        },
        status=status,
    )


def _report_context(report: plan_io.ImportReport) -> dict[str, Any]:
    return {
        "posts": report.posts,
        "problems": report.problems,
        "bad_rows": report.bad_rows,
    }


@workspace_view(Perm.POSTS_VIEW)
@require_http_methods(["GET", "POST"])
def plan_import(request: HttpRequest) -> HttpResponseBase:
    """Upload a plan file, see what it would create (plan_io.preview), then confirm (plan_io.commit)."""
    if request.method != "POST":
        plan_io.sweep_staged()
        return _import_page(request)
    if not can(workspace_request(request).role, Perm.POSTS_EDIT):
        return _import_page(request, status=403, page_error=_("Your role does not allow importing posts."))
    if request.POST.get("action") == "confirm":
        return _import_confirm(request)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _import_page(request, form, status=400)
    try:
        checked = plan_io.preview(_actor(request), form.cleaned_data["file"])
    except PlanningError as exc:
        form.add_error("file", exc.message)
        return _import_page(request, form, status=400)
    _forget_import(request)
    context = _report_context(checked.report)
    if checked.staged is None:
        return _import_page(request, form, status=400, preview=context, filename=checked.name)
    request.session[IMPORT_SESSION_KEY] = checked.staged.as_dict()
    return _import_page(request, preview=context, filename=checked.name, token=checked.staged.token)


def _import_confirm(request: HttpRequest) -> HttpResponseBase:
    staged = _staged(request)
    if staged is None or staged.token != request.POST.get("token") or staged.workspace_id != _ws(request).pk:
        return _import_page(
            request, status=409, page_error=_("This preview is no longer available; upload the file again.")
        )
    request.session.pop(IMPORT_SESSION_KEY, None)
    try:
        report = plan_io.commit(_actor(request), staged)
    except plan_io.StaleImport as exc:
        return _import_page(request, status=409, page_error=exc.message)
    except PlanningError as exc:
        return _import_page(request, status=400, page_error=exc.message)
    if not report.ok:
        return _import_page(
            request,
            status=400,
            preview=_report_context(report),
            filename=staged.name,
            page_error=_("Nothing was imported: the plan changed since the preview or a media file failed."),
        )
    count = len(report.created_ids)
    messages.success(
        request,
        ngettext("Imported %(n)s post from %(file)s.", "Imported %(n)s posts from %(file)s.", count)
        % {
            "n": count,
            "file": staged.name,
        },
    )
    return redirect("web:posts")


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@workspace_view(Perm.POSTS_VIEW)
@require_GET
def plan_export(request: HttpRequest) -> HttpResponseBase:
    ws = _ws(request)
    fmt = request.GET.get("format", "csv")
    if fmt not in CONTENT_TYPES:
        raise Http404
    start = end = None
    start_text, end_text = request.GET.get("start", "").strip(), request.GET.get("end", "").strip()
    first = _parse_date(start_text) if start_text else None
    last = _parse_date(end_text) if end_text else None
    if (start_text and first is None) or (end_text and last is None) or (first and last and last < first):
        messages.error(
            request, _("The export period is not valid: pick a first and a last day, or leave both empty.")
        )
        return redirect("web:plan_import")
    if first:
        start = _midnight(first, ws.timezone)
    if last:
        end = _midnight(last + dt.timedelta(days=1), ws.timezone)
    data = plan_io.export_plan(ws.pk, fmt, start=start, end=end)
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{ws.slug}-plan.{fmt}"'
    return response


# -- the client's review page (public, through a magic link) --------------------------------


def _private(response: HttpResponseBase) -> HttpResponseBase:
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    return response


DECISION_LABELS: dict[str, Any] = {
    Review.Decision.APPROVED: gettext_lazy("You approved this post."),
    Review.Decision.CHANGES_REQUESTED: gettext_lazy("You asked for changes."),
    Review.Decision.REJECTED: gettext_lazy("You rejected this post."),
}


def _sent_posts(token: str, workspace_id: int) -> list[tuple[Post, bool, Any]]:
    """The posts a link shows: those it covers that were sent to the client, as (post, waiting for
    the client, the client's last decision). The page and its media route both use this, so a draft
    in the period, or its pictures, never reach the client."""
    sent = []
    for post in approvals.link_posts(token):
        waiting = post.status == Post.Status.CLIENT_REVIEW
        last = None
        if not waiting:
            decided = [r for r in approvals.reviews(workspace_id, post.pk) if r.stage == Review.Stage.CLIENT]
            if not decided:
                continue  # covered by the period but never sent to the client
            last = decided[-1]
        sent.append((post, waiting, last))
    return sent


def _review_items(token: str, workspace_id: int, errors: dict[int, dict[str, str]]) -> list[dict[str, Any]]:
    items = []
    for post, waiting, last in _sent_posts(token, workspace_id):
        variants = []
        for variant in post.variants.select_related("channel", "post").prefetch_related(
            "variantmedia_set__media"
        ):
            shown = previews.variant_preview(variant)
            _client_media_urls(shown, token)
            variants.append({"variant": variant, "channel": variant.channel, "preview": shown})
        items.append(
            {
                "post": post,
                "waiting": waiting,
                "variants": variants,
                "last": last,
                "result": DECISION_LABELS.get(last.decision) if last else "",
                "errors": errors.get(post.pk, {}),
                "fingerprint": approvals.content_fingerprint(post) if waiting else "",
                "comment": errors.get(post.pk, {}).get("typed", ""),
            }
        )
    return items


def _client_media_urls(preview: dict[str, Any], token: str) -> None:
    """Library files are private to members; the client sees them through the link instead."""
    for item in preview.get("media", []):
        base = reverse("web:client_review_media", args=[token, item["id"]])
        item["url"] = base
        item["thumb"] = f"{base}?thumbnail=1" if item.get("thumb") else ""


def _review_context(
    token: str, link: approvals.ClientLinkView, errors: dict[int, dict[str, str]] | None = None
) -> dict[str, Any]:
    workspace = Workspace.objects.get(pk=link.workspace_id)
    items = _review_items(token, workspace.pk, errors or {})
    waiting = [i for i in items if i["waiting"]]
    shown = {i["post"].pk for i in items}
    stray = [e["form"] for pk, e in (errors or {}).items() if pk not in shown and "form" in e]
    return {
        "error": stray[0] if stray else "",
        "workspace": workspace,
        "items": items,
        "waiting_count": len(waiting),
        "decided_count": len(items) - len(waiting),
        "link": link,
        "token": token,
        "tz": workspace.timezone,
    }


def _review_invalid(request: HttpRequest) -> HttpResponseBase:
    return _private(render(request, "web/review_invalid.html", status=404))


def _render_review(
    request: HttpRequest,
    token: str,
    link: approvals.ClientLinkView,
    errors: dict[int, dict[str, str]] | None = None,
    status: int = 200,
    partial: bool = False,
    notice: str = "",
) -> HttpResponseBase:
    context = _review_context(token, link, errors)
    context["notice"] = notice
    timezone.activate(zone(context["tz"]))
    try:
        template = "web/_plan_review_list.html" if partial else "web/review.html"
        return _private(render(request, template, context, status=status))
    finally:
        timezone.deactivate()


@require_http_methods(["GET", "POST"])
def client_review(request: HttpRequest, token: str) -> HttpResponseBase:
    link = approvals.find_client_link(token)
    if link is None:
        return _review_invalid(request)
    partial = bool(getattr(request, "htmx", False))
    if request.method != "POST":
        return _render_review(request, token, link)
    decision = request.POST.get("decision", "")
    comment = request.POST.get("comment", "")[:5000]
    try:
        post_id = int(request.POST.get("post", ""))
    except ValueError:
        post_id = 0
    try:
        approvals.client_decide(
            token, decision, comment, post_id or None, seen=request.POST.get("fingerprint") or None
        )
    except PlanningError as exc:
        if exc.status == 404 and exc.field != "post_id":
            return _review_invalid(request)
        field = "comment" if exc.field == "comment" else "form"
        errors = {post_id: {field: exc.message, "typed": comment}}
        if exc.field == "decision" or not post_id:
            errors = {0: {"form": exc.message}}
        fresh = approvals.find_client_link(token)
        if fresh is None:
            return _review_invalid(request)
        return _render_review(request, token, fresh, errors, status=200 if partial else 400, partial=partial)
    notice = {
        "approve": _("Thank you: the post is approved."),
        "request_changes": _("Thank you: the team will make the changes you asked for."),
    }.get(decision, _("Thank you: the post is rejected."))
    fresh = approvals.find_client_link(token)
    if fresh is None:
        return _review_invalid(request)
    if partial:
        return _render_review(request, token, fresh, partial=True, notice=notice)
    messages.success(request, notice)
    return _private(redirect("web:client_review", token=token))


@require_GET
def client_review_media(request: HttpRequest, token: str, media_id: int) -> HttpResponseBase:
    """A picture or video of a post the link shows (covered and sent to the client), for the client
    without an account; any other file, a draft's included, is a 404."""
    link = approvals.find_client_link(token)
    if link is None:
        raise Http404
    post_ids = [post.pk for post, _waiting, _last in _sent_posts(token, link.workspace_id)]
    media = Media.objects.filter(
        pk=media_id,
        workspace_id=link.workspace_id,
        variantmedia__variant__post_id__in=post_ids,
    ).first()
    if media is None:
        raise Http404
    thumbnail = request.GET.get("thumbnail") == "1" and bool(media.thumbnail)
    field = media.thumbnail if thumbnail else media.file
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type="image/jpeg" if thumbnail else media.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=600"
    response["Referrer-Policy"] = "no-referrer"
    return response


urlpatterns: list[URLPattern] = [
    path("plan/", plan, name="plan"),
    path("plan/ideas/<int:post_id>/queue/", idea_queue, name="plan_idea_queue"),
    path("plan/client-links/", client_link_create, name="plan_client_link"),
    path("plan/client-links/<int:link_id>/revoke/", client_link_revoke, name="plan_client_link_revoke"),
    path("plan/rubrics/", rubrics, name="plan_rubrics"),
    path("plan/rubrics/new/", rubric_create, name="plan_rubric_create"),
    path("plan/rubrics/<int:rubric_id>/", rubric_update, name="plan_rubric_update"),
    path("plan/rubrics/<int:rubric_id>/delete/", rubric_delete, name="plan_rubric_delete"),
    path("plan/import/", plan_import, name="plan_import"),
    path("plan/export/", plan_export, name="plan_export"),
    path("queue/", queue, name="queue"),
    path("queue/channels/<int:channel_id>/slots/", slot_add, name="queue_slot_add"),
    path("queue/slots/<int:slot_id>/delete/", slot_delete, name="queue_slot_delete"),
    # /media/<path> is the file server (rupor/urls.py); the library itself lives at /media/ only.
    path("media/", media_library, name="media"),
    path("review/<str:token>/", client_review, name="client_review"),
    path("review/<str:token>", client_review, name="client_review_bare"),
    path(
        "review/<str:token>/media/<int:media_id>/", client_review_media, name="client_review_media"
    ),  # the link approvals builds has no slash
]
