"""Uploads cannot exhaust the server: a picture's pixel count is checked from its header before
anything is decoded, and uploads are hashed and stored in chunks on the web pages and the API
(a big video never sits in memory)."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from rupor.accounts import service as accounts
from rupor.planning import media as media_lib
from rupor.planning.models import Media
from rupor.planning.service import PlanningError
from rupor.planning.testing import measured

pytestmark = pytest.mark.django_db

BOMB_SIDE = 9400  # 88 megapixels: under Pillow's default guard, 265 MB once decoded as RGB


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _pixel_bomb(side: int = BOMB_SIDE) -> bytes:
    """A real, decodable grey PNG of side x side pixels that weighs about 100 KB."""
    squeezer = zlib.compressobj(9)
    row = b"\0" * (side + 1)  # filter byte + pixels
    pixels = b"".join(squeezer.compress(row) for _ in range(side)) + squeezer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


@pytest.fixture
def owner(make_user: Any, make_workspace: Any) -> Any:
    user = make_user("owner@example.com")
    ws = make_workspace("Uploads", owner=user)
    actor = accounts.actor_for_user(user, ws)
    assert actor is not None
    return user, ws, actor


def test_a_pixel_bomb_is_refused_from_its_header(owner: Any) -> None:
    _user, _ws, actor = owner
    bomb = _pixel_bomb()
    assert len(bomb) < 200 * 1024
    with pytest.raises(PlanningError) as caught:
        media_lib.save_media(actor, "bomb.png", bomb)
    assert (
        caught.value.message
        == "bomb.png has more pixels than Rupor opens; pictures may have at most 40 megapixels."
    )
    assert not Media.objects.exists()


def test_a_picture_over_the_cap_is_refused_naming_its_size(owner: Any) -> None:
    _user, _ws, actor = owner
    with pytest.raises(PlanningError) as caught:
        media_lib.save_media(actor, "big.png", _pixel_bomb(7000))
    assert caught.value.message == (
        "big.png is 7000x7000 px (49 megapixels); pictures may have at most 40 megapixels."
    )
    assert not Media.objects.exists()


def test_the_pixel_bomb_costs_little_memory(tmp_path: Path) -> None:
    """Measured in a fresh process (decoded pixels live outside Python's allocator, so
        tracemalloc cannot see them): refusing the bomb adds almost nothing to the process's peak,
    where decoding it for a thumbnail adds about 85 MB.

        The peak is the process's own high-water mark (VmHWM), not getrusage's ru_maxrss: Linux
        carries the forking parent's peak into ru_maxrss across exec, so a big test runner would
        be counted as the child's."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_pixel_bomb())
    script = (
        "import django, json, sys; django.setup()\n"
        "from rupor.planning import media\n"
        "def peak_kb():\n"
        "    hwm = [line for line in open('/proc/self/status') if line.startswith('VmHWM:')][0]\n"
        "    return int(hwm.split()[1])\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "before = peak_kb()\n"
        "try:\n"
        "    media.inspect(data, 'bomb.png')\n"
        "    media._thumbnail(data)  # what storing the upload does next\n"
        "    refused = ''\n"
        "except media.PlanningError as exc:\n"
        "    refused = exc.message\n"
        "print(json.dumps({'refused': refused, 'added_kb': peak_kb() - before}))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "rupor.settings"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(bomb)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "megapixels" in result["refused"]
    assert result["added_kb"] < 16 * 1024, f"{result['added_kb'] // 1024} MB"


def test_thumbnails_are_made_at_reduced_size(owner: Any) -> None:
    _user, _ws, actor = owner
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), (10, 120, 200)).save(out, "JPEG", quality=70)
    photo = media_lib.save_media(actor, "big.jpg", out.getvalue())
    with photo.thumbnail.open("rb") as handle, Image.open(handle) as thumb:
        assert max(thumb.size) == media_lib.THUMBNAIL_PX and thumb.format == "JPEG"
    palette = io.BytesIO()
    Image.new("P", (900, 600), 3).save(palette, "GIF")
    gif = media_lib.save_media(actor, "anim.gif", palette.getvalue())
    with gif.thumbnail.open("rb") as handle, Image.open(handle) as thumb:
        assert thumb.size == (320, 213) and thumb.mode == "RGB"


# -- streaming uploads --------------------------------------------------------------------------

VIDEO_MB = 40


