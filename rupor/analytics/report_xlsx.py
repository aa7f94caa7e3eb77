"""A client report as an Excel workbook (openpyxl): numbers stay numbers, so a client can chart
or sum them again.

Sheets: "KPI" (each figure: this period, previous, change in per cent, with the logo and the
manager's commentary above), "Daily" (the daily series), "Top posts", "Channels" and
"Formulas" (each figure's formula and note). Unknown figures are empty cells, never 0.
"""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.drawing.image import Image as SheetImage
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from rupor.analytics import dashboard
from rupor.analytics.report_document import DAILY_LABELS, ReportDocument
from rupor.core import timezones

BOLD = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="F3F4F6")
PERCENT = '0.00" %"'
CHANGE = '+0.0" %";-0.0" %";0.0" %"'
INTEGER = "#,##0"


def _safe(text: str) -> str:
    """A cell a spreadsheet never runs as a formula (CSV/XLSX injection: = + - @ at the start)."""
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _head(sheet: Worksheet, row: int, titles: list[str]) -> None:
    for col, title in enumerate(titles, start=1):
        cell = sheet.cell(row=row, column=col, value=title)
        cell.font = BOLD
        cell.fill = HEAD_FILL
    sheet.freeze_panes = sheet.cell(row=row + 1, column=1)


def _widths(sheet: Worksheet, widths: list[int]) -> None:
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width


def _value_format(figure: dashboard.Figure) -> str:
    return PERCENT if figure.unit == "%" else (INTEGER if isinstance(figure.value, int) else "0.0")


def _kpi(sheet: Worksheet, document: ReportDocument) -> None:
    o = document.overview
    sheet.title = "KPI"
    sheet["A1"] = document.title
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = document.period_text
    sheet["A3"] = document.generated_text
    sheet["A4"] = _("Manager's commentary")
    sheet["A4"].font = BOLD
    sheet["A5"] = _safe(document.commentary) if document.commentary else _("No commentary for this period.")
    sheet["A5"].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells("A5:E5")
    lines = max(1, document.commentary.count("\n") + 1 + len(document.commentary) // 100)
    sheet.row_dimensions[5].height = min(400, 15 * lines)
    if document.logo_png:
        logo = SheetImage(io.BytesIO(document.logo_png))
        scale = 60 / max(1, logo.height)
        logo.width, logo.height = int(logo.width * scale), 60
        sheet.add_image(logo, "G1")
    head = 7
    _head(
        sheet, head, [_("Figure"), _("This period"), pgettext("period", "Previous"), _("Change, %"), _("Key")]
    )
    for row, f in enumerate(o.figures, start=head + 1):
        sheet.cell(row=row, column=1, value=f.label)
        value = sheet.cell(row=row, column=2, value=f.value)
        previous = sheet.cell(row=row, column=3, value=f.previous)
        value.number_format = previous.number_format = _value_format(f)
        pct = sheet.cell(row=row, column=4, value=None if f.change_pct is None else round(f.change_pct, 4))
        pct.number_format = CHANGE
        sheet.cell(row=row, column=5, value=f.key)
    _widths(sheet, [34, 16, 16, 14, 22])


def _daily(sheet: Worksheet, document: ReportDocument) -> None:
    fields = list(dashboard.DAILY_FIELDS)
    _head(sheet, 1, [_("Day")] + [str(DAILY_LABELS.get(k, k)) for k in fields])
    for row, day in enumerate(document.overview.daily, start=2):
        date_cell = sheet.cell(row=row, column=1, value=day.day)
        date_cell.number_format = "yyyy-mm-dd"
        for col, key in enumerate(fields, start=2):
            sheet.cell(row=row, column=col, value=getattr(day, key)).number_format = INTEGER
    _widths(sheet, [12] + [12] * len(fields))


def _top(sheet: Worksheet, document: ReportDocument) -> None:
    o = document.overview
    _head(
        sheet,
        1,
        [
            _("Published"),
            _("Channel"),
            _("Network"),
            _("Post"),
            _("Likes"),
            _("Reposts"),
            _("Comments"),
            _("Views"),
            _("Reach"),
            _("Engagements"),
            _("Followers"),
            _("ER post, %"),
            _("Reactions only"),
            _("Link"),
        ],
    )
    for row, p in enumerate(o.top_posts, start=2):
        local = timezones.to_local(p.published_at, o.timezone).replace(tzinfo=None)
        values: list[object] = [
            local,
            _safe(p.channel_name),
            p.network,
            _safe(" ".join(p.text_excerpt.split())),
            p.likes,
            p.reposts,
            p.comments,
            p.views,
            p.reach,
            p.engagements,
            p.followers,
            None if p.er_post is None else round(p.er_post, 4),
            p.reactions_only,
            p.url or None,
        ]
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=col, value=value)
            if col == 1:
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif col == 12:
                cell.number_format = PERCENT
            elif 5 <= col <= 11:
                cell.number_format = INTEGER
    _widths(sheet, [17, 24, 10, 60, 9, 9, 10, 10, 10, 12, 11, 11, 9, 40])


def _channels(sheet: Worksheet, document: ReportDocument) -> None:
    _head(
        sheet,
        1,
        [
            _("Channel"),
            _("Network"),
            _("Posts"),
            _("Engagements"),
            _("Reactions"),
            _("Views"),
            _("Reach"),
            _("ER post, %"),
            _("ER by reach, %"),
            _("Followers at the start"),
            _("Followers at the end"),
            _("Joins"),
            _("Leaves"),
        ],
    )
    for row, c in enumerate(document.overview.channels, start=2):
        values: list[object] = [
            _safe(c.name),
            c.network,
            c.posts,
            c.engagements,
            c.reactions,
            c.views,
            c.reach,
            None if c.er_post is None else round(c.er_post, 4),
            None if c.err is None else round(c.err, 4),
            c.members_start,
            c.members_end,
            c.joins,
            c.leaves,
        ]
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=col, value=value)
            cell.number_format = PERCENT if col in (8, 9) else INTEGER
    _widths(sheet, [28, 10, 8, 12, 10, 10, 10, 11, 13, 14, 14, 9, 9])


def _formulas(sheet: Worksheet, document: ReportDocument) -> None:
    _head(sheet, 1, [_("Figure"), _("Key"), _("Formula"), _("Note")])
    for row, f in enumerate(document.overview.figures, start=2):
        sheet.cell(row=row, column=1, value=f.label)
        sheet.cell(row=row, column=2, value=f.key)
        sheet.cell(row=row, column=3, value=_safe(f.formula)).alignment = Alignment(wrap_text=True)
        sheet.cell(row=row, column=4, value=_safe(f.note) or None).alignment = Alignment(wrap_text=True)
    start = len(document.overview.figures) + 3
    for i, note in enumerate(document.overview.notes):
        sheet.cell(row=start + i, column=1, value=_safe(note))
    _widths(sheet, [30, 20, 80, 60])


def render_xlsx(document: ReportDocument) -> bytes:
    """The report as XLSX bytes."""
    book = Workbook()
    kpi = book.active
    assert kpi is not None  # a new workbook always has its first sheet
    _kpi(kpi, document)
    _daily(book.create_sheet(_("Daily")), document)
    _top(book.create_sheet(_("Top posts")), document)
    _channels(book.create_sheet(_("Channels")), document)
    _formulas(book.create_sheet(_("Formulas")), document)
    book.properties.title = document.title
    book.properties.creator = "Rupor"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
