"""The analytics pages: the overview dashboard (figures with formula and change, charts, top
posts, the 7x24 heatmap, channels) and "what works" (slices and the mix), with CSV/XLSX export of
every table. They parse, call ``analytics.dashboard`` and render; charts are ``web/charts.py``."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from rupor.accounts.roles import Perm, can
from rupor.analytics import dashboard, exports, report_document
from rupor.core import clock, timezones
from rupor.links import service as links
from rupor.links import traffic
from rupor.networks import registry
from rupor.web import charts
from rupor.web.base import workspace_request, workspace_view

DASH = "—"
#: The "by channel" table on the page shows this many channels (most engagements first); the
#: export has them all.
CHANNEL_ROWS = 25


def number(value: float | None, *, percent: bool = False, digits: int = 2) -> str:
    """A figure for people: grouped thousands, rates with two decimals and "%"; unknown is "—"."""
    if value is None:
        return DASH
    if percent:
        return f"{formats.number_format(value, digits, force_grouping=True)} %"
    if isinstance(value, float) and not value.is_integer():
        return formats.number_format(value, 1, force_grouping=True)
    return formats.number_format(int(value), force_grouping=True)


def change(figure: dashboard.Figure) -> dict[str, str]:
    """The change as text ("+12.5 %") and its colour class: ``up`` where the change is good (churn,
    leaves and complaints falling too), ``down`` where it is bad, as the client report colours it."""
    if figure.change_pct is None:
        return {"text": DASH, "direction": "none"}
    return {
        "text": report_document.change(figure),
        "direction": report_document.trend(figure) or "flat",
    }


GROUPS = (
    ("results", ("posts", "engagements", "likes", "reposts", "comments", "views", "reach", "complaints")),
    (
        "rates",
        ("er_post", "er_day", "err", "er_view", "love_rate", "talk_rate", "amplification_rate"),
    ),
    ("reactions", ("reactions", "reaction_rate", "reaction_rate_day", "reaction_rate_view")),
    ("audience", ("members", "net_growth", "growth_rate", "joins", "leaves", "churn")),
)


def _group_titles() -> dict[str, str]:
    return {
        "results": _("Results of the period's posts"),
        "rates": _("Engagement rates"),
        "reactions": _("Reactions (networks that give reactions only)"),
        "audience": _("Audience"),
    }


def _figure_groups(o: dashboard.Overview) -> list[dict[str, Any]]:
    titles = _group_titles()
    footnote = 0
    out = []
    for key, members in GROUPS:
        figures = []
        for f in o.figures:
            if f.key not in members:
                continue
            footnote += 1
            figures.append(
                {
                    "f": f,
                    "value": number(f.value, percent=f.unit == "%"),
                    "previous": number(f.previous, percent=f.unit == "%"),
                    "change": change(f),
                    "footnote": footnote,
                }
            )
        if figures:
            out.append({"key": key, "title": titles[key], "figures": figures})
    return out


def _state(params: QueryDict, zone: str) -> dict[str, Any]:
    """The period and channels asked for; bad input falls back to the default with a problem."""
    today = timezones.to_local(clock.now(), zone).date()
    problem = ""
    try:
        start, end = dashboard.parse_period(
            params.get("from", ""), params.get("to", ""), params.get("days", ""), today
        )
    except dashboard.DashboardError as exc:
        problem = str(exc)
        start, end = dashboard.parse_period("", "", "", today)
    try:
        channel_ids = dashboard.parse_channels(params.getlist("channel"))
    except dashboard.DashboardError as exc:
        problem, channel_ids = str(exc), []
    return {"start": start, "end": end, "channel_ids": channel_ids, "problem": problem}


def _query(start: dt.date, end: dt.date, channel_ids: list[int]) -> str:
    pairs: list[tuple[str, str]] = [("from", start.isoformat()), ("to", end.isoformat())]
    pairs += [("channel", str(c)) for c in channel_ids]
    return urlencode(pairs)


def _filters(here: Any, state: dict[str, Any]) -> dict[str, Any]:
    from rupor.channels import service as channels

    channel_query = urlencode([("channel", str(c)) for c in state["channel_ids"]])
    return {
        "start": state["start"],
        "end": state["end"],
        "raw_from": state["start"].isoformat(),
        "raw_to": state["end"].isoformat(),
        "channels": channels.workspace_channels(here.workspace.pk),
        "chosen": state["channel_ids"][0] if len(state["channel_ids"]) == 1 else None,
        "presets": [
            {"days": n, "query": f"days={n}" + (f"&{channel_query}" if channel_query else "")}
            for n in dashboard.PRESETS
        ],
        "query": _query(state["start"], state["end"], state["channel_ids"]),
        "problem": state["problem"],
    }


def _day_labels(days: tuple[dashboard.DayRow, ...]) -> list[str]:
    return [formats.date_format(d.day, "d.m") for d in days]


def _overview_charts(o: dashboard.Overview) -> list[dict[str, Any]]:
    labels = _day_labels(o.daily)
    has_reactions = any(d.reactions is not None for d in o.daily)
    engaged = [(_("Engagements"), [d.engagements for d in o.daily])]
    if has_reactions:
        engaged.append((_("Reactions"), [d.reactions for d in o.daily]))
    span = _("%(start)s to %(end)s") % {"start": o.start.isoformat(), "end": o.end.isoformat()}
    out = [
        {
            "key": "engagements",
            "title": _("Engagements of the posts published each day"),
            "svg": charts.line(
                _("Engagements of the posts published each day"),
                _("A line per series, one point per day, %(span)s; the numbers are in the table by day.")
                % {"span": span},
                labels,
                engaged,
            ),
        },
        {
            "key": "views",
            "title": _("Views and reach of the posts published each day"),
            "svg": charts.line(
                _("Views and reach of the posts published each day"),
                _("A line per series, one point per day, %(span)s; the numbers are in the table by day.")
                % {"span": span},
                labels,
                [(_("Views"), [d.views for d in o.daily]), (_("Reach"), [d.reach for d in o.daily])],
            ),
        },
        {
            "key": "members",
            "title": _("Followers"),
            "svg": charts.line(
                _("Followers"),
                _("Followers of the chosen channels each day, %(span)s.") % {"span": span},
                labels,
                [(_("Followers"), [d.members for d in o.daily])],
            ),
        },
        {
            "key": "joins",
            "title": _("Joins and leaves"),
            "svg": charts.bars(
                _("Joins and leaves"),
                _("Two bars a day, joins and leaves, %(span)s; empty where the network does not tell.")
                % {"span": span},
                labels,
                [(_("Joins"), [d.joins for d in o.daily]), (_("Leaves"), [d.leaves for d in o.daily])],
            ),
        },
    ]
    if o.top_posts:
        names = [
            f"{i}. {(p.text_excerpt or p.remote_post_id)[:40]}" for i, p in enumerate(o.top_posts, start=1)
        ]
        out.append(
            {
                "key": "top",
                "title": _("Top posts by engagements"),
                "svg": charts.bars(
                    _("Top posts by engagements"),
                    _("A bar per post, longest first; the posts are listed in the table below."),
                    names,
                    [(_("Engagements"), [p.engagements for p in o.top_posts])],
                    horizontal=True,
                    height=60 + 28 * len(names),
                ),
            }
        )
    return out


def _heat_rows(o: dashboard.Overview) -> list[dict[str, Any]]:
    """Rows of the heatmap table: each cell's shade grows with the slot's mean engagements."""
    top = max((c.mean or 0.0 for row in o.heatmap for c in row), default=0.0)
    rows = []
    for d, row in enumerate(o.heatmap):
        day = str(dashboard.WEEKDAY_LABELS[d])
        cells = []
        for h, cell in enumerate(row):
            level = 0 if cell.mean is None or not top else max(1, round(cell.mean / top * 5))
            mean = number(cell.mean)
            cells.append(
                {
                    "level": level,
                    "mean": mean,
                    "empty": cell.mean is None,
                    "title": ngettext(
                        "%(day)s %(hour)s:00 — %(mean)s per post, %(posts)s post",
                        "%(day)s %(hour)s:00 — %(mean)s per post, %(posts)s posts",
                        cell.posts,
                    )
                    % {"day": day, "hour": h, "mean": mean, "posts": cell.posts},
                }
            )
        rows.append({"day": day, "cells": cells})
    return rows


@workspace_view(Perm.REPORTS_VIEW)
@require_GET
def overview_page(request: HttpRequest) -> HttpResponseBase:
    here = workspace_request(request)
    state = _state(request.GET, here.workspace.timezone)
    try:
        o = dashboard.overview(
            here.workspace.pk, state["start"], state["end"], channel_ids=state["channel_ids"]
        )
    except dashboard.DashboardError as exc:
        state = {**_state(QueryDict(), here.workspace.timezone), "problem": str(exc), "status": exc.status}
        o = dashboard.overview(here.workspace.pk, state["start"], state["end"])
    first, after = dashboard.period_bounds(state["start"], state["end"], here.workspace.timezone)
    post_ids = [p.post_id for p in o.top_posts if p.post_id]
    clicks = links.post_network_stats(here.workspace.pk, post_ids, first, after)
    by_network = links.network_stats(here.workspace.pk, first, after)
    visits_kind = traffic.default_kind(here.workspace.pk)
    visits = traffic.post_traffic(here.workspace.pk, post_ids, visits_kind, state["start"], state["end"])
    return render(
        request,
        "web/analytics.html",
        {
            "tab": "overview",
            "link_networks": sorted(by_network.items()),
            "link_total": sum(by_network.values(), links.Stats()),
            "o": o,
            "filters": _filters(here, state),
            "groups": _figure_groups(o),
            "charts": _overview_charts(o),
            "heat": _heat_rows(o),
            "hours": range(24),
            "top_posts": [
                {
                    "p": p,
                    "engagements": number(p.engagements),
                    "er": number(p.er_post, percent=True),
                    "views": number(p.views),
                    "reach": number(p.reach),
                    "clicks": clicks.get((p.post_id or 0, p.network)),
                    "visits": visits.get((p.post_id or 0, p.network)),
                }
                for p in o.top_posts
            ],
            "visits_source": traffic.DISPLAY_NAMES.get(visits_kind, ""),
            "channel_rows": [
                {
                    "c": c,
                    "cells": [
                        number(c.engagements if c.engagements is not None else c.reactions),
                        number(c.views),
                        number(c.reach),
                        number(c.er_post, percent=True),
                        number(c.err, percent=True),
                        number(c.members_end),
                        number(c.joins),
                        number(c.leaves),
                    ],
                }
                for c in o.channels[:CHANNEL_ROWS]
            ],
            "channels_left_out": max(0, len(o.channels) - CHANNEL_ROWS),
            "daily_rows": [
                {"day": d.day, "cells": [number(getattr(d, k)) for k in dashboard.DAILY_FIELDS]}
                for d in o.daily
            ],
            "daily_heads": exports.OVERVIEW_TABLES["daily"](o).header[1:],
            "can_content": can(here.role, Perm.ANALYTICS_VIEW),
            "network_names": {k: registry.display_name(k) for k in {c.network for c in o.channels}},
        },
        status=state.get("status", 422) if state["problem"] else 200,
    )


@workspace_view(Perm.ANALYTICS_VIEW)
@require_GET
def content_page(request: HttpRequest) -> HttpResponseBase:
    here = workspace_request(request)
    state = _state(request.GET, here.workspace.timezone)
    try:
        c = dashboard.content_slices(
            here.workspace.pk, state["start"], state["end"], channel_ids=state["channel_ids"]
        )
    except dashboard.DashboardError as exc:
        state = {**_state(QueryDict(), here.workspace.timezone), "problem": str(exc), "status": exc.status}
        c = dashboard.content_slices(here.workspace.pk, state["start"], state["end"])
    basis = _("Mean reactions") if c.basis == "reactions" else _("Mean engagements")
    slices = []
    for s in c.slices:
        slices.append(
            {
                "s": s,
                "svg": charts.bars(
                    s.title,
                    _("A bar per group: %(what)s per post; the numbers are in the table beside it.")
                    % {"what": basis},
                    [r.label for r in s.rows],
                    [(basis, [r.mean_engagements for r in s.rows])],
                    horizontal=s.key in ("rubric", "format", "length", "weekday"),
                    height=80 + 30 * len(s.rows) if s.key != "hour" else 300,
                    width=520,
                )
                if s.rows
                else None,
                "rows": [
                    {
                        "label": r.label,
                        "posts": r.posts,
                        "share": number(r.share_pct, percent=True, digits=1),
                        "mean": number(r.mean_engagements),
                        "median": number(r.median_engagements),
                        "er": number(r.mean_er, percent=True),
                    }
                    for r in s.rows
                ],
            }
        )
    mix_svg = charts.bars(
        _("Planned and actual mix"),
        _("Two bars per rubric: its target share and its actual share of the posts, per cent."),
        [m.label for m in c.mix],
        [
            (_("Target share"), [m.target_share for m in c.mix]),
            (_("Actual share"), [round(m.actual_share, 1) for m in c.mix]),
        ],
        horizontal=True,
        height=90 + 40 * len(c.mix),
        width=520,
    )

    def mix_rows(rows: tuple[dashboard.MixRow, ...]) -> list[dict[str, Any]]:
        return [
            {
                "m": m,
                "target": DASH if m.target_share is None else f"{m.target_share} %",
                "actual": number(m.actual_share, percent=True, digits=1),
                "mean": number(m.mean_engagements),
                "er": number(m.mean_er, percent=True),
            }
            for m in rows
        ]

    return render(
        request,
        "web/analytics_content.html",
        {
            "tab": "content",
            "c": c,
            "basis": basis,
            "filters": _filters(here, state),
            "slices": slices,
            "mix_svg": mix_svg if c.mix else None,
            "mix_rows": mix_rows(c.mix),
            "selling_rows": mix_rows(c.selling),
            "can_content": True,
        },
        status=state.get("status", 422) if state["problem"] else 200,
    )


def _refuse(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@workspace_view(Perm.REPORTS_VIEW)
@require_GET
def export_page(request: HttpRequest, table: str, fmt: str) -> HttpResponseBase:
    here = workspace_request(request)
    today = timezones.to_local(clock.now(), here.workspace.timezone).date()
    params = request.GET
    try:
        start, end = dashboard.parse_period(
            params.get("from", ""), params.get("to", ""), params.get("days", ""), today
        )
        got = exports.download(
            here.workspace.pk,
            table,
            fmt,
            start,
            end,
            channel_ids=dashboard.parse_channels(params.getlist("channel")),
            content_allowed=can(here.role, Perm.ANALYTICS_VIEW),
        )
    except dashboard.DashboardError as exc:
        return _refuse(str(exc), exc.status)
    out = HttpResponse(got.body, content_type=got.content_type)
    out["Content-Disposition"] = f'attachment; filename="{got.filename}"'
    return out


urlpatterns: list[URLPattern] = [
    path("analytics/", overview_page, name="analytics"),
    path("analytics/content/", content_page, name="analytics_content"),
    path("analytics/export/<str:table>.<str:fmt>", export_page, name="analytics_export"),
]
