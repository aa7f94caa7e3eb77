"""Site traffic of tracked links in the web app: the web analytics settings page (connect Yandex
Metrica or GA4, test the connection, read now, disconnect), the traffic sections of the Links
page and of a post's page, and the CSV export. They parse, call ``links.traffic`` and render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from rupor.accounts.roles import Perm, can
from rupor.analytics import service as analytics
from rupor.core import clock
from rupor.links import service as links
from rupor.links import traffic
from rupor.planning.models import Post
from rupor.web import forms as web_forms
from rupor.web.analytics_views import number
from rupor.web.base import _actor, workspace_request, workspace_view

#: Lines of the "by post" table shown on the Links page (the CSV has all of them).
SHOWN_POSTS = 30
#: Largest key file accepted as an upload (a service account key is about 2.4 KB).
MAX_KEY_FILE = traffic.MAX_SECRET


class SecretTextarea(forms.Textarea):
    """A text area that never shows its value again (a pasted key is not echoed into a page)."""

    def format_value(self, value: Any) -> str:  # noqa: ARG002 - Django's Widget defines the signature
        return ""


class SourceForm(forms.Form):
    account_id = forms.CharField(max_length=20)
    secret = forms.CharField(required=False, max_length=traffic.MAX_SECRET, strip=True)
    goal = forms.CharField(required=False, max_length=60)
    base_url = forms.CharField(
        required=False,
        max_length=300,
        label=gettext_lazy("API address"),
        help_text=gettext_lazy("Only for a proxy in front of the service; empty: the service's own address."),
    )

    def __init__(
        self,
        kind: str,
        data: Any = None,
        files: Any = None,
        *,
        initial: dict[str, Any] | None = None,
        goals: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(data, files, prefix=kind, initial=initial)
        self.kind = kind
        if kind == "metrica":
            self.fields["account_id"].label = _("Counter number")
            self.fields["account_id"].help_text = _(
                "Metrica → Settings: the number of the site's counter (tag)."
            )
            self.fields["secret"].label = _("OAuth token")
            self.fields["secret"].widget = forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "off"}
            )
            self.fields["secret"].help_text = _(
                "A token of a Yandex account that may read the counter, made for an app with the "
                "metrika:read permission (oauth.yandex.com). Left empty: the stored one is kept."
            )
            every = _("Every goal")
            self.fields["goal"].label = _("Conversions: goal")
        else:
            self.fields["account_id"].label = _("Property id")
            self.fields["account_id"].help_text = _(
                "GA4 → Admin → Property details: the property's id (digits)."
            )
            self.fields["secret"].label = _("Service account key (JSON)")
            self.fields["secret"].widget = SecretTextarea(
                attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}
            )
            self.fields["secret"].help_text = _(
                "Google Cloud → IAM → Service accounts → Keys → Add key (JSON): paste the file, or upload it "
                "below. Give the service account's e-mail Viewer access in GA4's Property access management. "
                "Left empty: the stored key is kept."
            )
            self.fields["key_file"] = forms.FileField(required=False, label=_("…or upload the key file"))
            every = _("Every key event")
            self.fields["goal"].label = _("Conversions: key event")
        if goals:
            self.fields["goal"] = forms.ChoiceField(
                required=False,
                choices=[
                    ("", every),
                    *[(gid, f"{name} ({gid})" if name != gid else name) for gid, name in goals],
                ],
                label=self.fields["goal"].label,
            )
        else:
            self.fields["goal"].help_text = (
                _("A goal's number; empty: every goal. The goals are listed once the counter is connected.")
                if kind == "metrica"
                else _("A key event's name, such as purchase; empty: every key event.")
            )

    def secret_text(self) -> str:
        upload = self.cleaned_data.get("key_file")
        if upload is not None:
            if upload.size > MAX_KEY_FILE:
                return "x" * (MAX_KEY_FILE + 1)  # refused as too long by the domain, with its sentence
            raw: bytes = upload.read(MAX_KEY_FILE + 1)
            return raw.decode("utf-8", "replace")
        return str(self.cleaned_data.get("secret") or "")


def _bind(form: SourceForm, exc: traffic.TrafficError) -> None:
    name = exc.field if exc.field in form.fields else None
    form.add_error(name, exc.message)


def _cards(request: HttpRequest, bound: SourceForm | None = None) -> list[dict[str, Any]]:
    rows = {row.kind: row for row in traffic.sources(_actor(request))}
    cards = []
    for kind in traffic.KINDS:
        row = rows.get(kind)
        initial = {"account_id": row.account_id, "goal": row.goal, "base_url": row.base_url} if row else {}
        form = (
            bound
            if bound is not None and bound.kind == kind
            else SourceForm(kind, initial=initial, goals=row.goals if row else ())
        )
        cards.append({"kind": kind, "name": traffic.DISPLAY_NAMES[kind], "row": row, "form": form})
    return cards


def _page(request: HttpRequest, bound: SourceForm | None = None, status: int = 200) -> HttpResponseBase:
    here = workspace_request(request)
    return render(
        request,
        "web/traffic_settings.html",
        {
            "cards": _cards(request, bound),
            "may_connect": can(here.role, Perm.WORKSPACE_MANAGE),
            "may_manage": can(here.role, Perm.ANALYTICS_MANAGE),
            "every_hours": int(traffic.COLLECT_EVERY.total_seconds() // 3600),
            "backfill_days": traffic.BACKFILL_DAYS,
        },
        status=status,
    )


@workspace_view(Perm.ANALYTICS_VIEW)
@require_GET
def settings_page(request: HttpRequest) -> HttpResponseBase:
    return _page(request)


def _kind(source: str) -> str:
    if source not in traffic.KINDS:
        raise Http404
    return source


def _back() -> HttpResponseBase:
    return redirect(reverse("web:traffic_settings"))


@workspace_view(Perm.WORKSPACE_MANAGE)
@require_POST
def connect(request: HttpRequest, source: str) -> HttpResponseBase:
    kind = _kind(source)
    existing = {row.kind: row for row in traffic.sources(_actor(request))}.get(kind)
    form = SourceForm(kind, request.POST, request.FILES, goals=existing.goals if existing else ())
    if form.is_valid():
        try:
            row = traffic.connect(
                _actor(request),
                traffic.SourceInput(
                    kind,
                    form.cleaned_data["account_id"],
                    form.secret_text(),
                    str(form.cleaned_data.get("goal") or ""),
                    form.cleaned_data["base_url"],
                ),
            )
        except traffic.TrafficError as exc:
            _bind(form, exc)
        else:
            messages.success(
                request,
                _("%(source)s is connected (%(name)s). Rupor reads it within minutes, then every few hours.")
                % {"source": row.display_name, "name": row.name or row.account_id},
            )
            return _back()
    return _page(request, form, status=400)


@workspace_view(Perm.ANALYTICS_MANAGE)
@require_POST
def test(request: HttpRequest, source: str) -> HttpResponseBase:
    kind = _kind(source)
    try:
        row = traffic.check_connection(_actor(request), kind)
    except traffic.TrafficError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The connection works: %(name)s, time zone %(zone)s, %(goals)s goals.")
            % {"name": row.name, "zone": row.timezone or "—", "goals": len(row.goals)},
        )
    return _back()


@workspace_view(Perm.ANALYTICS_MANAGE)
@require_POST
def collect(request: HttpRequest, source: str) -> HttpResponseBase:
    kind = _kind(source)
    try:
        done = traffic.collect_now(_actor(request), kind)
    except traffic.TrafficError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Read %(rows)s rows of %(first)s to %(last)s.")
            % {"rows": done.rows, "first": done.first, "last": done.last},
        )
    return _back()


@workspace_view(Perm.WORKSPACE_MANAGE)
@require_POST
def disconnect(request: HttpRequest, source: str) -> HttpResponseBase:
    kind = _kind(source)
    try:
        traffic.disconnect(_actor(request), kind)
    except traffic.TrafficError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(source)s is disconnected.") % {"source": traffic.DISPLAY_NAMES[kind]})
    return _back()


# -- the Links page's section, a post's results, the export ----------------------------------


def chosen_kind(request: HttpRequest) -> tuple[str, list[traffic.SourceRow]]:
    """The source asked for (``?source=``) when connected, else the default; and the connected ones."""
    rows = traffic.sources(_actor(request))
    kinds = [row.kind for row in rows]
    asked = request.GET.get("source", "")
    return (asked if asked in kinds else (kinds[0] if kinds else "")), rows


def _titles(workspace_id: int, post_ids: list[int]) -> dict[int, str]:
    found = Post.objects.filter(workspace_id=workspace_id, pk__in=post_ids).values_list("pk", "title", "text")
    return {pk: (title or text or "")[:80] for pk, title, text in found}


def links_section(request: HttpRequest, days: int, network: str, post_id: int | None) -> dict[str, Any]:
    """The Links page's site traffic: totals, by post (beside the link clicks), by campaign, by network."""
    here = workspace_request(request)
    kind, rows = chosen_kind(request)
    out: dict[str, Any] = {"kind": kind, "sources": rows}
    if not kind:
        return out
    actor = _actor(request)
    first, last = traffic.period(here.workspace.pk, days)
    by_post = traffic.table(
        actor, kind=kind, by="post", first=first, last=last, network=network, post_id=post_id
    )
    ids = [line.post_id for line in by_post if line.post_id]
    since = clock.now() - dt.timedelta(days=days) if days else None
    clicks = links.post_network_stats(here.workspace.pk, ids, since)
    titles = _titles(here.workspace.pk, ids)
    source = next(row for row in rows if row.kind == kind)
    total = traffic.total(actor, kind=kind, first=first, last=last)
    rate = total.conversion_rate
    out.update(
        {
            "source": source,
            "total": total,
            "rate": number(rate * 100 if rate is not None else None, percent=True),
            "by_post": [
                {
                    "line": line,
                    "title": titles.get(line.post_id or 0),
                    "clicks": clicks.get((line.post_id or 0, line.network)),
                }
                for line in by_post[:SHOWN_POSTS]
            ],
            "more_posts": max(0, len(by_post) - SHOWN_POSTS),
            "by_campaign": traffic.table(
                actor, kind=kind, by="campaign", first=first, last=last, network=network
            ),
            "by_network": {
                line.network: line.traffic
                for line in traffic.table(actor, kind=kind, by="network", first=first, last=last)
            },
        }
    )
    return out


