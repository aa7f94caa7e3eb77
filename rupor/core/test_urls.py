"""Only absolute http(s) addresses are stored for anything rendered as a link: the one check in
``core/urls.py`` and every field that uses it (variant links, media addresses, the address of a
post a person confirmed, a channel's API base URL, inbox profile links)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts.middleware import SESSION_KEY
from rupor.core import clock
from rupor.core.urls import UnsafeUrl, clean_http_url, http_url_or_empty, url_problem
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem
from rupor.networks.base import Comment, Event, EventKind, Message, Person
from rupor.planning import media as media_lib
from rupor.planning.models import PostVariant
from rupor.publishing.models import PublicationTarget, TargetState

UNSAFE = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "/relative/path",
    "//evil.example/x",
    "example.com/page",
    "ftp://files.example/x.jpg",
    "http:/one-slash.example",
    "http://",
    "https://exa mple.com/",
    "https://example.com/\u200bpage",
    "http:\\\\evil.example\\x",
    "https://example.com/" + "a" * 2100,
]
SAFE = [
    "https://example.com/p/1",
    "http://127.0.0.1:8081/feed?x=1#top",
    "HTTPS://Example.com",
    "https://пример.рф/пост",
]


@pytest.mark.parametrize("value", UNSAFE)
def test_anything_but_an_absolute_http_address_is_refused(value: str) -> None:
    assert url_problem(value.strip()) is not None
    with pytest.raises(UnsafeUrl) as caught:
        clean_http_url(value, field="link")
    assert caught.value.status == 400 and caught.value.field == "link" and caught.value.message
    assert http_url_or_empty(value) == ""


@pytest.mark.parametrize("value", SAFE)
def test_http_and_https_addresses_pass_unchanged(value: str) -> None:
    assert url_problem(value) is None
    assert clean_http_url(f"  {value} ") == value
    assert http_url_or_empty(value) == value


def test_empty_is_no_link() -> None:
    assert clean_http_url("") == "" and clean_http_url(None) == "" and clean_http_url("   ") == ""


# -- every field ---------------------------------------------------------------------------


def _channel(api: Any, remote_id: str = "acct") -> int:
    res = api.post(
        "/channels",
        {"network": "examplenet", "remote_id": remote_id, "credentials": {"token": "t"}, "verify": False},
    )
    assert res.status_code == 201, res.content
    return int(res.json()["id"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "link", ["javascript:alert(document.cookie)", "data:text/html,x", " java\tscript:x", "/p/1"]
)
def test_a_variant_link_must_be_http_through_the_api(make_workspace: Any, api_for: Any, link: str) -> None:
    api = api_for(make_workspace(), "owner")
    ch = _channel(api)
    res = api.post("/posts", {"text": "t", "variants": [{"channel_id": ch, "link": link}]})
    assert res.status_code == 400, res.content
    assert res.json()["errors"][0]["field"] == "variants[0].link" and res.json()["detail"]
    assert not PostVariant.objects.exists()
    good = api.post(
        "/posts", {"text": "t", "variants": [{"channel_id": ch, "link": "https://example.com/a"}]}
    )
    assert good.status_code == 201
    post = good.json()["id"]
    res = api.patch(f"/posts/{post}", {"variants": [{"channel_id": ch, "link": link}]})
    assert res.status_code == 400
    assert PostVariant.objects.get().link == "https://example.com/a"


@pytest.mark.django_db
def test_a_variant_link_must_be_http_in_the_composer(
    make_workspace: Any, make_user: Any, api_for: Any
) -> None:
    user = make_user("writer@example.com")
    ws = make_workspace(owner=user)
    ch = _channel(api_for(ws, "owner"))
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = ws.slug
    session.save()
    res = client.post(
        reverse("web:post_new"),
        {
            "text": "hello",
            "channels": [str(ch)],
            "status": "draft",
            f"variant_link_{ch}": "javascript:alert(1)",
        },
    )
    assert res.status_code == 400  # the form again, with the reason
    assert "is not an http(s) address" in res.content.decode()
    assert not PostVariant.objects.exists()


@pytest.mark.django_db
def test_a_media_address_must_be_http() -> None:
    for value in (
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "//cdn.example/x.png",
        "https://cdn.exa\nmple/x.png",
    ):
        assert media_lib.check_remote_url(value) is not None
    assert media_lib.check_remote_url("https://cdn.example/x.png") is None


@pytest.mark.django_db
def test_a_confirmed_post_address_must_be_http(make_workspace: Any, api_for: Any) -> None:
    api = api_for(make_workspace(), "owner")
    ch = _channel(api)
    post = api.post("/posts", {"text": "hello", "variants": [{"channel_id": ch}]}).json()
    target = PublicationTarget.objects.get(variant_id=post["variants"][0]["id"])
    PublicationTarget.objects.filter(pk=target.pk).update(state=TargetState.UNCONFIRMED)
    res = api.post(
        f"/targets/{target.pk}/resolve", {"resolution": "published", "remote_url": "javascript:alert(1)"}
    )
    assert res.status_code == 400 and "http" in res.json()["detail"]
    target.refresh_from_db()
    assert target.state == TargetState.UNCONFIRMED and target.remote_url == ""
    ok = api.post(
        f"/targets/{target.pk}/resolve", {"resolution": "published", "remote_url": "https://example.com/p/9"}
    )
    assert ok.status_code == 200
    target.refresh_from_db()
    assert target.remote_url == "https://example.com/p/9"


@pytest.mark.django_db
def test_a_confirmed_post_address_must_be_http_on_the_publishing_page(
    make_workspace: Any, make_user: Any, api_for: Any
) -> None:
    user = make_user("boss@example.com")
    ws = make_workspace(owner=user)
    api = api_for(ws, "owner")
    post = api.post("/posts", {"text": "hello", "variants": [{"channel_id": _channel(api)}]}).json()
    target = PublicationTarget.objects.get(variant_id=post["variants"][0]["id"])
    PublicationTarget.objects.filter(pk=target.pk).update(state=TargetState.UNCONFIRMED)
    client = Client()
    client.force_login(user)
    res = client.post(
        reverse("web:publishing_act", args=[target.pk]),
        {"action": "published", "remote_url": "data:text/html,x"},
        follow=True,
    )
    assert res.status_code == 200
    assert "is not an http(s) address" in res.content.decode()
    target.refresh_from_db()
    assert target.state == TargetState.UNCONFIRMED and target.remote_url == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    "base_url", ["javascript:alert(1)", "file:///etc/passwd", "//host.example", "http://ho\tst.example"]
)
def test_a_channel_base_url_must_be_http(make_workspace: Any, api_for: Any, base_url: str) -> None:
    api = api_for(make_workspace(), "owner")
    res = api.post(
        "/channels",
        {
            "network": "examplenet",
            "remote_id": "acct",
            "credentials": {"token": "t"},
            "base_url": base_url,
            "verify": False,
        },
    )
    assert res.status_code == 400, res.content
    assert res.json()["errors"][0]["field"] == "base_url"


@pytest.mark.django_db
def test_inbox_keeps_an_item_whose_profile_link_is_not_http_without_the_link(
    make_workspace: Any, api_for: Any
) -> None:
    api = api_for(make_workspace(), "owner")
    ch = _channel(api, "inbox-acct")
    now = clock.now()
    bad = Person("u1", "Mallory", "javascript:alert(1)")
    good = Person("u2", "Alice", "https://social.example/@alice")
    events = [
        Event(EventKind.COMMENT_NEW, "c1", "inbox-acct", now, comment=Comment("c1", "p1", bad, "hi", now)),
        Event(
            EventKind.COMMENT_NEW, "c2", "inbox-acct", now, comment=Comment("c2", "p1", good, "hello", now)
        ),
        Event(
            EventKind.MESSAGE_NEW,
            "m1",
            "inbox-acct",
            now + dt.timedelta(seconds=1),
            message=Message("m1", "conv", Person("u3", "Eve", "data:text/html,x"), "dm", now),
        ),
    ]
    inbox.ingest_events(ch, events)
    urls = dict(InboxItem.objects.values_list("remote_id", "author_url"))
    assert urls == {"c1": "", "c2": "https://social.example/@alice", "m1": ""}
    assert InboxItem.objects.get(remote_id="c1").text == "hi"


def test_the_ascii_shortcut_finds_exactly_the_hidden_characters_the_full_check_finds() -> None:
    import unicodedata

    from rupor.core import urls as urls_module

    def full(value: str) -> bool:
        return any(ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in value)

    for code in range(128):
        value = f"https://example.com/a{chr(code)}b"
        assert urls_module._has_hidden_characters(value) is full(value), hex(code)
    # Beyond ASCII the full check runs: a zero-width space and a right-to-left mark are found.
    assert urls_module._has_hidden_characters("https://example.com/\u200bx")
    assert urls_module._has_hidden_characters("https://exa\u200fmple.com/")
    assert not urls_module._has_hidden_characters("https://пример.рф/путь")