def _write_video(handle: Any, megabytes: int = VIDEO_MB) -> None:
    """An MP4-looking file generated on the fly, written in chunks."""
    handle.write(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
    block = os.urandom(1024 * 1024)
    for _ in range(megabytes):
        handle.write(block)


def _multipart_body(
    path: Path, field: str, filename: str, extra: dict[str, str] | None = None
) -> tuple[Path, str]:
    """A multipart/form-data body on disk, so that the test client never holds it in memory."""
    boundary = "rupor-test-boundary-7f3a"
    body = path.with_suffix(".body")
    with body.open("wb") as out:
        for name, value in (extra or {}).items():
            out.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        with path.open("rb") as source:
            while chunk := source.read(1024 * 1024):
                out.write(chunk)
        out.write(f"\r\n--{boundary}--\r\n".encode())
    return body, f"multipart/form-data; boundary={boundary}"


def _post_streamed(client: Client, url: str, body: Path, content_type: str, **headers: Any) -> Any:
    environ: dict[str, Any] = {
        "CONTENT_LENGTH": str(body.stat().st_size),
        "CONTENT_TYPE": content_type,
        **headers,
    }
    with body.open("rb") as stream:
        environ["wsgi.input"] = stream  # the body is read from disk as the server reads it
        return client.generic("POST", url, b"", **environ)


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    with path.open("wb") as handle:
        _write_video(handle)
    return path


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get("/media/").status_code == 200  # the first request loads code; measure the upload only
    return client


@pytest.mark.parametrize("where", ["api", "media page", "composer"])
def test_a_big_upload_streams_to_disk(owner: Any, api_for: Any, video: Path, where: str) -> None:
    user, ws, _actor = owner
    size = video.stat().st_size
    if where == "api":
        api = api_for(ws, "editor")
        assert api.get("/media").status_code == 200  # the first request loads code; measure the upload only
        body, content_type = _multipart_body(video, "file", "clip.mp4")
        response, peak = measured(
            lambda: _post_streamed(
                api.client,
                "/api/v1/media",
                body,
                content_type,
                HTTP_AUTHORIZATION=f"Bearer {api.key}",
            )
        )
        assert response.status_code == 201, response.content
    elif where == "media page":
        client = _signed_in(user)
        body, content_type = _multipart_body(video, "files", "clip.mp4")
        response, peak = measured(lambda: _post_streamed(client, "/media/", body, content_type))
        assert response.status_code == 302, response.content[:500]
    else:
        client = _signed_in(user)
        body, content_type = _multipart_body(video, "file", "clip.mp4")
        response, peak = measured(lambda: _post_streamed(client, "/posts/media/upload/", body, content_type))
        assert response.status_code == 201, response.content[:500]
    stored = Media.objects.get(workspace=ws)
    assert stored.kind == "video" and stored.size == size
    with stored.file.open("rb") as handle, video.open("rb") as original:
        assert handle.read(1024 * 1024) == original.read(1024 * 1024)
    assert peak < size / 4, f"{where}: peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB upload"


def test_uploading_the_same_file_twice_keeps_one(owner: Any, video: Path) -> None:
    _user, _ws, actor = owner
    with video.open("rb") as handle:
        first = media_lib.store_media(
            actor, "clip.mp4", SimpleUploadedFile("clip.mp4", handle.read(2 * 1024 * 1024))
        )
    with video.open("rb") as handle:
        again = media_lib.store_media(
            actor, "again.mp4", SimpleUploadedFile("again.mp4", handle.read(2 * 1024 * 1024))
        )
    assert first[1] is True and again == (first[0], False)


# -- media downloaded by a plan import -------------------------------------------------------------


@pytest.fixture
def served_video(video: Path) -> Any:
    """The video at a local address, sent in chunks like any web server would."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            self.send_response(200)
            self.send_header("Content-Length", str(video.stat().st_size))
            self.end_headers()
            with video.open("rb") as source:
                while chunk := source.read(256 * 1024):
                    self.wfile.write(chunk)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/clip.mp4"
    server.shutdown()
    server.server_close()


def test_a_plan_import_spools_downloaded_media_to_disk(owner: Any, served_video: str, video: Path) -> None:
    from rupor.channels.models import Channel
    from rupor.core import http
    from rupor.planning import plan_io
    from rupor.planning.models import Post

    _user, ws, actor = owner
    Channel.objects.create(workspace=ws, network="vk", name="Our VK", remote_id="-1")
    plan = f"channels,text,media_urls\nOur VK,With a video,{served_video}\nOur VK,The same video again,{served_video}\n".encode()
    with http.trusted(served_video):
        plan_io.import_plan(
            actor, "plan.csv", plan, dry_run=True
        )  # the first run loads code; measure the next
        report, peak = measured(lambda: plan_io.import_plan(actor, "plan.csv", plan))
    assert report.ok, report.problems
    stored = Media.objects.get(workspace=ws)
    assert stored.size == video.stat().st_size and stored.kind == "video"
    assert Post.objects.filter(workspace=ws).count() == 2
    assert peak < video.stat().st_size / 4, f"peak {peak / 1e6:.1f} MB"


def test_a_picture_whose_pixels_are_cut_off_is_refused_not_a_server_error(owner: Any) -> None:
    """Its header and structure look right, so only decoding the thumbnail finds the damage."""
    _user, _ws, actor = owner
    out = io.BytesIO()
    Image.effect_noise((800, 600), 64).convert("RGB").save(out, "JPEG", quality=90)
    truncated = out.getvalue()[: len(out.getvalue()) // 3]
    with pytest.raises(PlanningError) as caught:
        media_lib.save_media(actor, "cut.jpg", truncated)
    assert caught.value.message == "cut.jpg looks like a picture but is damaged."
    assert not Media.objects.exists()