def post_results(request: HttpRequest, post: Post | None) -> dict[str, Any] | None:
    """A post's results by network: engagements (the networks' counters), link clicks by people
    and the site's sessions, users and conversions from its web analytics."""
    if post is None:
        return None
    here = workspace_request(request)
    if not can(here.role, Perm.ANALYTICS_VIEW):
        return None
    kind = traffic.default_kind(here.workspace.pk)
    summary = analytics.post_summary(here.workspace.pk, post.pk)
    clicks = links.post_network_stats(here.workspace.pk, [post.pk])
    visits = traffic.post_traffic(here.workspace.pk, [post.pk], kind)
    networks: list[str] = []
    engagements: dict[str, int | None] = {}
    for variant in summary.variants:
        if variant.network not in networks:
            networks.append(variant.network)
        if variant.engagements is not None:
            engagements[variant.network] = (engagements.get(variant.network) or 0) + variant.engagements
    for network in [n for _p, n in clicks] + [n for _p, n in visits]:
        if network and network not in networks:
            networks.append(network)
    if not networks:
        return None
    return {
        "kind": kind,
        "source_name": traffic.DISPLAY_NAMES.get(kind, ""),
        "rows": [
            {
                "network": network,
                "engagements": engagements.get(network),
                "clicks": clicks.get((post.pk, network)),
                "visits": visits.get((post.pk, network)),
            }
            for network in networks
        ],
    }


