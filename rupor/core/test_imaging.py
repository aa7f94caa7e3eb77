"""Picture geometry: the link formats and the centre crop into a ratio range (exact fractions)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from rupor.core.http import reachable_from_internet
from rupor.core.imaging import Crop, LinkFormat, crop_box, crop_into, parse_link_format


def test_link_formats() -> None:
    assert parse_link_format(None) == LinkFormat(convert=False)
    assert parse_link_format("jpeg") == LinkFormat(convert=True)
    ranged = parse_link_format("jpeg:0.8-1.91")
    assert (ranged.low, ranged.high) == (Fraction(4, 5), Fraction(191, 100))
    assert ranged.key == "jpeg:0.8-1.91" and parse_link_format(ranged.key) == ranged
    for bad in ("JPEG", "jpeg:", "jpeg:1.91-0.8", "jpeg:0-1", "png", "jpeg:0.8-1.91;x"):
        with pytest.raises(ValueError, match="format"):
            parse_link_format(bad)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1080, 1350), Crop(1080, 1350, False)),  # exactly 4:5 is inside
        ((1080, 1351), Crop(1080, 1350, True)),  # one row too tall
        ((1910, 1000), Crop(1910, 1000, False)),  # exactly 1.91:1 is inside
        ((1911, 1000), Crop(1910, 1000, True)),
        ((500, 5000), Crop(500, 625, True)),
        ((12000, 100), Crop(191, 100, True)),
        ((1, 1), Crop(1, 1, False)),
    ],
)
def test_crop_into_the_instagram_feed_range(size: tuple[int, int], expected: Crop) -> None:
    crop = crop_into(*size, "0.8", "1.91")
    assert crop == expected
    assert Fraction(4, 5) <= Fraction(crop.width, crop.height) <= Fraction(191, 100)
    assert crop_into(*size, 0.8, 1.91) == crop  # floats are read at their decimal value


def test_the_crop_box_is_centred() -> None:
    assert crop_box(4000, 1000, crop_into(4000, 1000, "0.8", "1.91")) == (1045, 0, 2955, 1000)
    assert crop_box(1000, 3000, crop_into(1000, 3000, "0.8", "1.91")) == (0, 875, 1000, 2125)


@pytest.mark.parametrize(
    ("url", "reachable"),
    [
        ("https://rupor.example.com", True),
        ("http://203.0.113.9:8000", False),  # documentation range: not global
        ("http://8.8.8.8", True),
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000", False),
        ("http://[::1]:8000", False),
        ("http://192.168.1.20", False),
        ("http://10.0.0.5", False),
        ("http://rupor", False),
        ("http://rupor.local", False),
        ("http://rupor.internal", False),
        ("http://app.localhost", False),
    ],
)
def test_reachable_from_internet(url: str, reachable: bool) -> None:
    assert reachable_from_internet(url) is reachable
