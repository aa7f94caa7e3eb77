"""Make the report font: Noto Sans CJK KR cut down to Latin, Cyrillic, Greek, punctuation and
Hangul, with TrueType outlines, renamed (the OFL asks a modified font not to pass as the original).

Rupor ships the result (``rupor/analytics/fonts/``) so reports render Russian and Korean on a
machine without any system font; this script says how it was made. Input: the Regular and Bold
collections of Debian's ``fonts-noto-cjk`` (``/usr/share/fonts/opentype/noto/``), SIL OFL 1.1.

    python tools/fonts/subset_report_font.py /usr/share/fonts/opentype/noto rupor/analytics/fonts

CFF outlines are converted to quadratic TrueType outlines (fontTools' cu2qu) because PDF text
extraction and fpdf2's subsetting are most reliable with ``glyf`` fonts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

#: Basic Latin … Latin Extended-B, combining marks, Greek, Cyrillic (+ supplement), general
#: punctuation, currency, letterlike symbols, arrows, minus, geometric shapes, Hangul Jamo, CJK
#: punctuation, compatibility Jamo, Jamo extended A/B, the 11,172 Hangul syllables, full-width forms.
UNICODES = (
    "U+0020-007E,U+00A0-024F,U+0300-036F,U+0370-03FF,U+0400-052F,U+2000-206F,U+20A0-20BF,"
    "U+2100-214F,U+2190-21FF,U+2212,U+25A0-25FF,U+1100-11FF,U+3000-303F,U+3130-318F,"
    "U+A960-A97F,U+AC00-D7A3,U+D7B0-D7FF,U+FF01-FF60"
)
KR_INDEX = 1  # Noto Sans CJK KR inside the .ttc collection
FAMILY = "Rupor Report Sans"


def _to_truetype(font: TTFont) -> None:
    """Replace the CFF table by glyf/loca (quadratic curves, 1 unit tolerance)."""
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = font.getGlyphOrder()
    glyf.glyphs = {}
    for name in glyf.glyphOrder:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    font["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["post"].formatType = 2.0
    font["post"].extraNames = []
    font["post"].mapping = {}
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"


def _rename(font: TTFont, style: str) -> None:
    names = font["name"]
    full = f"{FAMILY} {style}" if style != "Regular" else FAMILY
    ps = f"RuporReportSans-{style}"
    for record in list(names.names):
        if record.nameID in (1, 4, 16, 17, 3, 6):
            names.removeNames(nameID=record.nameID)
    for name_id, value in ((1, FAMILY), (2, style), (3, f"{ps};subset"), (4, full), (6, ps)):
        names.setName(value, name_id, 3, 1, 0x409)
        names.setName(value, name_id, 1, 0, 0)


def make(source_dir: Path, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for style in ("Regular", "Bold"):
        font = TTCollection(str(source_dir / f"NotoSansCJK-{style}.ttc")).fonts[KR_INDEX]
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.hinting = False
        options.desubroutinize = True
        options.notdef_outline = True
        sub = subset.Subsetter(options)
        sub.populate(unicodes=subset.parse_unicodes(UNICODES))
        sub.subset(font)
        _to_truetype(font)
        _rename(font, style)
        target = out_dir / f"RuporReportSans-{style}.ttf"
        font.save(str(target))
        print(target, target.stat().st_size)


if __name__ == "__main__":
    make(Path(sys.argv[1]), Path(sys.argv[2]))
