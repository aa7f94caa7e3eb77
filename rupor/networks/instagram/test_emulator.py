"""The Instagram emulator answers as Meta's documentation says, called directly over HTTP (no
adapter): containers from files fetched by URL, their statuses, media_publish, the quota, comments
and insights with the current metric names."""

from __future__ import annotations

from typing import Any

import pytest

from rupor.core import http
from rupor.networks.graph import wire as graph
from rupor.networks.instagram import emulator as emu
from rupor.networks.instagram import testing

USER = emu.DEMO_USER_ID


@pytest.fixture
def em():
    running = testing.start()
    yield running
    running.stop()


def call(em, method: str, path: str, token: str = emu.DEMO_TOKEN, **params: Any) -> tuple[int, Any]:
    with http.client(base_url=em.url, timeout=10) as c:
        response = c.request(
            method,
            f"/{graph.VERSION}/{path}",
            params=params if method == "GET" else None,
            data=params if method != "GET" else None,
            headers={"Authorization": f"Bearer {token}"},
        )
        return response.status_code, response.json()


def error(body: Any) -> tuple[int, int | None]:
    return body["error"]["code"], body["error"].get("error_subcode")


def container(em, **params: Any) -> str:
    code, body = call(em, "POST", f"{USER}/media", **params)
    assert code == 200, body
    return str(body["id"])


def jpeg(width: int = 1080, height: int = 1080) -> str:
    return testing.media_server().add(testing.picture(width, height), "p.jpg", "image/jpeg")


def test_an_image_container_is_finished_at_once_and_published_once(em):
    cid = container(em, image_url=jpeg(), caption="Hello")
    assert call(em, "GET", cid, fields="status_code")[1] == {"id": cid, "status_code": "FINISHED"}
    code, published = call(em, "POST", f"{USER}/media_publish", creation_id=cid)
    assert code == 200
    assert call(em, "GET", cid, fields="status_code")[1]["status_code"] == "PUBLISHED"
    code, again = call(em, "POST", f"{USER}/media_publish", creation_id=cid)
    assert code == 400 and again["error"]["code"] == 100  # a container makes one post
    _code, media = call(em, "GET", published["id"], fields="caption,media_type,timestamp")
    assert (media["caption"], media["media_type"]) == ("Hello", "IMAGE")
    assert media["timestamp"].endswith("+0000")


@pytest.mark.parametrize(
    ("data", "filename", "ctype", "expected"),
    [
        (testing.picture(fmt="PNG"), "p.png", "image/png", (36001, 2207005)),
        (testing.picture(2000, 500), "w.jpg", "image/jpeg", (36003, 2207009)),
        (testing.picture(500, 1000), "t.jpg", "image/jpeg", (36003, 2207009)),
    ],
)
def test_images_must_be_jpeg_between_4_5_and_1_91(em, data, filename, ctype, expected):
    url = testing.media_server().add(data, filename, ctype)
    code, body = call(em, "POST", f"{USER}/media", image_url=url)
    assert code == 400
    assert error(body) == expected
    assert body["error"]["type"] == "OAuthException"
    assert body["error"]["fbtrace_id"]


def test_the_edges_of_the_ratio_range_are_accepted(em):
    container(em, image_url=jpeg(1080, 1350))  # 4:5
    container(em, image_url=jpeg(1910, 1000))  # 1.91:1


def test_an_address_meta_cannot_fetch_is_refused(em):
    gone = testing.media_server().url + "/m/999/none.jpg"
    code, body = call(em, "POST", f"{USER}/media", image_url=gone)
    assert code == 400
    assert error(body) == (9004, 2207052)


def test_a_reel_is_in_progress_then_finished(em):
    url = testing.media_server().add(testing.MP4, "v.mp4", "video/mp4")
    cid = container(em, video_url=url, media_type="REELS", caption="Reel")
    assert call(em, "GET", cid, fields="status_code")[1]["status_code"] == "IN_PROGRESS"
    code, body = call(em, "POST", f"{USER}/media_publish", creation_id=cid)
    assert code == 400 and error(body) == (9007, 2207027)
    testing.advance_clock(em, emu.VIDEO_PROCESSING_S + 1)
    assert call(em, "GET", cid, fields="status_code")[1]["status_code"] == "FINISHED"
    code, published = call(em, "POST", f"{USER}/media_publish", creation_id=cid)
    assert code == 200
    assert call(em, "GET", published["id"], fields="media_product_type")[1]["media_product_type"] == "REELS"


def test_a_video_that_is_not_mp4_ends_in_error(em):
    url = testing.media_server().add(b"not a video at all" * 20, "v.mp4", "video/mp4")
    cid = container(em, video_url=url, media_type="REELS")
    status = call(em, "GET", cid, fields="status_code,status")[1]
    assert status["status_code"] == "ERROR"
    assert "2207026" in status["status"]


def test_feed_video_is_refused_for_reels(em):
    url = testing.media_server().add(testing.MP4, "v.mp4", "video/mp4")
    code, body = call(em, "POST", f"{USER}/media", video_url=url, media_type="VIDEO")
    assert code == 400 and body["error"]["code"] == 100


