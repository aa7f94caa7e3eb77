"""The emulator against documented requests: raw HTTP, written from apiok.ru, not from our adapter."""

from __future__ import annotations

import hashlib
import json

import pytest

from rupor.core import http
from rupor.networks.emulation import EmulatorClock
from rupor.networks.ok import emulator as emu
from rupor.networks.ok import testing


@pytest.fixture(scope="module")
def em():
    running = testing.start(rate_limits=False)
    yield running
    running.stop()


def sign(
    params: dict[str, str], token: str | None = emu.DEMO_TOKEN, app_secret: str = emu.DEMO_APP_SECRET
) -> dict[str, str]:
    """Sign by hand, straight from the documentation."""
    params = {"application_key": emu.DEMO_APP_KEY, "format": "json", **params}
    secret = hashlib.md5((token + app_secret).encode()).hexdigest() if token else app_secret
    joined = "".join(f"{k}={params[k]}" for k in sorted(params))
    params["sig"] = hashlib.md5((joined + secret).encode("utf-8")).hexdigest()
    if token:
        params["access_token"] = token
    return params


def call(em, params, *, via="post", path="/fb.do"):
    with http.client(base_url=em.url, timeout=5) as client:
        if via == "get":
            return client.get(path, params=params)
        return client.post(path, data=params)


def test_form_post_and_get_query_both_work(em):
    for via in ("post", "get"):
        r = call(em, sign({"method": "users.getCurrentUser"}), via=via)
        assert r.status_code == 200
        assert r.json()["uid"] == emu.DEMO_UID


def test_rest_style_path(em):
    r = call(em, sign({"uids": emu.DEMO_GID, "fields": "name,members_count"}), path="/api/group/getInfo")
    body = r.json()
    assert body[0]["uid"] == emu.DEMO_GID
    assert body[0]["members_count"] > 0


def test_wrong_signature_is_104_with_header(em):
    params = sign({"method": "users.getCurrentUser"})
    params["sig"] = "0" * 32
    r = call(em, params)
    assert r.status_code == 200
    assert r.json() == {
        "error_code": 104,
        "error_msg": "PARAM_SIGNATURE : Invalid signature",
        "error_data": None,
    }
    assert r.headers["invocation-error"] == "104"


def test_signature_made_with_wrong_secret_is_104(em):
    r = call(em, sign({"method": "users.getCurrentUser"}, app_secret="WRONG"))
    assert r.json()["error_code"] == 104


def test_unknown_application_key_is_101(em):
    params = sign({"method": "users.getCurrentUser"})
    params["application_key"] = "NOPE"
    assert call(em, params).json()["error_code"] == 101


def test_unknown_and_expired_tokens_are_102(em):
    assert call(em, sign({"method": "users.getCurrentUser"}, token="tkn1unknown")).json()["error_code"] == 102
    assert (
        call(em, sign({"method": "users.getCurrentUser"}, token=emu.EXPIRED_TOKEN)).json()["error_code"]
        == 102
    )


def test_session_method_without_session_is_103(em):
    assert call(em, sign({"method": "users.getCurrentUser"}, token=None)).json()["error_code"] == 103


def test_call_without_session_uses_application_secret(em):
    r = call(em, sign({"method": "group.getInfo", "uids": emu.COMPETITOR_GID, "fields": "name"}, token=None))
    assert r.json()[0]["name"] == "Rival News"


def test_unknown_method_is_3(em):
    assert call(em, sign({"method": "nothing.here"})).json()["error_code"] == 3


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("mediatopic.post", {"type": "GROUP_THEME", "gid": emu.DEMO_GID}),
        ("group.getInfo", {"fields": "name"}),
        ("group.getInfo", {"uids": emu.DEMO_GID}),
        ("discussions.getComments", {"discussionType": "GROUP_TOPIC"}),
        ("discussions.addDiscussionComment", {"entityType": "GROUP_TOPIC", "comment": "x"}),
        ("mediatopic.deleteTopic", {}),
        ("group.getStatTopic", {"fields": "LIKES"}),
        ("group.getUserGroupsByIds", {"group_id": emu.DEMO_GID}),
        ("users.hasAppPermission", {}),
    ],
)
def test_missing_required_parameters_are_100(em, method, params):
    body = call(em, sign({"method": method, **params})).json()
    assert body["error_code"] == 100, body
    assert body["error_msg"].startswith("PARAM : ")


def attachment(text: str, **extra) -> str:
    return json.dumps({"media": [{"type": "text", "text": text}], **extra}, ensure_ascii=False)


