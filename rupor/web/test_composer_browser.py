"""The composer in Chromium: two networks, both previews follow the typing, an uploaded picture
lands in every variant, a poll on VK, then schedule. Set ``RUPOR_SHOTS=/some/dir`` to keep
screenshots (English and Russian)."""

from __future__ import annotations

import io
import os
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from rupor.accounts import service as accounts
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.networks import registry
from rupor.planning.models import Post
from rupor.web.browser_testing import MARKS, expect, open_page

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS


@pytest.fixture(autouse=True)
def _settings(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    with open_page(browser, live_server.url, locale="en-US", viewport={"width": 1360, "height": 1000}) as tab:
        yield tab


def _connect(actor: accounts.Actor, network: str, name: str, remote_id: str) -> Channel:
    creds = {f.name: "x" for f in registry.adapter(network).credential_fields if f.required}
    return channels.connect(
        actor,
        channels.ChannelInput(network=network, name=name, remote_id=remote_id, credentials=creds),
        verify=False,
    )


@pytest.fixture
def setup(db: Any) -> tuple[Channel, Channel]:
    user = accounts.create_user("anna@example.com", PASSWORD, name="Anna")
    ws = accounts.create_workspace("Coffee House", user, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(user, ws)
    assert actor is not None
    return _connect(actor, "vk", "Coffee House VK", "1"), _connect(
        actor, "telegram", "Coffee House", "@coffee"
    )


def _png(path: pathlib.Path) -> pathlib.Path:
    image = Image.new("RGB", (640, 420), (196, 120, 60))
    for x in range(0, 640, 40):
        for y in range(0, 420, 40):
            if (x + y) // 40 % 2:
                image.paste((120, 70, 40), (x, y, x + 40, y + 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("RUPOR_SHOTS")
    if folder:
        pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": 1360, "height": min(int(height), 4000)})
        page.screenshot(path=str(pathlib.Path(folder) / name))
        page.set_viewport_size({"width": 1360, "height": 1000})


def test_compose_for_two_networks_with_media_and_poll_then_schedule(
    page: Any, setup: tuple[Channel, Channel], tmp_path: Any
) -> None:
    vk, tg = setup
    page.goto("/login/")
    page.get_by_label("Email").fill("anna@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    page.goto("/posts/new/?scheduled_at=2031-05-04T10:30")
    assert page.locator("#id_scheduled_at").input_value() == "2031-05-04T10:30"

    page.locator(f"input[name=channels][value='{vk.pk}']").check()
    page.locator(f"input[name=channels][value='{tg.pk}']").check()
    vk_preview, tg_preview = page.locator(f"#preview-{vk.pk}"), page.locator(f"#preview-{tg.pk}")
    expect(vk_preview).to_be_visible()
    expect(tg_preview).to_be_visible()
    page.get_by_label("Shared text").fill(
        "Fresh croissants every morning at https://coffee.example/menu #breakfast"
    )
    expect(vk_preview.locator(".pv-text")).to_contain_text("Fresh croissants every morning")
    expect(tg_preview.locator(".pv-text")).to_contain_text("Fresh croissants every morning")
    expect(vk_preview.locator(".pv-text a")).to_have_attribute("href", "https://coffee.example/menu")
    page.get_by_label("Shared text").press_sequentially(" Come early!")
    expect(vk_preview).to_contain_text("Come early!")
    expect(tg_preview).to_contain_text("Come early!")
    expect(page.locator(f"#counter-{tg.pk}")).to_contain_text("characters (emoji count as 2)")

    # Upload a picture into the shared media: every variant gets it, both previews show it.
    page.locator("#media-slot-shared [data-media-open]").click()
    expect(page.locator("#media-dialog")).to_be_visible()
    page.locator("#media-upload-input").set_input_files(str(_png(tmp_path / "croissant.png")))
    expect(page.locator("#media-slot-shared .media-chip")).to_have_count(1)
    bad = tmp_path / "notes.txt"
    bad.write_text("not a picture")
    page.locator("#media-upload-input").set_input_files(str(bad))
    expect(page.locator("#media-dialog-error")).to_contain_text("not a picture or video")
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#media-slot-shared [data-media-error]")).to_contain_text("not a picture or video")
    expect(page.locator(f"#media-slot-{vk.pk} .media-chip")).to_have_count(1)
    expect(vk_preview.locator(".pv-media img")).to_have_count(1)
    expect(tg_preview.locator(".pv-media img")).to_have_count(1)

    # A poll on VK only.
    box = page.locator(f"#variant-box-{vk.pk}")
    box.locator("details.extras > summary").click()
    box.get_by_label("Add a poll").check()
    box.get_by_label("Question").fill("What do you take with it?")
    box.get_by_label("Option 1").fill("Cappuccino")
    box.get_by_label("Option 2").fill("Tea")
    box.get_by_role("button", name="Add option").click()
    box.get_by_label("Option 3").fill("Nothing, thanks")
    expect(vk_preview.locator(".pv-poll")).to_contain_text("Nothing, thanks")
    expect(tg_preview.locator(".pv-poll")).to_have_count(0)
    # Telegram gets its own words, with its formatting.
    tg_box = page.locator(f"#variant-box-{tg.pk}")
    tg_box.locator("textarea[name^=variant_text_]").fill("<b>Fresh croissants</b> every morning")
    tg_box.locator("details.extras > summary").click()
    tg_box.get_by_label("Telegram formatting in the text").check()
    expect(tg_preview.locator(".pv-text strong")).to_have_text("Fresh croissants")
    page.wait_for_timeout(400)
    _shot(page, "composer-en.png")

    page.get_by_role("button", name="Schedule").click()
    page.wait_for_url("**/posts/")
    expect(page.locator(".message.success")).to_contain_text("Scheduled for 2031-05-04 10:30 (Europe/Moscow)")
    post = Post.objects.get()
    assert post.status == Post.Status.SCHEDULED
    variants = {v.channel_id: v for v in post.variants.all()}
    poll = variants[vk.pk].poll
    assert poll is not None and poll["options"] == ["Cappuccino", "Tea", "Nothing, thanks"]
    assert variants[tg.pk].options == {"format": "html"}
    assert all(len(v.variantmedia_set.all()) == 1 for v in variants.values())

    # The same post in Russian.
    page.context.add_cookies(
        [{"name": "django_language", "value": "ru", "url": page.url.split("/posts")[0] + "/"}]
    )
    page.goto(f"/posts/{post.pk}/edit/")
    expect(page.locator(f"#preview-{vk.pk} .pv-poll")).to_be_visible()
    _shot(page, "composer-ru.png")

    # With client approval, the page says who approves and offers no plain "Schedule".
    from rupor.accounts.models import Workspace

    Workspace.objects.update(approval=Workspace.Approval.CLIENT)
    page.context.add_cookies(
        [{"name": "django_language", "value": "en", "url": page.url.split("/posts")[0] + "/"}]
    )
    page.goto(f"/posts/{post.pk}/edit/")
    expect(page.locator("#review-panel")).to_contain_text("the client approve")
    expect(page.get_by_role("button", name="Send to the client")).to_be_visible()
    _shot(page, "composer-approval-en.png")


def test_one_text_everywhere_is_warned_of_live_and_adapting_clears_it(
    page: Any, setup: tuple[Channel, Channel]
) -> None:
    vk, tg = setup
    page.goto("/login/")
    page.get_by_label("Email").fill("anna@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    page.goto("/posts/new/")
    page.locator(f"input[name=channels][value='{vk.pk}']").check()
    page.locator(f"input[name=channels][value='{tg.pk}']").check()
    expect(page.locator(f"#variant-box-{vk.pk} .convention")).to_contain_text("Short and visual")
    expect(page.locator(f"#variant-box-{tg.pk} .convention")).to_contain_text("The author's own voice")
    page.get_by_label("Shared text").fill("Fresh croissants every morning, come early for the warm ones!")
    warning = page.locator("#same-text")
    expect(warning).to_contain_text("One text everywhere")
    expect(warning).to_contain_text("Coffee House VK (VKontakte)")
    _shot(page, "composer-same-text.png")
    page.locator(f"input[name=channels][value='{tg.pk}']").uncheck()
    expect(warning).not_to_contain_text("One text everywhere")
    page.locator(f"input[name=channels][value='{tg.pk}']").check()
    expect(warning).to_contain_text("One text everywhere")
    page.locator(f"#variant-{tg.pk}").fill(
        "Why we bake at 5 a.m.: the story of our croissants, from the baker."
    )
    expect(warning).not_to_contain_text("One text everywhere")
    page.locator(f"#variant-{vk.pk}").fill("word " * 300)
    expect(page.locator(f"#counter-{vk.pk} .advice")).to_contain_text("This is long for VK")
