"""The media library in Chromium: a file no post uses is deleted, a file a post uses is kept with
the posts named; and an import of a hostile workbook is refused with the limits named, in English,
Russian and Korean. Set ``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

import datetime as dt
import io
import pathlib
from typing import Any

import pytest
from django.urls import reverse
from PIL import Image

from rupor.accounts import service as accounts
from rupor.channels.models import Channel
from rupor.planning import media as media_lib
from rupor.planning import service as planning
from rupor.planning.models import Media
from rupor.web.browser_testing import MARKS, expect, open_page, shot

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS

WORDS = {
    "en-US": (
        "Delete…",
        "Delete",
        "The file was deleted from the library.",
        "is used by a post",
        "rows after the header",
    ),
    "ru-RU": (
        "Удалить…",
        "Удалить",
        "Файл удалён из медиатеки.",
        "используется в 1 посте",
        "строк после заголовка",
    ),
    "ko-KR": (
        "삭제…",
        "삭제",
        "파일을 라이브러리에서 삭제했습니다.",
        "게시물 1개에서 사용 중입니다",
        "머리글 아래",
    ),
}


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), colour).save(out, "PNG")
    return out.getvalue()


def _hostile_workbook(tmp_path: pathlib.Path) -> pathlib.Path:
    """A workbook with a value in the last row Excel has (the unbounded reader took gigabytes)."""
    from rupor.planning.test_import_limits import HOSTILE

    path = tmp_path / "plan.xlsx"
    path.write_bytes(HOSTILE["a value in the last row Excel has"][0]())
    return path


@pytest.mark.parametrize("locale", list(WORDS))
def test_delete_an_unused_file_keep_a_used_one_and_refuse_a_hostile_import(
    browser: Any,
    live_server: Any,
    locale: str,
    tmp_path: pathlib.Path,
) -> None:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    channel = Channel.objects.create(workspace=ws, network="telegram", name="Our Telegram", remote_id="@ours")
    used = media_lib.save_media(actor, "spring-menu.png", _png((200, 120, 40)))
    unused = media_lib.save_media(actor, "old-banner.png", _png((40, 120, 200)))
    planning.create_post(
        actor,
        planning.PostInput(
            text="Spring menu is here",
            status="scheduled",
            scheduled_at=dt.datetime(2099, 3, 5, 7, tzinfo=dt.UTC),
            variants=(planning.VariantInput(channel.pk, media_ids=(used.pk,)),),
        ),
    )
    open_words, delete_words, deleted_words, refused_words, rows_words = WORDS[locale]
    lang = locale[:2]

    with open_page(browser, live_server.url, locale=locale, viewport={"width": 1280, "height": 900}) as page:
        page.goto(reverse("web:login"))
        page.locator("#id_username").fill("owner@example.com")
        page.locator("#id_password").fill(PASSWORD)
        page.locator("button[type=submit].primary").click()
        page.wait_for_url("**/")
        page.goto(reverse("web:media"))
        tiles = page.locator(".media-tile")
        expect(tiles).to_have_count(2)
        unused_tile = tiles.filter(has_text="old-banner.png")
        unused_tile.get_by_text(open_words).click()
        shot(page, f"media-delete-open-{lang}.png")
        unused_tile.get_by_role("button", name=delete_words).click()
        expect(page.locator("ul.messages")).to_contain_text(deleted_words)
        expect(page.locator(".media-tile")).to_have_count(1)
        shot(page, f"media-deleted-{lang}.png")
        used_tile = page.locator(".media-tile").filter(has_text="spring-menu.png")
        used_tile.get_by_text(open_words).click()
        used_tile.get_by_role("button", name=delete_words).click()
        expect(page.locator("#media-delete-error")).to_contain_text(refused_words)
        expect(page.locator("#media-delete-error")).to_contain_text("Spring menu is here")
        shot(page, f"media-delete-refused-{lang}.png")
        assert list(Media.objects.filter(workspace=ws).values_list("pk", flat=True)) == [used.pk]
        assert not Media.objects.filter(pk=unused.pk).exists()

        page.goto(reverse("web:plan_import"))
        page.locator("input[type=file]").set_input_files(str(_hostile_workbook(tmp_path)))
        page.locator("form[enctype] button[type=submit]").first.click()
        expect(page.locator("body")).to_contain_text(rows_words)
        shot(page, f"import-hostile-refused-{lang}.png")
