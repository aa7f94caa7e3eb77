"""Signing and payload shapes, checked against the documented algorithm and examples."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from rupor.networks.base import Content
from rupor.networks.ok import wire
from rupor.networks.ok.adapter import OkAdapter


def test_session_secret_is_md5_of_token_and_app_secret_lowercase():
    assert wire.session_secret_key("tkn1", "SECRET") == hashlib.md5(b"tkn1SECRET").hexdigest()
    assert wire.session_secret_key("tkn1", "SECRET").islower()


def test_signature_follows_the_documented_recipe():
    # apiok.ru: drop access_token/sig, sort by key, join key=value without separators,
    # append the session secret, md5, lower case.
    params = {
        "method": "users.getCurrentUser",
        "application_key": "CBAKEY",
        "format": "json",
        "access_token": "tkn1abc",
        "sig": "ignored",
    }
    secret = hashlib.md5(b"tkn1abcAPPSECRET").hexdigest()
    expected = hashlib.md5(
        ("application_key=CBAKEYformat=jsonmethod=users.getCurrentUser" + secret).encode()
    ).hexdigest()
    assert wire.signature(params, secret) == expected


def test_signed_params_carry_token_unsigned_and_utf8_values():
    out = wire.signed_params(
        "mediatopic.post",
        {"gid": "1", "attachment": '{"media":[{"type":"text","text":"Привет"}]}'},
        application_key="K",
        application_secret_key="S",
        access_token="T",
    )
    assert out["access_token"] == "T"
    assert out["format"] == "json"
    assert out["method"] == "mediatopic.post"
    joined = "".join(f"{k}={out[k]}" for k in sorted(out) if k not in ("sig", "access_token"))
    assert out["sig"] == hashlib.md5((joined + hashlib.md5(b"TS").hexdigest()).encode("utf-8")).hexdigest()


def test_attachment_matches_documented_shape():
    body = json.loads(
        wire.attachment_json(
            text="Hi",
            photo_tokens=["tok1", "tok2"],
            link="https://apiok.ru",
            poll=wire.poll_block("Do you like our API?", ["Yes", "No"], multiple=False, anonymous=True),
            publish_at=dt.datetime(2026, 5, 1, 7, 0, tzinfo=dt.UTC),
        )
    )
    assert body["media"] == [
        {"type": "text", "text": "Hi"},
        {"type": "photo", "list": [{"id": "tok1"}, {"id": "tok2"}]},
        {
            "type": "poll",
            "question": "Do you like our API?",
            "answers": [{"text": "Yes"}, {"text": "No"}],
            "options": "SingleChoice,AnonymousVoting",
        },
        {"type": "link", "url": "https://apiok.ru"},
    ]
    assert body["onBehalfOfGroup"] == "true"
    assert body["publishAt"] == "2026-05-01 10:00:00"  # Moscow local time


def test_error_payload_is_oks_envelope():
    assert wire.error_payload(104, "Invalid signature") == {
        "error_code": 104,
        "error_msg": "PARAM_SIGNATURE : Invalid signature",
        "error_data": None,
    }


@given(
    st.datetimes(
        min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(dt.UTC)
    )
)
def test_ok_datetime_round_trip(moment):
    moment = moment.replace(microsecond=0)
    assert wire.from_ok_datetime(wire.to_ok_datetime(moment)) == moment


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_text_length_counts_code_points(text):
    assert OkAdapter().text_length(text) == len(text)


def test_text_length_for_emoji_combining_cjk_cyrillic():
    adapter = OkAdapter()
    assert adapter.text_length("👍🏽") == 2
    assert adapter.text_length("e\u0301") == 2  # e + combining acute
    assert adapter.text_length("你好") == 2
    assert adapter.text_length("Привет") == 6


def test_validate_rejects_video_and_accepts_photos():
    from rupor.networks.base import Media, Poll

    adapter = OkAdapter()
    video = Media.from_bytes("video", "a.mp4", "video/mp4", b"x")
    assert any(p.field == "media[0]" for p in adapter.validate(Content(text="x", media=(video,))))
    photo = Media.from_bytes("photo", "a.jpg", "image/jpeg", b"x")
    assert adapter.validate(Content(text="x", media=(photo,))) == []
    assert adapter.validate(Content(text="x", poll=Poll("Q", ("only",))))
