"""The media library (content sniffing, limits, thumbnails) and the secret iCal feed."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import path
from icalendar import Calendar
from PIL import Image

from rupor.channels.models import Channel
from rupor.core import clock
from rupor.planning import ical
from rupor.urls import urlpatterns as _site

pytestmark = pytest.mark.django_db

# The lead mounts the feed in rupor/urls.py; these tests use the same pattern.
urlpatterns = [path("ical/<str:token>.ics", ical.feed_view, name="ical-feed"), *_site]


def _png(width=64, height=48, fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def _upload(api, name, data):
    return api.client.post("/api/v1/media", {"file": SimpleUploadedFile(name, data)}, headers=api._headers())


def test_upload_checks_content_and_makes_a_thumbnail(make_workspace, api_for):
    ws = make_workspace()
    editor, client = api_for(ws, "editor"), api_for(ws, "client")
    res = _upload(editor, "photo.png", _png())
    assert res.status_code == 201, res.content
    body = res.json()
    assert (body["kind"], body["content_type"], body["width"], body["height"]) == (
        "photo",
        "image/png",
        64,
        48,
    )
    assert len(body["sha256"]) == 64 and body["thumbnail_url"] and body["url"]
    # The same bytes again are the same library item; a JPEG named .png is recognised as JPEG.
    assert _upload(editor, "again.png", _png()).json()["id"] == body["id"]
    assert _upload(editor, "lies.png", _png(fmt="JPEG")).json()["content_type"] == "image/jpeg"
    assert _upload(editor, "clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64).json()["kind"] == "video"
    for name, data, words in [
        ("notes.png", b"just some text, not a picture", "not a picture"),
        ("broken.png", _png()[:60], "damaged"),
        ("tiny.png", _png(4, 4), "at least"),
        ("empty.jpg", b"", "empty"),
        ("anim.bmp", _png(fmt="BMP"), "BMP"),
    ]:
        res = _upload(editor, name, data)
        assert res.status_code == 400, (name, res.content)
        assert words in res.json()["detail"] and res.json()["errors"][0]["field"] == "file"
    assert _upload(client, "photo.png", _png(30, 30)).status_code == 403
    res = editor.client.post("/api/v1/media", {}, headers=editor._headers())
    assert res.status_code == 400 and res.json()["errors"][0]["field"] == "file"
    listing = client.get("/media").json()
    assert {m["id"] for m in listing} >= {body["id"]} and len(listing) == 3
    assert api_for(make_workspace("Other"), "owner").get("/media").json() == []


@pytest.mark.urls(__name__)
def test_ical_feed_at_a_secret_address(make_workspace, api_for, client):
    clock.freeze(dt.datetime(2099, 2, 1, tzinfo=dt.UTC))  # the feed covers a year ahead
    ws = make_workspace("Acme", timezone="Europe/Berlin")
    channel = Channel.objects.create(workspace=ws, network="telegram", name="TG", remote_id="@tg")
    manager, analyst = api_for(ws, "manager"), api_for(ws, "analyst")
    res = manager.post(
        "/posts",
        {
            "title": "Spring sale",
            "text": "Hi",
            "status": "scheduled",
            "scheduled_at": "2099-03-01T10:00:00",
            "variants": [{"channel_id": channel.pk}],
        },
    )
    assert res.status_code == 201, res.content
    manager.post(
        "/posts", {"text": "Cancelled one", "status": "cancelled", "scheduled_at": "2099-03-02T10:00:00"}
    )
    url = analyst.get("/plan/ical").json()["url"]
    assert url.endswith(".ics") and "/ical/" in url
    assert manager.get("/plan/ical").json()["url"] == url  # stable until rotated
    feed_path = "/ical/" + url.rsplit("/ical/", 1)[1]
    res = client.get(feed_path)
    assert res.status_code == 200 and res["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(res.content)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    assert "Spring sale" in str(events[0]["summary"]) and "Telegram" in str(events[0]["summary"])
    assert events[0].decoded("dtstart").isoformat().startswith("2099-03-01T09:00:00")
    assert analyst.post("/plan/ical/rotate", {}).status_code == 403
    new_url = manager.post("/plan/ical/rotate", {}).json()["url"]
    assert new_url != url
    assert client.get(feed_path).status_code == 404
    assert client.get("/ical/" + new_url.rsplit("/ical/", 1)[1]).status_code == 200
    assert client.get("/ical/guess.ics").status_code == 404