@workspace_view(Perm.ANALYTICS_VIEW)
@require_GET
def export(request: HttpRequest) -> HttpResponseBase:
    here = workspace_request(request)
    kind, _rows = chosen_kind(request)
    by = request.GET.get("by", "post")
    days = web_forms.parse_id(request.GET.get("days"))
    days = days if days in (7, 30, 90, 0) else 30
    lines: list[traffic.TrafficLine] = []
    if kind:
        first, last = traffic.period(here.workspace.pk, days or 0)
        try:
            lines = traffic.table(_actor(request), kind=kind, by=by, first=first, last=last)
        except traffic.TrafficError as exc:
            return HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
    out = HttpResponse(traffic.traffic_csv(lines), content_type="text/csv; charset=utf-8")
    out["Content-Disposition"] = (
        f'attachment; filename="traffic-{kind or "none"}-{by if by in traffic.GROUPINGS else "post"}.csv"'
    )
    return out


urlpatterns: list[URLPattern] = [
    path("settings/web-analytics/", settings_page, name="traffic_settings"),
    path("settings/web-analytics/<str:source>/connect/", connect, name="traffic_connect"),
    path("settings/web-analytics/<str:source>/test/", test, name="traffic_test"),
    path("settings/web-analytics/<str:source>/collect/", collect, name="traffic_collect"),
    path("settings/web-analytics/<str:source>/disconnect/", disconnect, name="traffic_disconnect"),
    path("analytics/links/traffic.csv", export, name="analytics_links_traffic_export"),
]
