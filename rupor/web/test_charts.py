"""Charts are SVG without script or style elements (the CSP), labelled for screen readers, and
the static stylesheet is the one pygal's rules generate."""

from __future__ import annotations

from pathlib import Path

from rupor.web import charts

STATIC = Path(__file__).parent / "static" / "web" / "analytics_charts.css"


def test_the_static_stylesheet_is_generated_from_pygal():
    assert STATIC.read_text(encoding="utf-8") == charts.stylesheet(), (
        "run: python -m rupor.web.charts > rupor/web/static/web/analytics_charts.css"
    )
    assert "&gt;" not in charts.stylesheet() and ".pygal-chart .graph > .background" in charts.stylesheet()


def test_a_chart_has_no_script_or_style_and_is_labelled():
    svg = charts.line("Engagements <by day>", "One line", ["01.03", "02.03"], [("E", [3, None])])
    assert svg.startswith('<svg role="img" aria-labelledby=')
    assert "<script" not in svg and "<style" not in svg and "<!--" not in svg
    assert "<title id=" in svg and "Engagements &lt;by day&gt;" in svg and "<desc id=" in svg
    assert "Pygal</title>" not in svg


def test_labels_from_the_networks_are_escaped():
    svg = charts.bars("Top", "Bars", ['<img src=x onerror="alert(1)">'], [("E", [5])], horizontal=True)
    assert "<img" not in svg and "&lt;img" in svg


def test_a_horizontal_chart_labels_every_bar():
    svg = charts.bars(
        "By rubric", "Bars", ["Useful", "Selling", "News"], [("E", [3, 4, 5])], horizontal=True, width=520
    )
    assert svg.count(">Useful</text>") == 1 and svg.count(">News</text>") == 1