def test_post_to_group_returns_topic_id_and_is_not_deduplicated(em):
    params = {
        "method": "mediatopic.post",
        "type": "GROUP_THEME",
        "gid": emu.DEMO_GID,
        "attachment": attachment("twice-marker", onBehalfOfGroup="true"),
    }
    first = call(em, sign(params)).json()
    second = call(em, sign(params)).json()
    assert isinstance(first, str)
    assert first.isdigit()
    assert first != second  # OK has no idempotency: two topics
    assert testing.posts_with(em, "twice-marker") == 2
    ledger = call(em, {}, via="get", path="/_emulator/ledger").json()
    assert sum(1 for e in ledger if e["kind"] == "topic_created" and e["text"] == "twice-marker") == 2


def test_bad_attachment_is_100(em):
    for bad in (
        "not json",
        json.dumps({"media": []}),
        json.dumps({"media": [{"type": "photo", "list": [{"id": "fake"}]}]}),
        json.dumps({"media": [{"type": "poll", "question": "Q", "answers": [{"text": "one"}]}]}),
    ):
        body = call(
            em,
            sign(
                {"method": "mediatopic.post", "type": "GROUP_THEME", "gid": emu.DEMO_GID, "attachment": bad}
            ),
        ).json()
        assert body["error_code"] == 100


def test_gid_needs_group_type(em):
    body = call(
        em,
        sign(
            {"method": "mediatopic.post", "type": "USER", "gid": emu.DEMO_GID, "attachment": attachment("x")}
        ),
    ).json()
    assert body["error_code"] == 100


def test_no_rights_and_no_permission_are_10(em):
    body = call(
        em,
        sign(
            {
                "method": "mediatopic.post",
                "type": "GROUP_THEME",
                "gid": emu.NO_RIGHTS_GID,
                "attachment": attachment("x"),
            }
        ),
    ).json()
    assert body["error_code"] == 10
    body = call(
        em,
        sign(
            {
                "method": "mediatopic.post",
                "type": "GROUP_THEME",
                "gid": emu.DEMO_GID,
                "attachment": attachment("x"),
            },
            token=emu.NO_CONTENT_TOKEN,
        ),
    ).json()
    assert body["error_code"] == 10


def test_photo_upload_flow(em):
    slot = call(em, sign({"method": "photosV2.getUploadUrl", "gid": emu.DEMO_GID, "count": "2"})).json()
    assert set(slot) >= {"upload_url", "photo_ids", "expires_ms"}
    assert len(slot["photo_ids"]) == 2
    with http.client(timeout=5) as client:
        not_multipart = client.post(slot["upload_url"], data={"pic1": "x"}).json()
        assert not_multipart["error_code"] == 21
        r = client.post(
            slot["upload_url"],
            files=[
                ("pic1", ("a.jpg", b"\xff\xd8one", "image/jpeg")),
                ("pic2", ("b.png", b"\x89PNGtwo", "image/png")),
            ],
        )
    photos = r.json()["photos"]
    tokens = [photos[pid]["token"] for pid in slot["photo_ids"]]
    att = json.dumps(
        {"media": [{"type": "text", "text": "album"}, {"type": "photo", "list": [{"id": t} for t in tokens]}]}
    )
    topic_id = call(
        em, sign({"method": "mediatopic.post", "type": "GROUP_THEME", "gid": emu.DEMO_GID, "attachment": att})
    ).json()
    topics = call(
        em, sign({"method": "mediatopic.getByIds", "topic_ids": topic_id, "fields": "media_topic.*"})
    ).json()["media_topics"]
    assert topics[0]["media"][1] == {"type": "photo", "photo_refs": [f"photo:{t}" for t in tokens]}


