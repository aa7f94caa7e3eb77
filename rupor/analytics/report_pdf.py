"""A client report as a PDF (A4), laid out with fpdf2 in pure Python.

Page one: the workspace's logo and name, the period, the headline figures as cards with their
change against the previous period, the manager's commentary and the engagement chart. Then
the followers chart and the weekday-by-hour heatmap, the top posts, every figure with its
formula, and the notes. Text is set in the report font (Latin, Cyrillic, Hangul) and the
document declares its language; charts are the PNGs ``report_charts`` draws.
"""

from __future__ import annotations

import io
import logging

from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from fpdf import FPDF
from fpdf.enums import Align, TableCellFillMode, XPos, YPos
from fpdf.fonts import FontFace

from rupor.analytics import report_charts
from rupor.analytics.report_document import ReportDocument, change, number, trend
from rupor.analytics.report_fonts import font_files
from rupor.core import timezones

# fpdf2 subsets the font on every render and fontTools logs each table it touches at INFO.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

FONT = "report"
INK = (31, 41, 55)
MUTED = (107, 114, 128)
LINE = (229, 231, 235)
CARD = (243, 244, 246)
UP = (4, 120, 87)
DOWN = (185, 28, 28)
ACCENT = (37, 99, 235)
#: Longest excerpt of a post's text in the top posts table, in characters.
EXCERPT = 90


