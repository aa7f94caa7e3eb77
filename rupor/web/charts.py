"""Charts for the analytics pages: server-rendered SVG with pygal, no JavaScript, within the CSP.

pygal draws each chart as an SVG with its own ``<style>`` element and, by default, a script for
tooltips. Rupor's Content-Security-Policy refuses both (decision 0008), so every chart is rendered
with ``js=[]`` and its ``<style>`` is taken out; the same rules live in the static stylesheet
``web/analytics_charts.css``, scoped by the ``pygal-chart`` class every chart carries. That file
is generated from pygal by :func:`stylesheet` (``python -m rupor.web.charts > ...``; a test keeps it
in step). Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>``, and the page
shows its numbers as a table beside it (decision 0017).
"""

from __future__ import annotations

import functools
import html
import re
import uuid
from collections.abc import Sequence

import pygal
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from pygal.style import Style

#: Series colours in order (Rupor's accent, then distinct hues that stay apart in grey print).
COLORS = ("#2f5fd0", "#e5484d", "#17804a", "#a2630a", "#5b4bc4", "#0d9488", "#db2777", "#5d6675")

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#5d6675",
    foreground_strong="#1b1f27",
    foreground_subtle="#e3e6eb",
    opacity=".85",
    opacity_hover="1",
    transition="none",
    colors=COLORS,
    font_family="inherit",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=14,
    value_font_size=12,
    tooltip_font_size=12,
    no_data_font_size=14,
)

_STYLE_OR_SCRIPT = re.compile(r"<(style|script)\b[^>]*>.*?</\1>", re.DOTALL)
_CHART_ID = re.compile(r"#chart-[0-9a-f-]{36}")
_CHART_ID_ATTR = re.compile(r'id="chart-[0-9a-f-]{36}"')
_COMMENTS = re.compile(r"<!--.*?-->", re.DOTALL)


def _config(**options: object) -> dict[str, object]:
    base: dict[str, object] = {
        "js": [],
        "style": STYLE,
        "width": 800,
        "height": 320,
        "disable_xml_declaration": True,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 4,
        "show_minor_x_labels": False,
        "truncate_label": 28,
        "truncate_legend": 32,
        "allow_interruptions": True,
        "print_values": False,
        "margin": 12,
        "margin_bottom": 28,
        "show_minor_y_labels": False,
        "y_labels_major_count": 6,
        "spacing": 10,
        "dots_size": 2.5,
        "stroke_style": {"width": 2},
        "no_data_text": "—",
    }
    base.update(options)
    return base


def _finish(svg: str, title: str, desc: str) -> SafeString:
    """The rendered SVG without its ``<style>``, its config ``<script>`` and comments, labelled for screen readers."""
    svg = _STYLE_OR_SCRIPT.sub("", svg).replace("<title>Pygal</title>", "", 1)
    svg = _COMMENTS.sub("", svg)
    # A chart drawn once may be shown twice on a page: each showing gets ids of its own.
    own = uuid.uuid4()
    svg = _CHART_ID.sub(f"#chart-{own}", _CHART_ID_ATTR.sub(f'id="chart-{own}"', svg))
    label = f"c{uuid.uuid4().hex[:12]}"
    head = f'<svg role="img" aria-labelledby="{label}-t {label}-d" preserveAspectRatio="xMidYMid meet" '
    svg = svg.replace("<svg ", head, 1)
    close = svg.index(">") + 1
    svg = (
        svg[:close]
        + f'<title id="{label}-t">{escape(title)}</title><desc id="{label}-d">{escape(desc)}</desc>'
        + svg[close:]
    )
    return mark_safe(svg)  # noqa: S308 - pygal escapes every label and value it draws; ours are escaped above


def _labels_every(count: int) -> int:
    return max(1, count // 10)


def line(
    title: str,
    desc: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    percent: bool = False,
) -> SafeString:
    """A time series: one line per series over the x labels; ``None`` breaks a line (unknown)."""
    return _finish(_line_svg(tuple(x_labels), _frozen(series), percent), title, desc)


#: Charts drawn lately, by everything that goes into their SVG (labels, series names and values,
#: options): pygal takes tens of milliseconds a chart, and a dashboard asks for the same charts
#: again until its figures change. Each page still gets its own ids (``_finish``).
_DRAWN = 256


def _frozen(
    series: Sequence[tuple[str, Sequence[float | None]]],
) -> tuple[tuple[str, tuple[float | None, ...]], ...]:
    return tuple((str(name), tuple(values)) for name, values in series)


@functools.lru_cache(maxsize=_DRAWN)
def _line_svg(
    x_labels: tuple[str, ...], series: tuple[tuple[str, tuple[float | None, ...]], ...], percent: bool
) -> str:
    chart = pygal.Line(
        **_config(
            x_labels_major_every=_labels_every(len(x_labels)),
            x_label_rotation=0,
            show_dots=len(x_labels) <= 45,
            value_formatter=(lambda v: f"{v:.2f} %")
            if percent
            else (lambda v: f"{v:,.0f}".replace(",", " ")),
        )
    )
    chart.x_labels = list(x_labels)
    for name, values in series:
        chart.add(name, list(values))
    return str(chart.render(is_unicode=True))


def bars(
    title: str,
    desc: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    horizontal: bool = False,
    height: int = 320,
    width: int = 800,
) -> SafeString:
    """Grouped bars (horizontal for long labels such as post texts and rubric names)."""
    svg = _bars_svg(tuple(x_labels), _frozen(series), horizontal, height, width)
    return _finish(svg, title, desc)


@functools.lru_cache(maxsize=_DRAWN)
def _bars_svg(
    x_labels: tuple[str, ...],
    series: tuple[tuple[str, tuple[float | None, ...]], ...],
    horizontal: bool,
    height: int,
    width: int,
) -> str:
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    chart = kind(
        **_config(
            height=height,
            width=width,
            # pygal swaps the axes' label options on a horizontal chart: label every bar there
            show_minor_y_labels=horizontal,
            y_labels_major_count=None if horizontal else 6,
            x_labels_major_every=_labels_every(len(x_labels)) if not horizontal else None,
            show_legend=len(series) > 1,
            truncate_label=40 if horizontal else 12,
            value_formatter=lambda v: f"{v:,.1f}".replace(",", " ").removesuffix(".0"),
        )
    )
    chart.x_labels = list(x_labels)
    for name, values in series:
        chart.add(name, list(values))
    return str(chart.render(is_unicode=True))


def stylesheet() -> str:
    """The rules pygal would put inside each chart, scoped by class: the static stylesheet."""
    chart = pygal.Line(**_config())
    for i in range(len(COLORS)):
        chart.add(str(i), [1, 2])
    svg = chart.render(is_unicode=True)
    match = re.search(r"<style[^>]*>(.*?)</style>", svg, re.DOTALL)
    css = html.unescape(match.group(1)) if match else ""  # the SVG writer escaped ">" as "&gt;"
    css = _CHART_ID.sub(".pygal-chart", css)
    header = "/* Generated by `python -m rupor.web.charts` from pygal's own rules (do not edit). */\n"
    extra = (
        ".pygal-chart{width:100%;height:auto;max-height:22rem;display:block}"
        ".pygal-chart .tooltip{display:none}\n"
    )
    return header + css.strip() + "\n" + extra


if __name__ == "__main__":  # pragma: no cover - regenerates the static file
    print(stylesheet(), end="")
