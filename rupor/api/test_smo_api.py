"""The SMO kit over the API: share-button snippets, widgets, and link checks with their refusals
(400 a malformed address, 422 one that cannot be read, 502 an unreachable server, 403 a role)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rupor.channels.models import Channel
from rupor.smo.testing import SiteServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(settings: Any) -> Iterator[SiteServer]:
    server = SiteServer().start()
    settings.RUPOR_ALLOW_PRIVATE_URLS = (server.origin,)
    yield server
    server.stop()


def test_share_buttons_and_widgets(api_for: Any, make_workspace: Any) -> None:
    ws = make_workspace()
    api = api_for(ws, "editor")
    made = api.post(
        "/smo/share-buttons",
        {"networks": ["vk", "linkedin"], "page": "fixed", "url": "https://shop.example/", "title": "Shop"},
    )
    assert made.status_code == 200, made.content
    data = made.json()
    assert (
        data["tagged"]["vk"]
        == "https://shop.example/?utm_source=vk&utm_medium=social&utm_campaign=share_buttons&utm_content=share_button"
    )
    assert data["links"]["linkedin"].startswith("https://www.linkedin.com/sharing/share-offsite/?url=")
    assert "<style>" in data["snippet"] and data["medium"] == "social"
    bad = api.post("/smo/share-buttons", {"networks": ["myspace"]})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "networks"
    Channel.objects.create(workspace=ws, network="vk", name="Bakery", remote_id="42")
    (widget,) = api.get("/smo/widgets").json()
    assert widget["network"] == "vk" and "VK.Widgets.Group" in widget["snippet"]
    assert api_for(ws, "analyst").get("/smo/widgets").status_code == 403


def test_link_check_answers_and_refusals(
    api_for: Any, make_workspace: Any, site: SiteServer, settings: Any
) -> None:
    api = api_for(make_workspace(), "manager")
    checked = api.post("/smo/link-check", {"url": site.good_page()})
    assert checked.status_code == 200, checked.content
    data = checked.json()
    assert data["level"] == "ok" and len(data["cards"]) == 8
    x = next(c for c in data["cards"] if c["network"] == "x")
    assert x["layout"] == "large" and x["level"] == "ok" and "image_thumbnail" not in x
    assert data["images"][0]["width"] == 1200 and "thumbnail" not in data["images"][0]
    assert api.post("/smo/link-check", {"url": "javascript:alert(1)"}).status_code == 400
    blocked = api.post("/smo/link-check", {"url": "http://169.254.169.254/latest/"})
    assert blocked.status_code == 422 and blocked.json()["errors"][0]["field"] == "url"
    settings.RUPOR_ALLOW_PRIVATE_URLS = (site.origin, "127.0.0.1:9")
    assert api.post("/smo/link-check", {"url": "http://127.0.0.1:9/"}).status_code == 502
