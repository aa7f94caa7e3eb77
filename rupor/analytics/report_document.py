"""What a client report holds, assembled once and rendered three ways (PDF, XLSX, the web page).

:func:`build` calls the dashboards' data API (:func:`rupor.analytics.dashboard.overview`) for
the period and adds what a report has besides: the workspace's name and logo, the manager's
commentary, when it was made. The renderers (``report_pdf``, ``report_xlsx``, the web page)
only lay this out; none of them computes a figure, so the three show the same numbers.
Labels inside the document are in the language active while :func:`build` runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rupor.accounts import service as accounts
from rupor.analytics import dashboard
from rupor.core import clock, timezones

#: The figures a report shows as cards on its first page, in this order, where the period has
#: them (reaction figures appear only for networks that give reactions only).
HEADLINE = (
    "posts",
    "engagements",
    "reactions",
    "views",
    "reach",
    "er_post",
    "reaction_rate",
    "err",
    "members",
    "net_growth",
)
HEADLINE_CARDS = 8

#: Columns of the daily series, as the XLSX and the page label them.
DAILY_LABELS = {
    "posts": gettext_lazy("Posts"),
    "likes": gettext_lazy("Likes"),
    "reposts": gettext_lazy("Reposts"),
    "comments": gettext_lazy("Comments"),
    "views": gettext_lazy("Views"),
    "reach": gettext_lazy("Reach"),
    "engagements": gettext_lazy("Engagements"),
    "reactions": gettext_lazy("Reactions"),
    "members": gettext_lazy("Followers"),
    "joins": gettext_lazy("Joins"),
    "leaves": gettext_lazy("Leaves"),
}


@dataclass(frozen=True)
class ReportDocument:
    """One report, ready to lay out."""

    workspace_id: int
    workspace_name: str
    workspace_slug: str
    title: str
    overview: dashboard.Overview
    commentary: str
    logo_png: bytes | None
    generated_at: dt.datetime
    language: str

    @property
    def headline(self) -> tuple[dashboard.Figure, ...]:
        present = {f.key: f for f in self.overview.figures}
        return tuple(present[k] for k in HEADLINE if k in present)[:HEADLINE_CARDS]

    @property
    def period_text(self) -> str:
        o = self.overview
        return _("%(start)s \u2013 %(end)s, compared with %(pstart)s \u2013 %(pend)s") % {
            "start": o.start.isoformat(),
            "end": o.end.isoformat(),
            "pstart": o.previous_start.isoformat(),
            "pend": o.previous_end.isoformat(),
        }

    @property
    def generated_text(self) -> str:
        local = timezones.to_local(self.generated_at, self.overview.timezone)
        return _("Made %(when)s (%(zone)s)") % {
            "when": f"{local:%Y-%m-%d %H:%M}",
            "zone": self.overview.timezone,
        }

    def filename(self, extension: str) -> str:
        o = self.overview
        return f"rupor-report-{self.workspace_slug}-{o.start.isoformat()}-{o.end.isoformat()}.{extension}"


def build(
    workspace_id: int, start: dt.date, end: dt.date, *, commentary: str = "", language: str = "en"
) -> ReportDocument:
    """The report of a workspace over the local days ``start``..``end`` (the dashboards' period
    rules apply: :class:`rupor.analytics.dashboard.DashboardError` for a bad period)."""
    info = accounts.workspace_info(workspace_id)
    overview = dashboard.overview(workspace_id, start, end)
    return ReportDocument(
        workspace_id=workspace_id,
        workspace_name=info.name,
        workspace_slug=info.slug,
        title=_("Report: %(workspace)s") % {"workspace": info.name},
        overview=overview,
        commentary=commentary.strip(),
        logo_png=accounts.logo_png(workspace_id),
        generated_at=clock.now(),
        language=language,
    )


# -- how numbers read ----------------------------------------------------------------------


def number(value: dashboard.Number, unit: str = "") -> str:
    """A figure for people: grouped digits, rates with two decimals and "%", "—" when unknown."""
    if value is None:
        return "—"
    if unit == "%":
        return f"{formats.number_format(value, 2, use_l10n=True, force_grouping=True)} %"
    if isinstance(value, float) and not value.is_integer():
        return formats.number_format(value, 1, use_l10n=True, force_grouping=True)
    return str(formats.number_format(int(value), 0, use_l10n=True, force_grouping=True))


def change(figure: dashboard.Figure) -> str:
    """The change against the previous period: "+12.5 %", "-3.0 %" (with a minus sign), or "—" when it has none."""
    pct = figure.change_pct
    if pct is None:
        return "—"
    sign = "+" if pct > 0 else ("\u2212" if pct < 0 else "±")
    return f"{sign}{formats.number_format(abs(pct), 1, use_l10n=True, force_grouping=True)} %"


def trend(figure: dashboard.Figure) -> str:
    """ "up", "down" or "" — for colouring a change (churn and complaints going up is bad)."""
    pct = figure.change_pct
    if not pct:
        return ""
    up = pct > 0
    if figure.key in ("churn", "leaves", "complaints"):
        up = not up
    return "up" if up else "down"


def heat_levels(overview: dashboard.Overview) -> list[list[float | None]]:
    """The heatmap's means scaled to 0..1 against its busiest cell (``None``: no posts)."""
    top = max((c.mean or 0.0 for row in overview.heatmap for c in row), default=0.0)
    return [
        [None if c.mean is None else (c.mean / top if top else 0.0) for c in row] for row in overview.heatmap
    ]
