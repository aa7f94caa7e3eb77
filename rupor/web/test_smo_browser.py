"""The SMO kit in Chromium: an editor opens the kit from the sidebar, chooses networks and a page,
copies the snippet, sees it run in the sandboxed preview (its script fills the share addresses,
nothing trips Rupor's Content-Security-Policy), then checks a local page's link previews."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from rupor.accounts import service as accounts
from rupor.core import http
from rupor.smo.testing import Answer, SiteServer, picture
from rupor.smo.testing import page as html_page
from rupor.web.browser_testing import MARKS, expect, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS


@pytest.fixture
def site(settings: Any) -> Iterator[SiteServer]:
    server = SiteServer().start()
    settings.RUPOR_ALLOW_PRIVATE_URLS = (server.origin,)
    yield server
    server.stop()


@pytest.fixture
def editor_tab(browser: Any, live_server: Any) -> Iterator[Any]:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.add_member(actor, accounts.create_user("editor@example.com", PASSWORD).email, "editor")
    # The live server's first answer imports every view (seconds on a busy machine): take it here,
    # not within the browser's 10-second navigation timeout.
    with http.trusted(live_server.url), http.client(timeout=120) as warm:
        warm.get(live_server.url + "/login/")
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 1400, "height": 1000}
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    try:
        yield tab
    finally:
        context.close()


def _policy_violations(tab: Any) -> list[str]:
    found: list[str] = []
    tab.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found


def _href(frame: Any, name: str) -> str:
    value = frame.get_by_role("link", name=name).get_attribute("href")
    assert isinstance(value, str)
    return value


def test_an_editor_builds_copies_and_previews_share_buttons(editor_tab: Any) -> None:
    tab = editor_tab
    violations = _policy_violations(tab)
    sign_in(tab, "editor@example.com", PASSWORD)
    tab.get_by_role("complementary", name="Main navigation").get_by_role("link", name="SMO kit").click()
    expect(tab.get_by_role("heading", name="SMO kit for your site")).to_be_visible()

    # Choose: X in, OK out; the result follows without a reload, and the address keeps the choice.
    tab.get_by_label("X", exact=True).check()
    tab.get_by_label("OK", exact=True).uncheck()
    snippet = tab.locator("#share-snippet")
    expect(snippet).to_contain_text('class="rs-btn rs-x"')
    expect(snippet).not_to_contain_text('class="rs-btn rs-ok"')
    expect(tab).to_have_url(re.compile(r"networks=x"))

    # The preview runs that very snippet: its script fills each address with the (preview) page.
    frame = tab.frame_locator("#share-preview")
    expect(frame.get_by_role("link", name="Share on X")).to_have_attribute(
        "href", re.compile(r"^https://twitter\.com/intent/tweet\?url=")
    )
    shared = parse_qs(urlsplit(_href(frame, "Share on X")).query)["url"][0]
    assert "/smo/preview/" in shared and "utm_source=x" in shared and "utm_content=share_button" in shared
    expect(frame.get_by_role("link", name="Share on OK")).to_have_count(0)

    # Copy puts the exact snippet on the clipboard.
    tab.locator("#copy-snippet").click()
    expect(tab.locator("#copy-snippet")).to_contain_text("Copied")
    copied = tab.evaluate("navigator.clipboard.readText()")
    assert copied == snippet.input_value().strip()
    assert copied.startswith("<!-- Share buttons made with Rupor") and "</script>" in copied

    # A fixed page: the buttons carry its tagged address, in the chosen look.
    tab.get_by_label("This page (the buttons then work without the script)").check()
    tab.get_by_label("Page address").fill("https://bakery.example/spring?ref=1")
    tab.get_by_label("Page title").fill("Spring menu & more")
    tab.get_by_label("Buttons show").select_option("icons")
    expect(snippet).to_contain_text("bakery.example")
    expect(frame.get_by_role("link", name="Share on VK")).to_have_attribute(
        "href", re.compile(r"^https://vk\.com/share\.php\?url=https%3A%2F%2Fbakery\.example")
    )
    vk = parse_qs(urlsplit(_href(frame, "Share on VK")).query)
    assert vk["title"] == ["Spring menu & more"]
    assert vk["url"][0].startswith("https://bakery.example/spring?ref=1&utm_source=vk&utm_medium=social")
    expect(tab.locator("#kit-links")).to_contain_text("utm_source=vk")

    # Mastodon asks for the visitor's server inside the preview.
    tab.get_by_label("Mastodon", exact=True).check()
    mastodon = frame.locator("summary.rs-mastodon")
    expect(mastodon).to_have_attribute("aria-label", "Share on Mastodon")
    mastodon.click()
    expect(frame.get_by_label("Your Mastodon server")).to_have_value("mastodon.social")

    # A mistake is shown with what was typed kept.
    tab.get_by_label("Page address").fill("ftp://bakery.example/")
    expect(tab.locator("#kit-error")).to_contain_text("http")
    expect(tab.get_by_label("Page address")).to_have_value("ftp://bakery.example/")
    shot(tab, "smo-kit.png")
    assert not violations, violations


def test_an_editor_checks_how_a_page_will_look_when_shared(editor_tab: Any, site: SiteServer) -> None:
    tab = editor_tab
    violations = _policy_violations(tab)
    good = site.good_page()
    tiny = site.add("/img/tiny.png", Answer(body=picture(120, 60, "PNG"), content_type="image/png"))
    bare = site.add(
        "/bare",
        Answer(body=html_page(f'<title>Bare page</title><meta property="og:image" content="{tiny}">')),
    )
    sign_in(tab, "editor@example.com", PASSWORD)
    tab.goto("/smo/")
    tab.get_by_role("link", name="Link preview check").click()
    tab.get_by_label("Page address").fill(good)
    tab.get_by_role("button", name="Check").click()
    cards = tab.locator("#check-cards > section")
    expect(cards).to_have_count(8)
    expect(tab.locator("#check-summary")).to_contain_text("Ready to share")
    expect(tab.locator("#card-facebook .smo-mock-title")).to_have_text(
        "Spring menu at the Rupor Coffee House"
    )
    expect(tab.locator("#card-facebook .smo-mock-image img")).to_be_visible()
    shot(tab, "smo-check-good.png")

    tab.get_by_label("Page address").fill(bare)
    tab.get_by_role("button", name="Check").click()
    expect(tab.locator("#card-x")).to_contain_text("Needs fixing")
    expect(tab.locator("#card-x")).to_contain_text("below the 300\u00d7157 X needs")
    expect(tab.locator("#card-telegram [data-code=no_description]")).to_be_visible()

    tab.get_by_label("Page address").fill("http://192.168.0.10/")
    tab.get_by_role("button", name="Check").click()
    expect(tab.locator("#check-error")).to_contain_text("private or local address")
    shot(tab, "smo-check-refused.png")
    assert not violations, violations
