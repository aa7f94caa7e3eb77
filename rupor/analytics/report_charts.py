"""A report's charts as PNG images, drawn with matplotlib (Agg, no display, no system library).

The same PNGs go into the PDF, the web page (as ``data:`` images) and nowhere else is a chart
drawn for reports (docs/decisions: report rendering). Figures are built with matplotlib's
object API (``Figure`` + ``FigureCanvasAgg``), never ``pyplot``, so the worker's threads and the
web server's may draw at once without sharing pyplot's global state. Text is set in the
report font (Latin, Cyrillic, Hangul), so channel names and labels in any of the UI's
languages draw as they are written.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from dataclasses import dataclass

import matplotlib
from django.utils.translation import gettext as _
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rupor.analytics import dashboard
from rupor.analytics.report_document import ReportDocument
from rupor.analytics.report_fonts import FAMILY, font_files

matplotlib.use("Agg")

#: The palette, shared with the PDF (RGB 0-255): likes, reposts, comments, reactions, followers.
COLORS = {
    "likes": (37, 99, 235),
    "reposts": (16, 185, 129),
    "comments": (245, 158, 11),
    "reactions": (168, 85, 247),
    "members": (37, 99, 235),
    "ink": (31, 41, 55),
    "grid": (229, 231, 235),
}
DPI = 150

_fonts_loaded = threading.Lock()
_loaded = False


def _rgb(name: str) -> tuple[float, float, float]:
    r, g, b = COLORS[name]
    return (r / 255, g / 255, b / 255)


def _ensure_font() -> None:
    """Register the report font with matplotlib once per process."""
    global _loaded
    with _fonts_loaded:
        if not _loaded:
            for path in font_files().values():
                font_manager.fontManager.addfont(str(path))
            # Process-wide, but reports are the only thing in Rupor that draws with matplotlib.
            matplotlib.rcParams["font.family"] = [FAMILY, "DejaVu Sans"]
            _loaded = True


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    #: What the chart shows in words (the alt text on the page, the caption in the PDF).
    description: str
    png: bytes


def _figure(width_in: float, height_in: float) -> Figure:
    _ensure_font()
    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, facecolor="white")
    return out.getvalue()


def _style(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color=_rgb("grid"), linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=7, colors=_rgb("ink"))


def _day_ticks(days: list[dt.date]) -> tuple[list[int], list[str]]:
    step = max(1, len(days) // 8)
    idx = list(range(0, len(days), step))
    return idx, [f"{days[i]:%d.%m}" for i in idx]


def activity_chart(overview: dashboard.Overview) -> Chart:
    """Stacked bars per day: likes, reposts, comments (and reactions) of the posts published that day."""
    fig = _figure(7.2, 2.6)
    ax = fig.add_subplot()
    _style(ax)
    days = [row.day for row in overview.daily]
    xs = list(range(len(days)))
    bottom = [0.0] * len(days)
    series = (
        ("likes", _("Likes")),
        ("reposts", _("Reposts")),
        ("comments", _("Comments")),
        ("reactions", _("Reactions")),
    )
    drawn = 0
    for key, label in series:
        values = [float(getattr(row, key) or 0) for row in overview.daily]
        if not any(values):
            continue
        ax.bar(xs, values, bottom=bottom, color=_rgb(key), label=label, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        drawn += 1
    if drawn:
        ax.legend(frameon=False, ncols=4, loc="lower left", bbox_to_anchor=(0, 1.0), prop={"size": 7})
    else:
        ax.text(
            0.5,
            0.5,
            _("No engagement in this period"),
            ha="center",
            va="center",
            transform=ax.transAxes,
            fontsize=9,
            color=_rgb("ink"),
        )
    ticks, labels = _day_ticks(days)
    ax.set_xticks(ticks, labels)
    ax.set_xlim(-0.6, max(len(days), 1) - 0.4)
    fig.tight_layout(pad=0.4)
    total = sum(bottom)
    return Chart(
        "activity",
        _("Engagement by day"),
        _("Likes, reposts, comments and reactions of the posts published each day; %(n)s in all.")
        % {"n": int(total)},
        _png(fig),
    )


def followers_chart(overview: dashboard.Overview) -> Chart | None:
    """The channels' follower count per day; ``None`` when no channel reports it."""
    points = [(row.day, row.members) for row in overview.daily if row.members is not None]
    if not points:
        return None
    fig = _figure(7.2, 2.2)
    ax = fig.add_subplot()
    _style(ax)
    days = [row.day for row in overview.daily]
    index = {d: i for i, d in enumerate(days)}
    ax.plot(
        [index[d] for d, _m in points],
        [m for _d, m in points],
        color=_rgb("members"),
        linewidth=1.8,
        marker="o" if len(points) < 20 else None,
        markersize=3,
    )
    ax.yaxis.get_major_formatter().set_useOffset(False)  # type: ignore[attr-defined]  # a ScalarFormatter
    ticks, labels = _day_ticks(days)
    ax.set_xticks(ticks, labels)
    ax.set_xlim(-0.6, max(len(days), 1) - 0.4)
    fig.tight_layout(pad=0.4)
    first, last = points[0][1], points[-1][1]
    return Chart(
        "followers",
        _("Followers"),
        _("Followers of the channels by day: %(first)s at the start, %(last)s at the end.")
        % {"first": first, "last": last},
        _png(fig),
    )


def heatmap_chart(overview: dashboard.Overview) -> Chart:
    """Mean engagements per post by weekday and hour of publishing (the workspace's time zone)."""
    fig = _figure(7.2, 2.5)
    ax = fig.add_subplot()
    grid = [[c.mean if c.mean is not None else float("nan") for c in row] for row in overview.heatmap]
    image = ax.imshow(grid, aspect="auto", cmap="Blues", interpolation="nearest", vmin=0)
    days = [str(label) for label in dashboard.WEEKDAY_LABELS]
    ax.set_yticks(range(7), days, fontsize=7)
    ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)], fontsize=7)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    bar = fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01)
    bar.ax.tick_params(labelsize=6)
    fig.tight_layout(pad=0.4)
    best = max(
        (
            (c.mean, d, h)
            for d, row in enumerate(overview.heatmap)
            for h, c in enumerate(row)
            if c.mean is not None
        ),
        default=None,
    )
    if best is None:
        words = _("No measured posts in this period.")
    else:
        words = _("Most engagement per post: %(day)s at %(hour)s:00 (%(mean)s on average).") % {
            "day": dashboard.WEEKDAY_LABELS[best[1]],
            "hour": f"{best[2]:02d}",
            "mean": f"{best[0]:.1f}",
        }
    return Chart("heatmap", _("When posts did best (weekday \u00d7 hour)"), words, _png(fig))


def charts(document: ReportDocument) -> tuple[Chart, ...]:
    """Every chart of the report, in the order it shows them."""
    o = document.overview
    drawn = [activity_chart(o), followers_chart(o), heatmap_chart(o)]
    return tuple(c for c in drawn if c is not None)
