"""Picture geometry shared by the media links and the networks' checks: the formats a media link
may ask for (``networks.base.MediaLinker``) and the centre crop that brings a picture into a range
of width/height ratios (Instagram's feed takes 4:5 to 1.91:1).

Pure arithmetic on exact fractions, so that "is 1080x1350 inside 0.8-1.91" never depends on how
a float rounds. Imports nothing of Rupor's: the planning domain (which converts and serves the
pictures) and the networks (which say in the composer what will happen) both use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

#: ``jpeg`` or ``jpeg:MIN-MAX`` (ratios as decimals, e.g. ``jpeg:0.8-1.91``).
_FORMAT = re.compile(r"jpeg(?::(\d{1,3}(?:\.\d{1,4})?)-(\d{1,3}(?:\.\d{1,4})?))?")


@dataclass(frozen=True)
class LinkFormat:
    """What a media link serves: the file as stored (``convert`` false), or JPEG, optionally
    centre-cropped into ``low``..``high`` width/height."""

    convert: bool
    low: Fraction | None = None
    high: Fraction | None = None

    @property
    def key(self) -> str:
        """The canonical spelling (``""``, ``jpeg``, ``jpeg:0.8-1.91``), as signed in a link."""
        if not self.convert:
            return ""
        if self.low is None or self.high is None:
            return "jpeg"
        return f"jpeg:{_decimal(self.low)}-{_decimal(self.high)}"


def _decimal(value: Fraction) -> str:
    text = f"{float(value):.4f}".rstrip("0").rstrip(".")
    return text or "0"


def parse_link_format(fmt: str | None) -> LinkFormat:
    """Read a :data:`~rupor.networks.base.MediaLinker` format: ``None`` (as stored), ``"jpeg"`` or
    ``"jpeg:MIN-MAX"``; raises ``ValueError`` for anything else (an adapter's mistake)."""
    if fmt is None or fmt == "":
        return LinkFormat(convert=False)
    match = _FORMAT.fullmatch(fmt)
    if match is None:
        raise ValueError(f"unknown media link format {fmt!r}; expected None, 'jpeg' or 'jpeg:MIN-MAX'")
    if match.group(1) is None:
        return LinkFormat(convert=True)
    low, high = Fraction(match.group(1)), Fraction(match.group(2))
    if not 0 < low <= high:
        raise ValueError(f"media link format {fmt!r}: the ratios must be positive, the smaller first")
    return LinkFormat(convert=True, low=low, high=high)


@dataclass(frozen=True)
class Crop:
    """The size a picture will have once centre-cropped into a ratio range."""

    width: int
    height: int
    cropped: bool  # false when the picture already fits and is left whole

    @property
    def ratio(self) -> float:
        return self.width / self.height


def crop_into(width: int, height: int, low: Fraction | float | str, high: Fraction | float | str) -> Crop:
    """The largest centred part of a ``width`` x ``height`` picture whose width/height lies within
    ``low``..``high``: a picture too tall loses rows at top and bottom, one too wide loses columns
    at both sides, one inside the range is left whole. Ratios may be given as ``"0.8"`` strings
    or fractions (exact) or floats (taken at their decimal value to 4 places)."""
    if width <= 0 or height <= 0:
        raise ValueError("a picture has a positive width and height")
    lo, hi = _fraction(low), _fraction(high)
    if not 0 < lo <= hi:
        raise ValueError("the ratios must be positive, the smaller first")
    ratio = Fraction(width, height)
    if ratio < lo:  # too tall: keep the width, the tallest height still inside the range
        new_height = max(1, int(width / lo))
        return Crop(width, new_height, True)
    if ratio > hi:  # too wide: keep the height, the widest width still inside the range
        new_width = max(1, int(height * hi))
        return Crop(new_width, height, True)
    return Crop(width, height, False)


def _fraction(value: Fraction | float | str) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return Fraction(f"{value:.4f}")
    return Fraction(value)


def crop_box(width: int, height: int, crop: Crop) -> tuple[int, int, int, int]:
    """Where ``crop`` lies in the picture (left, top, right, bottom): centred."""
    left = (width - crop.width) // 2
    top = (height - crop.height) // 2
    return left, top, left + crop.width, top + crop.height


__all__ = ["Crop", "LinkFormat", "crop_box", "crop_into", "parse_link_format"]
