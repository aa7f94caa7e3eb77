"""The font client reports are set in: "Rupor Report Sans", a subset of Noto Sans CJK KR (SIL
Open Font License 1.1, ``fonts/OFL.txt``) that covers Latin, Greek, Cyrillic and Hangul, shipped
inside the package so a report renders Russian and Korean on a machine with no system fonts.
``tools/fonts/subset_report_font.py`` says how it was made."""

from __future__ import annotations

from pathlib import Path

FAMILY = "Rupor Report Sans"
FONT_DIR = Path(__file__).resolve().parent / "fonts"


def font_files() -> dict[str, Path]:
    """Style ("" regular, "B" bold) -> the font file."""
    return {
        "": FONT_DIR / "RuporReportSans-Regular.ttf",
        "B": FONT_DIR / "RuporReportSans-Bold.ttf",
    }
