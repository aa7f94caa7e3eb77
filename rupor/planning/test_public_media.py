"""Media at public, signed, expiring addresses (planning/public_media.py): what Facebook and
Instagram fetch. Tampered and foreign tokens are 404s, expired ones 410s; conversions give
upright, opaque JPEGs inside the asked ratio range, made once."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from PIL import Image

from rupor.accounts import service as accounts
from rupor.core import clock, http
from rupor.core.imaging import crop_into, parse_link_format
from rupor.planning import media as media_lib
from rupor.planning import public_media
from rupor.planning import service as planning
from rupor.planning.models import Media

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.RUPOR_BASE_URL = "https://rupor.example.com"
    settings.RUPOR_MEDIA_LINK_HOURS = 24.0
    return tmp_path / "media"


def _picture(fmt: str, size: tuple[int, int], mode: str = "RGB", **save: Any) -> bytes:
    colour: Any = (200, 30, 30, 0) if mode in ("RGBA", "LA") else (200, 30, 30)
    if mode == "LA":
        colour = (120, 0)
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt, **save)
    return out.getvalue()


@pytest.fixture
def store(make_user: Any, make_workspace: Any) -> Callable[..., Media]:
    owner = make_user("owner@example.com")
    ws = make_workspace("Owner brand", owner=owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None

    def save(name: str, data: bytes) -> Media:
        return media_lib.save_media(actor, name, data)

    return save


def _path(url: str) -> str:
    assert url.startswith("https://rupor.example.com/public-media/")
    return urlsplit(url).path


def _fetch(url: str, **headers: str) -> Any:
    return Client().get(_path(url), headers=headers)


def _image(response: Any) -> Image.Image:
    return Image.open(io.BytesIO(b"".join(response.streaming_content)))


def _rgb(image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    pixel = image.getpixel(xy)
    assert isinstance(pixel, tuple)
    red, green, blue = pixel[:3]
    return red, green, blue


def test_the_file_as_stored_without_session_with_type_and_length(store: Callable[..., Media]) -> None:
    data = _picture("PNG", (640, 480))
    item = store("photo.png", data)
    url = public_media.link(item, None)
    assert url.endswith(".png")
    response = _fetch(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(len(data))
    assert b"".join(response.streaming_content) == data
    assert "Set-Cookie" not in response.headers and not response.cookies


def test_a_tampered_or_foreign_token_is_a_404(
    store: Callable[..., Media], make_user: Any, make_workspace: Any
) -> None:
    mine = store("mine.png", _picture("PNG", (100, 100)))
    stranger = make_user("stranger@example.com")
    other_ws = make_workspace("Other brand", owner=stranger)
    actor = accounts.actor_for_user(stranger, other_ws)
    assert actor is not None
    theirs = media_lib.save_media(actor, "theirs.png", _picture("PNG", (120, 100)))
    url = public_media.link(mine, None)
    token = _path(url).removeprefix("/public-media/").removesuffix(".png")
    payload, signature = token.split(".")

    # Another workspace's file, by changing the ids in the payload and keeping the signature.
    forged = public_media._b64(f"{other_ws.pk}|{theirs.pk}||{10**12}")
    assert Client().get(f"/public-media/{forged}.{signature}.png").status_code == 404
    # One character of the signature or of the payload changed.
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert Client().get(f"/public-media/{payload}.{flipped}.png").status_code == 404
    changed = payload[:-1] + ("x" if payload[-1] != "x" else "y")
    assert Client().get(f"/public-media/{changed}.{signature}.png").status_code == 404
    # A genuine token for this file does not open the other workspace's file of the same id
    # space: the workspace is part of what is signed.
    cross = public_media.make_token(mine.workspace_id, theirs.pk, parse_link_format(None), 10**12)
    assert Client().get(f"/public-media/{cross}.png").status_code == 404
    # Nothing is listed: the folder and a bare token are not pages.
    assert Client().get("/public-media/").status_code == 404
    assert Client().get(f"/public-media/{payload}.png").status_code == 404
    # A token signed with another salt (the same key) does not pass either.
    other_salt = signing.Signer(salt="other", sep=".", algorithm="sha256").sign(payload)
    assert Client().get(f"/public-media/{other_salt}.png").status_code == 404
    assert _fetch(url).status_code == 200


def test_a_link_expires_after_its_lifetime(store: Callable[..., Media], settings: Any) -> None:
    settings.RUPOR_MEDIA_LINK_HOURS = 2.0
    clock.freeze(T0)
    item = store("photo.jpg", _picture("JPEG", (800, 800)))
    url = public_media.link(item, None)
    clock.freeze(T0 + dt.timedelta(hours=2) - dt.timedelta(seconds=1))
    still = _fetch(url)
    assert still.status_code == 200
    assert still["Cache-Control"] == "private, max-age=1"
    clock.freeze(T0 + dt.timedelta(hours=2))
    gone = _fetch(url)
    assert gone.status_code == 410
    assert b"expired" in gone.content
    # A new link is made for each publication and works again.
    assert _fetch(public_media.link(item, None)).status_code == 200


def test_png_with_transparency_becomes_an_opaque_jpeg_on_white(store: Callable[..., Media]) -> None:
    item = store("logo.png", _picture("PNG", (400, 300), "RGBA"))
    url = public_media.link(item, "jpeg")
    assert url.endswith(".jpg")
    response = _fetch(url)
    assert response["Content-Type"] == "image/jpeg"
    image = _image(response)
    assert image.format == "JPEG" and image.mode == "RGB" and image.size == (400, 300)
    assert all(channel > 245 for channel in _rgb(image, (200, 150)))  # transparent -> white


def test_webp_converts_and_a_plain_jpeg_in_range_is_served_as_is(store: Callable[..., Media]) -> None:
    webp = store("pic.webp", _picture("WEBP", (1080, 1080)))
    converted = _image(_fetch(public_media.link(webp, "jpeg:0.8-1.91")))
    assert converted.format == "JPEG" and converted.size == (1080, 1080)

    data = _picture("JPEG", (1080, 1350), quality=95)
    jpeg = store("pic.jpg", data)
    response = _fetch(public_media.link(jpeg, "jpeg:0.8-1.91"))
    assert b"".join(response.streaming_content) == data  # byte for byte: no conversion


def test_cmyk_jpeg_and_transparent_gif_become_rgb(store: Callable[..., Media]) -> None:
    cmyk = store("print.jpg", _picture("JPEG", (300, 300), "CMYK"))
    image = _image(_fetch(public_media.link(cmyk, "jpeg")))
    assert image.mode == "RGB"  # a CMYK JPEG is not served as is: Instagram wants RGB
    gif = Image.new("P", (200, 200), 0)
    gif.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    gif.paste(1, (50, 50, 150, 150))
    out = io.BytesIO()
    gif.save(out, "GIF", transparency=0)
    item = store("sticker.gif", out.getvalue())
    image = _image(_fetch(public_media.link(item, "jpeg")))
    assert image.mode == "RGB"
    assert all(channel > 245 for channel in _rgb(image, (10, 10)))  # the transparent border is white
    red, green, _b = _rgb(image, (100, 100))
    assert red > 200 and green < 60


def test_exif_rotated_jpeg_is_turned_upright(store: Callable[..., Media]) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    item = store("phone.jpg", _picture("JPEG", (600, 400), exif=exif.tobytes()))
    assert (item.width, item.height) == (400, 600)  # the library keeps the size people see
    image = _image(_fetch(public_media.link(item, "jpeg")))
    assert image.size == (400, 600)
    assert image.getexif().get(0x0112, 1) == 1
    # What the composer predicts from the stored size is what is served.
    assert item.width is not None and item.height is not None
    predicted = crop_into(item.width, item.height, "0.8", "1.91")
    assert _image(_fetch(public_media.link(item, "jpeg:0.8-1.91"))).size == (
        predicted.width,
        predicted.height,
    )


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1000, 3000), (1000, 1250)),  # too tall: 1:3 -> 4:5, rows cut at top and bottom
        ((4000, 1000), (1910, 1000)),  # too wide: 4:1 -> 1.91:1, columns cut at both sides
        ((1000, 1000), (1000, 1000)),  # inside: left whole
    ],
)
def test_extreme_ratios_are_centre_cropped_into_range(
    store: Callable[..., Media], size: tuple[int, int], expected: tuple[int, int]
) -> None:
    item = store("wide.png", _picture("PNG", size))
    image = _image(_fetch(public_media.link(item, "jpeg:0.8-1.91")))
    assert image.size == expected
    assert 0.8 <= image.width / image.height <= 1.91


def test_the_crop_keeps_the_centre(store: Callable[..., Media]) -> None:
    picture = Image.new("RGB", (3000, 1000), (0, 0, 255))
    picture.paste((255, 0, 0), (1000, 0, 2000, 1000))  # red middle third, blue sides
    out = io.BytesIO()
    picture.save(out, "PNG")
    item = store("banner.png", out.getvalue())
    image = _image(_fetch(public_media.link(item, "jpeg:0.8-1.91")))
    assert image.size == (1910, 1000)
    red, _g, blue = _rgb(image, (955, 500))
    assert red > 200 and blue < 60
    _r, _g, blue_left = _rgb(image, (5, 500))
    assert blue_left > 200  # the 455 px left of the red third survive on each side


def test_a_conversion_is_made_once_and_kept_beside_the_media(
    store: Callable[..., Media], media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    item = store("logo.png", _picture("PNG", (500, 500), "RGBA"))
    url = public_media.link(item, "jpeg")
    cached = media_root / "public" / item.sha256 / "jpeg.jpg"
    assert cached.is_file()  # made when the link was made, before anyone fetched it
    made = cached.stat().st_mtime_ns
    for _ in range(3):
        assert _fetch(url).status_code == 200
    assert cached.stat().st_mtime_ns == made
    assert list(cached.parent.iterdir()) == [cached]  # no partial file left behind
    assert cached.stat().st_mode & 0o077 == 0  # the operator's alone, as everything in RUPOR_HOME

    assert item.uploaded_by is not None
    item_owner = accounts.actor_for_user(item.uploaded_by, item.workspace)
    assert item_owner is not None
    with django_capture_on_commit_callbacks(execute=True):
        media_lib.delete_media(item_owner, item.pk)
    assert (
        not cached.exists() and not cached.parent.exists()
    )  # the copies go with the last item holding these bytes
    assert _fetch(url).status_code == 404


def test_head_gives_the_headers_without_the_body(store: Callable[..., Media]) -> None:
    item = store("logo.png", _picture("PNG", (300, 300), "RGBA"))
    url = public_media.link(item, "jpeg")
    got = _fetch(url)
    length = got["Content-Length"]
    head = Client().head(_path(url))
    assert head.status_code == 200
    assert head["Content-Type"] == "image/jpeg"
    assert head["Content-Length"] == length == str(len(b"".join(got.streaming_content)))
    assert head.content == b""
    assert Client().post(_path(url)).status_code == 405


def test_byte_ranges(store: Callable[..., Media]) -> None:
    data = _picture("PNG", (640, 480))
    url = public_media.link(store("photo.png", data), None)
    part = _fetch(url, Range="bytes=10-19")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert part["Content-Length"] == "10"
    assert b"".join(part.streaming_content) == data[10:20]
    tail = _fetch(url, Range="bytes=-5")
    assert b"".join(tail.streaming_content) == data[-5:]
    rest = _fetch(url, Range=f"bytes={len(data) - 3}-")
    assert b"".join(rest.streaming_content) == data[-3:]
    outside = _fetch(url, Range=f"bytes={len(data)}-")
    assert outside.status_code == 416 and outside["Content-Range"] == f"bytes */{len(data)}"
    several = _fetch(url, Range="bytes=0-1,5-6")  # not taken: the whole file is a right answer
    assert several.status_code == 200 and b"".join(several.streaming_content) == data


def test_unknown_formats_and_conversions_of_videos_are_refused_when_linking(
    store: Callable[..., Media],
) -> None:
    item = store("photo.png", _picture("PNG", (100, 100)))
    for fmt in ("gif", "jpeg:", "jpeg:2-1", "jpeg:a-b", "png:0.8-1.91"):
        with pytest.raises(ValueError, match="format"):
            public_media.link(item, fmt)
    video = store("clip.mp4", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 4096)
    assert public_media.link(video, None).endswith(".mp4")
    with pytest.raises(ValueError, match="only pictures"):
        public_media.link(video, "jpeg")


def test_media_reference_carries_a_linker(store: Callable[..., Media]) -> None:
    item = store("photo.png", _picture("PNG", (640, 480)))
    reference = planning.media_reference(item)
    assert reference.link is not None
    assert _fetch(reference.link(None)).status_code == 200
    assert _image(_fetch(reference.link("jpeg:0.8-1.91"))).format == "JPEG"


@pytest.mark.django_db(transaction=True)
def test_an_http_client_fetches_the_link_from_a_live_server(
    store: Callable[..., Media], live_server: Any, settings: Any
) -> None:
    settings.RUPOR_BASE_URL = live_server.url
    item = store("logo.png", _picture("PNG", (1000, 3000), "RGBA"))
    url = public_media.link(item, "jpeg:0.8-1.91")
    assert url.startswith(f"{live_server.url}/public-media/")
    with http.trusted(live_server.url), http.client() as client:
        response = client.get(url)
        head = client.head(url)
        clock.advance(dt.timedelta(hours=25))
        expired = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert int(response.headers["content-length"]) == len(response.content)
    assert Image.open(io.BytesIO(response.content)).size == (1000, 1250)
    assert head.status_code == 200 and head.headers["content-length"] == response.headers["content-length"]
    assert expired.status_code == 410


def test_links_survive_a_key_rotation_only_through_the_old_keys(
    store: Callable[..., Media], settings: Any
) -> None:
    item = store("photo.png", _picture("PNG", (200, 200)))
    url = public_media.link(item, None)
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-that-is-long-enough-to-be-real-0123456789"
    settings.RUPOR_OLD_SECRET_KEYS = (old,)
    assert _fetch(url).status_code == 200  # a link handed to Meta before the rotation still works
    settings.RUPOR_OLD_SECRET_KEYS = ()
    assert _fetch(url).status_code == 404
