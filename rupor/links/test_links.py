"""Tracked links: the UTM builder, the click classifier, short links and their redirect, the
counts, and a post published with its links tagged and shortened against the VK emulator."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.core import clock
from rupor.links import service, utm
from rupor.links.classify import bot_reason
from rupor.links.models import LinkClick, LinkSettings, ShortLink

CONV = utm.Convention(source="vk", medium="social", campaign="news", content="42")
T0 = dt.datetime(2030, 3, 2, 9, 0, tzinfo=dt.UTC)


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# -- the UTM builder ------------------------------------------------------------------------


def test_tags_are_added_and_the_rest_of_the_address_kept() -> None:
    tagged = utm.tag("https://shop.example/p?id=7#buy", CONV)
    assert tagged.startswith("https://shop.example/p?id=7&utm_source=vk&utm_medium=social")
    assert tagged.endswith("&utm_campaign=news&utm_content=42#buy")


def test_a_tag_the_author_wrote_is_kept_as_written() -> None:
    tagged = utm.tag("https://shop.example/?utm_campaign=Spring", CONV)
    assert _query(tagged)["utm_campaign"] == ["Spring"]
    assert _query(tagged)["utm_source"] == ["vk"]


def test_slugs_are_lower_case_words_joined_by_underscores() -> None:
    assert utm.slug("  Новости & Акции 2030! ") == "новости_акции_2030"
    assert utm.slug("Black-Friday") == "black-friday"


def test_addresses_in_text_are_found_without_the_sentence_around_them() -> None:
    text = 'See https://a.example/x. Or (https://b.example/y) <a href="https://c.example/z">c</a>'
    assert utm.links_in(text) == ["https://a.example/x", "https://b.example/y", "https://c.example/z"]
    out = utm.rewrite(text, lambda u: u + "?t=1")
    assert (
        out
        == 'See https://a.example/x?t=1. Or (https://b.example/y?t=1) <a href="https://c.example/z?t=1">c</a>'
    )


# -- the classifier -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "method", "reason"),
    [
        ("TelegramBot (like TwitterBot)", "GET", "preview"),
        ("Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)", "GET", "preview"),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "GET", "preview"),
        ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "GET", "crawler"),
        ("curl/8.4.0", "GET", "crawler"),
        ("", "GET", "empty"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
            "HEAD",
            "head",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-S918B Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 Telegram-Android/10.5.0 "
            "(Samsung SM-S918B; Android 13; SDK 33; HIGH)",
            "GET",
            "",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.1;FBSS/3;FBID/phone;"
            "FBLC/en_US;FBOP/5]",
            "GET",
            "",
        ),
    ],
)
def test_the_classifier_names_programs_and_lets_people_through(agent: str, method: str, reason: str) -> None:
    assert bot_reason(agent, method) == reason


# -- short links, clicks and counts --------------------------------------------------------


@pytest.fixture
def workspace(make_workspace: Any) -> Any:
    ws = make_workspace()
    LinkSettings.objects.create(workspace=ws, utm_enabled=True, short_links=True)
    return ws


def _ref(ws: Any, variant_id: int = 901, network: str = "vk", post_id: int = 77) -> service.VariantRef:
    return service.VariantRef(
        workspace_id=ws.pk,
        post_id=post_id,
        variant_id=variant_id,
        channel_id=5,
        network=network,
        rubric="Спецпредложения",
    )


def _publish(ws: Any, **kw: Any) -> service.Tracked:
    return service.track(
        _ref(ws, **kw), text="Sale! https://shop.example/sale.", link=None, first_comment=None
    )


def _code(tracked: service.Tracked) -> str:
    return tracked.changes[0][1].rsplit("/l/", 1)[1]


BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


def _follow(code: str, *, agent: str = BROWSER, address: str = "203.0.113.7", method: str = "get") -> Any:
    return getattr(Client(), method)(f"/l/{code}", HTTP_USER_AGENT=agent, REMOTE_ADDR=address)


def test_a_link_is_tagged_shortened_once_and_redirects_with_its_tags(workspace: Any) -> None:
    first = _publish(workspace)
    again = _publish(workspace)  # a retried publication sends the same text
    assert first.text == again.text
    assert first.text.startswith("Sale! http://testserver/l/") or "/l/" in first.text
    assert first.text.endswith(".")
    assert ShortLink.objects.count() == 1
    answer = _follow(_code(first))
    assert answer.status_code == 302
    tags = _query(answer["Location"])
    assert tags["utm_source"] == ["vk"]
    assert tags["utm_medium"] == ["social"]
    assert tags["utm_campaign"] == ["спецпредложения"]
    assert tags["utm_content"] == ["77"]
    assert answer["Location"].startswith("https://shop.example/sale?")


def test_unknown_codes_are_a_bare_404(workspace: Any) -> None:
    for code in ("nothere1", "../../etc", "x" * 40):
        answer = Client().get(f"/l/{code}")
        assert answer.status_code == 404
        assert b"shop.example" not in answer.content
    assert LinkClick.objects.count() == 0


def test_people_bots_and_uniques_are_counted_apart_without_storing_addresses(workspace: Any) -> None:
    code = _code(_publish(workspace))
    _follow(code)
    _follow(code)  # the same person again: a click, not a second unique one
    _follow(code, address="198.51.100.9")
    _follow(code, agent="TelegramBot (like TwitterBot)", address="149.154.161.1")
    _follow(code, method="head", address="192.0.2.1")
    stats = service.post_stats(workspace.pk, [77])[77]
    assert stats == service.Stats(clicks=5, human=3, bot=2, unique=2)
    assert service.network_stats(workspace.pk)["vk"].clicks == 5
    stored = [str(v) for row in LinkClick.objects.values() for v in row.values()]
    assert not any("203.0.113" in v or "Chrome" in v or "TelegramBot" in v for v in stored)


def test_uniques_are_per_day(workspace: Any) -> None:
    code = _code(_publish(workspace))
    clock.freeze(T0)
    _follow(code)
    clock.freeze(T0 + dt.timedelta(days=1))
    _follow(code)
    assert service.post_stats(workspace.pk, [77])[77].unique == 2
    assert len(set(LinkClick.objects.values_list("visitor", flat=True))) == 2


def test_a_burst_from_one_address_is_a_bot_earlier_clicks_included(workspace: Any) -> None:
    code = _code(_publish(workspace))
    clock.freeze(T0)
    for _ in range(service.BURST_CLICKS):
        _follow(code, address="203.0.113.50")
        clock.advance(dt.timedelta(seconds=1))
    stats = service.post_stats(workspace.pk, [77])[77]
    assert stats.bot == service.BURST_CLICKS
    assert stats.unique == 0
    clock.advance(dt.timedelta(minutes=5))
    _follow(code, address="203.0.113.50")  # later, calmly: a person again
    assert service.post_stats(workspace.pk, [77])[77].human == 1


def test_when_no_short_link_can_be_made_the_tagged_long_address_goes_out(workspace: Any) -> None:
    ref = _ref(workspace)
    tagged = utm.tag("https://shop.example/sale", service._convention(ref, service.conventions(workspace.pk)))
    for extra in range(3):  # every code this link could get is taken by other links
        ShortLink.objects.create(
            workspace=workspace, code=service._code_for(901, tagged, extra), url=f"https://o.example/{extra}"
        )
    tracked = _publish(workspace)
    assert tracked.text == f"Sale! {tagged}."


def test_nothing_changes_when_off_or_switched_off_for_the_variant(
    make_workspace: Any, workspace: Any
) -> None:
    plain = make_workspace("Plain")
    text = "Sale! https://shop.example/sale."
    assert service.track(_ref(plain), text=text, link=None, first_comment=None).text == text
    ref = service.VariantRef(workspace.pk, 1, 2, 3, "vk", enabled=False)
    assert service.track(ref, text=text, link="https://a.example", first_comment=None).changes == ()


def test_utm_without_short_links_tags_the_link_field_and_first_comment(make_workspace: Any) -> None:
    ws = make_workspace()
    LinkSettings.objects.create(
        workspace=ws, utm_enabled=True, medium="paid_social", campaign_source="fixed", campaign="Spring"
    )
    out = service.track(
        _ref(ws, network="telegram"),
        text="hi",
        link="https://a.example/",
        first_comment="more: https://b.example",
    )
    assert _query(out.link or "")["utm_medium"] == ["paid_social"]
    assert _query(out.link or "")["utm_campaign"] == ["spring"]
    assert _query(out.first_comment.split(": ")[1])["utm_source"] == ["telegram"]  # type: ignore[union-attr]
    assert ShortLink.objects.count() == 0


def test_settings_are_checked_and_need_a_manager(make_workspace: Any) -> None:
    ws = make_workspace()
    editor = Actor(ws.pk, Role.EDITOR)
    manager = Actor(ws.pk, Role.MANAGER)
    with pytest.raises(service.LinksError) as refused:
        service.save_conventions(editor, service.Conventions(utm_enabled=True))
    assert refused.value.status == 403
    with pytest.raises(service.LinksError) as bad:
        service.save_conventions(manager, service.Conventions(short_domain="javascript:alert(1)"))
    assert bad.value.field == "short_domain"
    saved = service.save_conventions(
        manager, service.Conventions(utm_enabled=True, short_links=True, short_domain="https://go.example/")
    )
    assert saved.short_domain == "https://go.example"


# -- published against the VK emulator ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_post_goes_out_on_vk_with_its_short_link_and_the_click_lands_on_the_tagged_page() -> None:
    from rupor.networks.vk import testing as vk
    from rupor.publishing import ratelimit
    from rupor.publishing import testing as pt
    from rupor.publishing.models import TargetState
    from rupor.publishing.worker import run_worker

    previous = ratelimit.use("memory")
    emulator = vk.start(rate_limits=False)
    try:
        ws = pt.workspace()
        LinkSettings.objects.create(workspace=ws, utm_enabled=True, short_links=True)
        ch = pt.channel(ws, vk.channel_for(emulator))
        marker = f"m{uuid.uuid4().hex[:8]}"
        tracked = pt.schedule(ch, f"{marker} https://shop.example/spring")
        plain = pt.schedule(
            ch, f"{marker} plain https://shop.example/as-is", options={"tracked_links": False}
        )
        deadline = time.monotonic() + 30
        while pt.states([tracked.pk, plain.pk]) != {TargetState.PUBLISHED: 2} and time.monotonic() < deadline:
            run_worker(once=True, concurrency=1, worker_id="w-links")
            time.sleep(0.05)
        world: Any = emulator.app
        texts = [
            p.text for posts in world.emulator.posts.values() for p in posts.values() if marker in p.text
        ]
        short = next(t for t in texts if "plain" not in t)
        assert f"{marker} plain https://shop.example/as-is" in texts
        assert "/l/" in short and "shop.example" not in short
        answer = _follow(short.rsplit("/l/", 1)[1])
        assert answer.status_code == 302
        assert _query(answer["Location"])["utm_source"] == ["vk"]
        assert _query(answer["Location"])["utm_content"] == [str(tracked.variant.post_id)]
    finally:
        emulator.stop()
        ratelimit.use(previous)


def test_links_in_telegram_html_are_read_unescaped_and_written_escaped(make_workspace: Any) -> None:
    ws = make_workspace()
    LinkSettings.objects.create(workspace=ws, utm_enabled=True)
    ref = service.VariantRef(ws.pk, 9, 90, 1, "telegram", html=True)
    text = '<a href="https://shop.example/?a=1&amp;b=2">shop</a>'
    out = service.track(ref, text=text, link=None, first_comment=None).text
    assert out.startswith(
        '<a href="https://shop.example/?a=1&amp;b=2&amp;utm_source=telegram&amp;utm_medium=social'
    )
    assert "&u" not in out.replace("&amp;", "")


@pytest.mark.django_db(transaction=True)
def test_a_telegram_html_post_goes_out_with_its_tagged_link_intact() -> None:
    from rupor.networks.telegram import testing as tg
    from rupor.publishing import ratelimit
    from rupor.publishing import testing as pt
    from rupor.publishing.models import TargetState
    from rupor.publishing.worker import run_worker

    previous = ratelimit.use("memory")
    emulator = tg.start(rate_limits=False)
    try:
        ws = pt.workspace()
        LinkSettings.objects.create(workspace=ws, utm_enabled=True)
        ch = pt.channel(ws, tg.channel_for(emulator))
        marker = f"m{uuid.uuid4().hex[:8]}"
        text = f'<b>{marker}</b> <a href="https://shop.example/?a=1&amp;b=2">shop</a>'
        target = pt.schedule(ch, text, options={"format": "html"})
        deadline = time.monotonic() + 30
        while pt.states([target.pk]) != {TargetState.PUBLISHED: 1} and time.monotonic() < deadline:
            run_worker(once=True, concurrency=1, worker_id="w-links-tg")
            time.sleep(0.05)
        assert pt.states([target.pk]) == {TargetState.PUBLISHED: 1}
        world: Any = emulator.app
        sent = [m.payload for m in world.state.emulator.messages.values() if marker in str(m.payload)]
        assert sent  # the channel post (and its automatic forward to the discussion group)
        urls = [e.get("url", "") for e in sent[0].get("entities", []) if e.get("type") == "text_link"]
        assert urls and urls[0].startswith(
            "https://shop.example/?a=1&b=2&utm_source=telegram&utm_medium=social"
        )
    finally:
        emulator.stop()
        ratelimit.use(previous)