class _Pdf(FPDF):
    def __init__(self, document: ReportDocument) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.document = document
        for style, path in font_files().items():
            self.add_font(FONT, style, str(path))
        self.set_auto_page_break(auto=True, margin=16)
        self.set_margins(14, 14, 14)
        self.set_lang(document.language)
        self.set_title(document.title)
        self.set_subject(document.period_text)
        self.set_creator("Rupor")
        self.set_author(document.workspace_name)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(FONT, "", 7)
        self.set_text_color(*MUTED)
        self.cell(
            0,
            5,
            f"{self.document.workspace_name} · {self.document.overview.start.isoformat()} \u2013 "
            f"{self.document.overview.end.isoformat()}",
            align=Align.L,
        )
        self.set_x(self.l_margin)
        self.cell(
            0, 5, _("Page %(page)s of %(pages)s") % {"page": self.page_no(), "pages": "{nb}"}, align=Align.R
        )

    def heading(self, text: str, size: float = 12) -> None:
        self.ln(2)
        self.set_font(FONT, "B", size)
        self.set_text_color(*INK)
        self.multi_cell(0, size * 0.55, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def small(self, text: str, size: float = 8, color: tuple[int, int, int] = MUTED) -> None:
        self.set_font(FONT, "", size)
        self.set_text_color(*color)
        self.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _header(pdf: _Pdf) -> None:
    d = pdf.document
    top = pdf.get_y()
    text_width = pdf.epw
    if d.logo_png:
        pdf.image(
            io.BytesIO(d.logo_png), x=pdf.w - pdf.r_margin - 40, y=top, w=40, h=18, keep_aspect_ratio=True
        )
        text_width = pdf.epw - 44
    pdf.set_font(FONT, "B", 18)
    pdf.set_text_color(*INK)
    pdf.multi_cell(text_width, 9, d.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(text_width, 5, d.period_text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.multi_cell(text_width, 5, d.generated_text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), top + 20) + 3)
    pdf.set_draw_color(*LINE)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(4)


def _cards(pdf: _Pdf) -> None:
    """The headline figures, four to a row: label, value, change against the previous period."""
    figures = pdf.document.headline
    if not figures:
        return
    cols, gap, height = 4, 3.0, 22.0
    width = (pdf.epw - gap * (cols - 1)) / cols
    for start in range(0, len(figures), cols):
        y = pdf.get_y()
        if y + height > pdf.h - pdf.b_margin:
            pdf.add_page()
            y = pdf.get_y()
        for i, figure in enumerate(figures[start : start + cols]):
            x = pdf.l_margin + i * (width + gap)
            pdf.set_fill_color(*CARD)
            pdf.rect(x, y, width, height, style="F", round_corners=True, corner_radius=2)
            pdf.set_xy(x + 3, y + 2.5)
            pdf.set_font(FONT, "", 7.5)
            pdf.set_text_color(*MUTED)
            pdf.cell(width - 6, 4, figure.label)
            pdf.set_xy(x + 3, y + 7)
            pdf.set_font(FONT, "B", 14)
            pdf.set_text_color(*INK)
            pdf.cell(width - 6, 7, number(figure.value, figure.unit))
            pdf.set_xy(x + 3, y + 15)
            pdf.set_font(FONT, "", 7.5)
            direction = trend(figure)
            pdf.set_text_color(*(UP if direction == "up" else DOWN if direction == "down" else MUTED))
            pdf.cell(
                width - 6,
                4,
                _("%(change)s vs %(previous)s")
                % {"change": change(figure), "previous": number(figure.previous, figure.unit)},
            )
        pdf.set_xy(pdf.l_margin, y + height + gap)


def _commentary(pdf: _Pdf) -> None:
    text = pdf.document.commentary
    pdf.heading(_("Manager's commentary"))
    if not text:
        pdf.small(_("No commentary for this period."))
        return
    pdf.set_font(FONT, "", 10)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*ACCENT)
    x, y = pdf.l_margin, pdf.get_y()
    pdf.set_x(x + 4)
    pdf.multi_cell(pdf.epw - 4, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if pdf.page_no() and pdf.get_y() > y:
        pdf.set_line_width(0.8)
        pdf.line(x + 1, y, x + 1, pdf.get_y())
        pdf.set_line_width(0.2)
    pdf.ln(2)


def _chart(pdf: _Pdf, chart: report_charts.Chart) -> None:
    width = pdf.epw
    # Keep the chart with its title: a new page if the title and image would not fit.
    if pdf.get_y() + 12 + width * 0.36 > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.heading(chart.title, 11)
    pdf.image(io.BytesIO(chart.png), x=pdf.l_margin, w=width, alt_text=chart.description)
    pdf.small(chart.description)
    pdf.ln(2)


def _top_posts(pdf: _Pdf) -> None:
    posts = pdf.document.overview.top_posts
    pdf.heading(_("Top posts"))
    if not posts:
        pdf.small(_("No measured posts in this period."))
        return
    head = FontFace(emphasis="BOLD", color=INK, fill_color=CARD)
    pdf.set_font(FONT, "", 7.5)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*LINE)
    with pdf.table(
        col_widths=(17, 28, 64, 21, 16, 16, 14),
        text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=head,
        line_height=4,
        cell_fill_mode=TableCellFillMode.NONE,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        row = table.row()
        for title in (
            _("Date"),
            _("Channel"),
            _("Post"),
            _("Engagements"),
            _("Views"),
            _("Reach"),
            _("ER post"),
        ):
            row.cell(title)
        zone = pdf.document.overview.timezone
        for post in posts:
            row = table.row()
            row.cell(f"{timezones.to_local(post.published_at, zone):%Y-%m-%d}")
            row.cell(post.channel_name)
            excerpt = " ".join(post.text_excerpt.split())
            if len(excerpt) > EXCERPT:
                excerpt = excerpt[: EXCERPT - 1] + "…"
            row.cell(excerpt or "—")
            engagements = number(post.engagements)
            if post.reactions_only:
                engagements += "*"
            row.cell(engagements)
            row.cell(number(post.views))
            row.cell(number(post.reach))
            row.cell(number(post.er_post, "%"))
    if any(p.reactions_only for p in posts):
        pdf.small(_("* Reactions: the network gives emoji reactions only, so the rate is a reaction rate."))


def _figures(pdf: _Pdf) -> None:
    o = pdf.document.overview
    pdf.heading(_("Every figure and how it is computed"))
    head = FontFace(emphasis="BOLD", color=INK, fill_color=CARD)
    pdf.set_font(FONT, "", 7.5)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*LINE)
    with pdf.table(
        col_widths=(30, 20, 20, 16, 90),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
        headings_style=head,
        line_height=4,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        row = table.row()
        for title in (
            _("Figure"),
            _("This period"),
            pgettext("period", "Previous"),
            pgettext("figure", "Change"),
            _("Formula"),
        ):
            row.cell(title)
        for f in o.figures:
            row = table.row()
            row.cell(f.label)
            row.cell(number(f.value, f.unit))
            row.cell(number(f.previous, f.unit))
            row.cell(change(f))
            row.cell(f.formula + (f"\n{f.note}" if f.note else ""))
    notes = list(o.notes)
    if notes:
        pdf.ln(2)
        pdf.heading(_("Notes"), 10)
        for note in notes:
            pdf.small(f"• {note}")


def render_pdf(document: ReportDocument) -> bytes:
    """The report as PDF bytes."""
    pdf = _Pdf(document)
    pdf.add_page()
    _header(pdf)
    _cards(pdf)
    _commentary(pdf)
    drawn = report_charts.charts(document)
    for chart in drawn:
        _chart(pdf, chart)
    _top_posts(pdf)
    _figures(pdf)
    return bytes(pdf.output())