def test_a_container_expires_after_24_hours(em):
    cid = container(em, image_url=jpeg())
    testing.advance_clock(em, 24 * 3600 + 1)
    assert call(em, "GET", cid, fields="status_code")[1]["status_code"] == "EXPIRED"
    code, body = call(em, "POST", f"{USER}/media_publish", creation_id=cid)
    assert code == 400 and error(body) == (-2, 2207020)


def test_a_carousel_takes_2_to_10_children_made_as_items(em):
    lone = container(em, image_url=jpeg())
    code, body = call(em, "POST", f"{USER}/media", media_type="CAROUSEL", children=lone)
    assert code == 400 and error(body) == (100, 2207028)
    kids = [container(em, image_url=jpeg(), is_carousel_item="true") for _ in range(2)]
    code, body = call(em, "POST", f"{USER}/media_publish", creation_id=kids[0])
    assert code == 400  # a child is not a post of its own
    parent = container(em, media_type="CAROUSEL", children=",".join(kids), caption="Album")
    code, published = call(em, "POST", f"{USER}/media_publish", creation_id=parent)
    assert code == 200
    media = call(em, "GET", published["id"], fields="media_type,children")[1]
    assert media["media_type"] == "CAROUSEL_ALBUM"
    assert len(media["children"]["data"]) == 2


def test_the_publishing_limit_is_stated_and_enforced(em):
    testing.set_quota(em, 2)
    _code, limit = call(em, "GET", f"{USER}/content_publishing_limit", fields="quota_usage,config")
    assert limit == {"data": [{"quota_usage": 0, "config": {"quota_total": 2, "quota_duration": 86400}}]}
    for _ in range(2):
        call(em, "POST", f"{USER}/media_publish", creation_id=container(em, image_url=jpeg()))
    code, body = call(em, "POST", f"{USER}/media_publish", creation_id=container(em, image_url=jpeg()))
    assert code == 400 and error(body) == (9, 2207042)
    assert (
        call(em, "GET", f"{USER}/content_publishing_limit", fields="quota_usage")[1]["data"][0]["quota_usage"]
        == 2
    )
    testing.advance_clock(em, 86400 + 1)  # a rolling 24 hours
    assert (
        call(em, "GET", f"{USER}/content_publishing_limit", fields="quota_usage")[1]["data"][0]["quota_usage"]
        == 0
    )


def test_comments_replies_and_hiding(em):
    _code, post = call(em, "POST", f"{USER}/media_publish", creation_id=container(em, image_url=jpeg()))
    first = testing.audience_comment(em, post["id"], "Love it")
    testing.audience_comment(em, post["id"], "Me too", reply_to=first)
    code, mine = call(em, "POST", f"{first}/replies", message="Thanks!")
    assert code == 200
    _code, listed = call(
        em, "GET", f"{post['id']}/comments", fields="id,text,username,replies{id,text,parent_id}"
    )
    (top,) = listed["data"]
    assert top["text"] == "Love it" and top["username"]
    assert [r["text"] for r in top["replies"]["data"]] == ["Me too", "Thanks!"]
    assert call(em, "POST", first, hide="true")[1] == {"success": True}
    assert call(em, "GET", first, fields="hidden")[1]["hidden"] is True
    assert call(em, "DELETE", mine["id"])[1] == {"success": True}
    code, body = call(em, "GET", mine["id"], fields="text")
    assert code == 400 and error(body) == (100, 33)


def test_insights_answer_views_and_refuse_retired_metrics(em):
    _code, post = call(em, "POST", f"{USER}/media_publish", creation_id=container(em, image_url=jpeg()))
    testing.advance_clock(em, 3 * 3600)
    code, body = call(em, "GET", f"{post['id']}/insights", metric="views,reach,likes,saved")
    assert code == 200
    assert [row["name"] for row in body["data"]] == ["views", "reach", "likes", "saved"]
    assert body["data"][0]["values"][0]["value"] > 0
    for retired in ("impressions", "plays", "video_views"):
        code, body = call(em, "GET", f"{post['id']}/insights", metric=f"views,{retired}")
        assert code == 400 and body["error"]["code"] == 100  # one bad metric fails the whole call


def test_tokens_and_permissions(em):
    code, body = call(em, "GET", USER, token="nonsense", fields="id")
    assert code == 400 and body["error"]["code"] == 190
    code, body = call(em, "POST", f"{USER}/media", token=emu.READ_ONLY_TOKEN, image_url=jpeg())
    assert code == 400 and body["error"]["code"] == 10
    _code, perms = call(em, "GET", "me/permissions", token=emu.READ_ONLY_TOKEN)
    assert {p["permission"] for p in perms["data"]} == {"instagram_basic", "pages_show_list"}


def test_every_answer_reports_business_use_case_usage(em):
    with http.client(base_url=em.url, timeout=5) as c:
        response = c.get(
            f"/{graph.VERSION}/{USER}",
            params={"fields": "id"},
            headers={"Authorization": f"Bearer {emu.DEMO_TOKEN}"},
        )
    (usage,) = graph.parse_usage(response.headers)
    assert usage.use_case == "instagram"
    assert usage.business_id == USER