def test_topics_comments_and_stats(em):
    topic_id = call(
        em,
        sign(
            {
                "method": "mediatopic.post",
                "type": "GROUP_THEME",
                "gid": emu.DEMO_GID,
                "attachment": attachment("stats-marker"),
            }
        ),
    ).json()
    comment_id = call(
        em,
        sign(
            {
                "method": "discussions.addDiscussionComment",
                "entityId": topic_id,
                "entityType": "GROUP_TOPIC",
                "comment": "Админ тут",
                "as_admin": "true",
            }
        ),
    ).json()
    audience_id = testing.audience_comment(em, topic_id, "Вопрос от зрителя")
    page = call(
        em,
        sign(
            {"method": "discussions.getComments", "discussionId": topic_id, "discussionType": "GROUP_TOPIC"}
        ),
    ).json()
    by_id = {c["id"]: c for c in page["comments"]}
    assert by_id[comment_id]["author_type"] == "GROUP"
    assert by_id[audience_id]["text"] == "Вопрос от зрителя"
    assert len(by_id[audience_id]["date"]) == 19  # "YYYY-MM-DD HH:MM:SS"
    assert {"anchor", "has_more"} <= set(page)
    before = call(
        em, sign({"method": "group.getStatTopic", "topic_id": topic_id, "fields": "LIKES,VIEWS,COMMENTS"})
    ).json()["topic"]
    testing.advance_clock(em, 6 * 3600)
    after = call(
        em, sign({"method": "group.getStatTopic", "topic_id": topic_id, "fields": "LIKES,VIEWS,COMMENTS"})
    ).json()["topic"]
    assert after["views"] > before["views"]
    assert after["comments"] >= 2
    listing = call(em, sign({"method": "mediatopic.getTopics", "gid": emu.DEMO_GID, "count": "5"})).json()
    assert listing["media_topics"][0]["created_ms"] >= listing["media_topics"][-1]["created_ms"]
    deleted = call(em, sign({"method": "mediatopic.deleteTopic", "topic_id": topic_id})).json()
    assert deleted["success"] is True
    assert deleted["restore_id"]
    assert (
        call(em, sign({"method": "mediatopic.deleteTopic", "topic_id": topic_id})).json()["error_code"] == 300
    )


def test_stat_fields_are_validated(em):
    topics = call(em, sign({"method": "mediatopic.getTopics", "gid": emu.DEMO_GID})).json()["media_topics"]
    body = call(
        em, sign({"method": "group.getStatTopic", "topic_id": topics[0]["id"], "fields": "BOGUS"})
    ).json()
    assert body["error_code"] == 100


def test_url_get_info_resolves_group_shortname(em):
    info = call(em, sign({"method": "url.getInfo", "url": "https://ok.ru/rivalnews"})).json()
    assert info == {"type": "GROUP", "objectId": int(emu.COMPETITOR_GID)}


def test_user_group_status(em):
    rows = call(
        em, sign({"method": "group.getUserGroupsByIds", "group_id": emu.DEMO_GID, "uids": emu.DEMO_UID})
    ).json()
    assert rows == [{"groupId": emu.DEMO_GID, "userId": emu.DEMO_UID, "status": "ADMIN"}]
    rows = call(
        em, sign({"method": "group.getUserGroupsByIds", "group_id": emu.NO_RIGHTS_GID, "uids": emu.DEMO_UID})
    ).json()
    assert rows[0]["status"] == "ACTIVE"


def test_long_token_is_extended_by_calls():
    app = emu.create_app(rate_limits=False)
    state = app.state.emulator
    state.clock.advance(25 * 24 * 3600)  # 25 days later: still valid, and the call extends it
    payload, code = emu.dispatch(state, sign({"method": "users.getCurrentUser"}), "users.getCurrentUser")
    assert code is None
    state.clock.advance(20 * 24 * 3600)  # 45 days after start, 20 after the last call
    payload, code = emu.dispatch(state, sign({"method": "users.getCurrentUser"}), "users.getCurrentUser")
    assert code is None, payload
    state.clock.advance(31 * 24 * 3600)
    _payload, code = emu.dispatch(state, sign({"method": "users.getCurrentUser"}), "users.getCurrentUser")
    assert code == 102


def test_rate_limit_is_flood_blocked_and_can_be_turned_off():
    limited = emu.create_app(requests_per_second=3).state.emulator
    codes = [
        emu.dispatch(limited, sign({"method": "users.getCurrentUser"}), "users.getCurrentUser")[1]
        for _ in range(6)
    ]
    assert codes[:3] == [None, None, None]
    assert 8 in codes[3:]
    free = emu.create_app(rate_limits=False, requests_per_second=3).state.emulator
    assert all(
        emu.dispatch(free, sign({"method": "users.getCurrentUser"}), "users.getCurrentUser")[1] is None
        for _ in range(10)
    )


class FixedClock(EmulatorClock):
    def __init__(self) -> None:
        super().__init__()
        self.base = 1_800_000_000.0

    def timestamp(self) -> float:
        return float(self.base + self._offset)


def test_engagement_is_deterministic_for_a_seed_and_grows_with_time():
    def snapshot(seed: int, hours: float):
        state = emu.OkEmulatorState(seed=seed, clock=FixedClock())
        state.clock.advance(hours * 3600)
        return [(t["text"], t["views"], t["likes"], t["comments"]) for t in state.dump()["topics"]]

    assert snapshot(7, 3) == snapshot(7, 3)
    assert snapshot(7, 3) != snapshot(8, 3)
    early, late = snapshot(7, 1), snapshot(7, 48)
    assert all(b[1] >= a[1] for a, b in zip(early, late, strict=True))
    assert sum(b[1] for b in late) > sum(a[1] for a in early)
