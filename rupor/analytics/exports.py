"""Every dashboard table as rows, CSV and XLSX (the web's and the API's export buttons).

A table is a header row and data rows of plain values: numbers stay numbers (a spreadsheet can
sum them), unknown figures are empty cells (never 0), rates are per cent with four decimals,
and text that a spreadsheet would run as a formula is prefixed with a quote (CSV injection).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from rupor.analytics import dashboard
from rupor.core import timezones

Cell = str | int | float | None

#: What makes a spreadsheet read a cell as a formula: the ASCII signs, their full-width forms
#: and a leading tab or carriage return.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def _n(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _when(value: dt.datetime, zone: str) -> str:
    return value.astimezone(timezones.zone(zone)).strftime("%Y-%m-%d %H:%M")


def _figures(o: dashboard.Overview) -> Table:
    return Table(
        "figures",
        _("Figures"),
        (_("Figure"), _("Value"), _("Previous period"), _("Change, %"), _("Unit"), _("Formula"), _("Note")),
        tuple(
            (f.label, _n(f.value), _n(f.previous), _n(f.change_pct), f.unit, f.formula, f.note)
            for f in o.figures
        ),
    )


def _daily(o: dashboard.Overview) -> Table:
    labels = {
        "posts": _("Posts"),
        "likes": _("Likes"),
        "reposts": _("Reposts"),
        "comments": _("Comments"),
        "views": _("Views"),
        "reach": _("Reach"),
        "engagements": _("Engagements"),
        "reactions": _("Reactions"),
        "members": _("Followers"),
        "joins": _("Joins"),
        "leaves": _("Leaves"),
    }
    return Table(
        "daily",
        _("By day"),
        (_("Day"), *(labels[k] for k in dashboard.DAILY_FIELDS)),
        tuple((d.day.isoformat(), *(getattr(d, k) for k in dashboard.DAILY_FIELDS)) for d in o.daily),
    )


def _top_posts(o: dashboard.Overview) -> Table:
    return Table(
        "top_posts",
        _("Top posts"),
        (
            _("Published"),
            _("Channel"),
            _("Network"),
            _("Text"),
            _("Link"),
            _("Likes"),
            _("Reposts"),
            _("Comments"),
            _("Views"),
            _("Reach"),
            _("Engagements"),
            _("ER by followers, %"),
            _("Reactions only"),
        ),
        tuple(
            (
                _when(p.published_at, o.timezone),
                p.channel_name,
                p.network,
                p.text_excerpt,
                p.url,
                p.likes,
                p.reposts,
                p.comments,
                p.views,
                p.reach,
                p.engagements,
                _n(p.er_post),
                _("yes") if p.reactions_only else _("no"),
            )
            for p in o.top_posts
        ),
    )


def _channels(o: dashboard.Overview) -> Table:
    return Table(
        "channels",
        _("By channel"),
        (
            _("Channel"),
            _("Network"),
            _("Posts"),
            _("Engagements"),
            _("Reactions"),
            _("Views"),
            _("Reach"),
            _("ER by followers, %"),
            _("ERR, %"),
            _("Followers at the start"),
            _("Followers at the end"),
            _("Joins"),
            _("Leaves"),
        ),
        tuple(
            (
                c.name,
                c.network,
                c.posts,
                c.engagements,
                c.reactions,
                c.views,
                c.reach,
                _n(c.er_post),
                _n(c.err),
                c.members_start,
                c.members_end,
                c.joins,
                c.leaves,
            )
            for c in o.channels
        ),
    )


def _heatmap(o: dashboard.Overview) -> Table:
    return Table(
        "heatmap",
        _("By hour of the week"),
        (_("Weekday"), _("Hour"), _("Posts"), _("Engagements"), _("Mean engagements per post")),
        tuple(
            (str(dashboard.WEEKDAY_LABELS[d]), h, cell.posts, cell.engagements, _n(cell.mean))
            for d, row in enumerate(o.heatmap)
            for h, cell in enumerate(row)
        ),
    )


def _slice(key: str) -> Callable[[dashboard.ContentSlices], Table]:
    def build(c: dashboard.ContentSlices) -> Table:
        s = c.slice(key)
        return Table(
            key,
            s.title,
            (
                s.title,
                _("Posts"),
                _("Share, %"),
                _("Mean engagements"),
                _("Median engagements"),
                _("Mean ER, %"),
            ),
            tuple(
                (
                    r.label,
                    r.posts,
                    _n(r.share_pct),
                    _n(r.mean_engagements),
                    _n(r.median_engagements),
                    _n(r.mean_er),
                )
                for r in s.rows
            ),
        )

    return build


def _mix_table(name: str, title: str, rows: Sequence[dashboard.MixRow]) -> Table:
    return Table(
        name,
        title,
        (
            _("Group"),
            _("Target share, %"),
            _("Actual share, %"),
            _("Posts"),
            _("Mean engagements"),
            _("Mean ER, %"),
        ),
        tuple(
            (m.label, m.target_share, _n(m.actual_share), m.posts, _n(m.mean_engagements), _n(m.mean_er))
            for m in rows
        ),
    )


OVERVIEW_TABLES: dict[str, Callable[[dashboard.Overview], Table]] = {
    "figures": _figures,
    "daily": _daily,
    "top_posts": _top_posts,
    "channels": _channels,
    "heatmap": _heatmap,
}
CONTENT_TABLES: dict[str, Callable[[dashboard.ContentSlices], Table]] = {
    **{key: _slice(key) for key in ("rubric", "format", "length", "hour", "weekday")},
    "mix": lambda c: _mix_table("mix", _("Mix by rubric"), c.mix),
    "selling": lambda c: _mix_table("selling", _("Selling and not selling"), c.selling),
}
FORMATS = ("csv", "xlsx")


def _guard(value: Cell) -> Cell:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    """The table as UTF-8 CSV with a byte order mark (so spreadsheet programs read Cyrillic and
    Hangul right); unknown figures are empty cells."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow(["" if v is None else _guard(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """The tables as one workbook, a sheet each; text is always text (never a formula)."""
    book = Workbook(write_only=True)
    for table in tables:
        sheet = book.create_sheet(title=table.title[:31] or table.name)
        sheet.append(list(table.header))
        for row in table.rows:
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def filename(name: str, start: dt.date, end: dt.date, fmt: str) -> str:
    return f"analytics-{name}-{start.isoformat()}-{end.isoformat()}.{fmt}"


def export(tables: Sequence[Table], fmt: str) -> tuple[bytes, str]:
    """Bytes and content type: CSV of the first table, or an XLSX workbook of all of them."""
    if fmt == "csv":
        return to_csv(tables[0]), "text/csv; charset=utf-8"
    return to_xlsx(tables), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Download:
    body: bytes
    content_type: str
    filename: str


def download(
    workspace_id: int,
    table: str,
    fmt: str,
    start: dt.date,
    end: dt.date,
    *,
    channel_ids: Sequence[int] | None = None,
    content_allowed: bool,
) -> Download:
    """One table as CSV or XLSX, or every table of a page as one workbook ("overview" or
    "content"): what the web's export links and the API answer. Refusals are
    :class:`~rupor.analytics.dashboard.DashboardError` (unknown table 404, format 422, the "what
    works" tables without ``content_allowed`` 403)."""
    Error = dashboard.DashboardError
    if fmt not in FORMATS:
        raise Error(_("Export as csv or xlsx."), "format", 422)
    content = table == "content" or table in CONTENT_TABLES
    if not content and table != "overview" and table not in OVERVIEW_TABLES:
        raise Error(_("There is no such table."), "table", 404)
    if content and not content_allowed:
        raise Error(_("Your role in this workspace does not allow this."), "table", 403)
    if table in ("overview", "content") and fmt == "csv":
        raise Error(_("A CSV file holds one table; choose a table or export as xlsx."), "format", 422)
    if content:
        c = dashboard.content_slices(workspace_id, start, end, channel_ids=channel_ids)
        tables = [build(c) for name, build in CONTENT_TABLES.items() if table in (name, "content")]
    else:
        o = dashboard.overview(workspace_id, start, end, channel_ids=channel_ids)
        tables = [make(o) for name, make in OVERVIEW_TABLES.items() if table in (name, "overview")]
    body, content_type = export(tables, fmt)
    return Download(body, content_type, filename(table, start, end, fmt))
