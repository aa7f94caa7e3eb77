"""One post adapted for Facebook, Instagram and YouTube, in Chromium: a long text for Facebook
(its preview folds behind "See more"), a carousel of two uploaded pictures on Instagram (the
preview counts "1/2"), a video with its own title on YouTube. "Post now" publishes; each emulator
then holds the post exactly once, also after the worker runs again. Instagram fetches the
pictures from Rupor's signed public media links, so ``RUPOR_BASE_URL`` is the live server here.
Screenshots of the composer go into the test's tmp dir."""

from __future__ import annotations

import io
import pathlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from rupor.accounts import service as accounts
from rupor.channels.models import Channel
from rupor.cli.demo import demo_video_bytes
from rupor.core import http
from rupor.networks.facebook import testing as fb_testing
from rupor.networks.instagram import testing as ig_testing
from rupor.networks.youtube import testing as yt_testing
from rupor.planning.models import Post
from rupor.publishing import testing as pt
from rupor.publishing.models import TargetState
from rupor.publishing.worker import run_worker
from rupor.web.browser_testing import MARKS, expect, open_page, sign_in
from rupor.web.test_every_network_browser import PASSWORD, _settle

pytestmark = MARKS

TESTING = {"facebook": fb_testing, "instagram": ig_testing, "youtube": yt_testing}

LONG = (
    "Our roastery turns ten this spring, and we want to tell you how it all began {m}. "
    "It started with one second-hand drum roaster in a garage, a notebook of temperatures and "
    "a neighbour who agreed to taste every batch. We burnt the first forty kilos, learnt to "
    "listen for the first crack, and slowly found the light roast our regulars now ask for by "
    "name. Ten years later we buy green coffee directly from three farms in Ethiopia, Colombia "
    "and Guatemala, pay above the fair-trade price and visit each harvest. We still roast in "
    "small batches twice a week, still write every profile into a notebook, and still ask a "
    "neighbour to taste. To celebrate, every cup is half price on Saturday, the roaster is open "
    "for visits from ten to four, and our head roaster will explain how a bean becomes a cup, "
    "answer every question and let you try three roasts of the same coffee side by side. Bring "
    "friends, bring questions, bring a cup of your own if you like (it gets a free refill all "
    "day long), and thank you for ten years of mornings together with us."
)
IG_CAPTION = "Ten years of roasting, in two pictures: the first drum and today's {m} #coffee"
YT_TEXT = "How a green bean becomes your morning cup, from our head roaster {m}"
YT_TITLE = "Ten years of roasting {m}"


def _picture(path: pathlib.Path, colour: tuple[int, int, int], fmt: str) -> pathlib.Path:
    image = Image.new("RGB", (1080, 1080), colour)
    image.paste((40, 30, 20), (200, 200, 880, 880))
    out = io.BytesIO()
    image.save(out, fmt)
    path.write_bytes(out.getvalue())
    return path


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    with open_page(browser, live_server.url, viewport={"width": 1366, "height": 1000}) as tab:
        yield tab


@pytest.fixture
def emulators() -> Iterator[dict[str, Any]]:
    running: dict[str, Any] = {}
    try:
        for network, testing in TESTING.items():
            running[network] = testing.start(rate_limits=False)
        yield running
    finally:
        for emulator in running.values():
            emulator.stop()


@pytest.fixture
def world(
    db: Any, emulators: dict[str, Any], live_server: Any, settings: Any, tmp_path: Any
) -> dict[str, Any]:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # Meta fetches the pictures from Rupor's public media links: they point at the live server,
    # which the outbound guard lets the (in-process) emulators reach.
    settings.RUPOR_BASE_URL = live_server.url
    http.allow_origin(live_server.url)
    owner = accounts.create_user("owner@example.com", PASSWORD, name="Olga")
    ws = accounts.create_workspace("Coffee House", owner, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.create_user("anna@example.com", PASSWORD, name="Anna")
    accounts.add_member(actor, "anna@example.com", "manager")  # a manager publishes
    channels = {
        network: pt.channel(ws, TESTING[network].channel_for(emulator), name=f"Coffee {network.title()}")
        for network, emulator in emulators.items()
    }
    return {"ws": ws, "channels": channels}


def _upload(page: Any, slot: str, files: list[pathlib.Path]) -> None:
    page.locator(f"#media-slot-{slot} [data-media-open]").click()
    expect(page.locator("#media-dialog")).to_be_visible()
    page.locator("#media-upload-input").set_input_files([str(f) for f in files])
    expect(page.locator(f"#media-slot-{slot} .media-chip")).to_have_count(len(files))
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#media-dialog")).to_be_hidden()


def _facts(emulators: dict[str, Any], marker: str) -> dict[str, list[Any]]:
    fb = emulators["facebook"].app.state.emulator
    ig = emulators["instagram"].app.state.emulator
    yt = emulators["youtube"].app.state.emulator
    with fb.lock:
        fb_posts = [dict(p) for p in fb.posts.values() if not p["deleted"] and marker in p["message"]]
    with ig.lock:
        ig_posts = [
            (m.media_type, [ig.media[c].media_type for c in m.children])
            for m in ig.media.values()
            if not m.carousel_child and marker in m.caption
        ]
    with yt.lock:
        yt_videos = [
            dict(v.snippet)
            for v in yt.videos.values()
            if marker in v.snippet.get("title", "") + v.snippet.get("description", "")
        ]
    return {"facebook": fb_posts, "instagram": ig_posts, "youtube": yt_videos}


def test_one_post_adapted_for_facebook_instagram_and_youtube_goes_out_once_on_each(
    page: Any, world: dict[str, Any], emulators: dict[str, Any], tmp_path: pathlib.Path
) -> None:
    channels: dict[str, Channel] = world["channels"]
    fb, ig, yt = channels["facebook"], channels["instagram"], channels["youtube"]
    marker = f"m{uuid.uuid4().hex[:8]}"
    long_text = LONG.format(m=marker)
    assert len(long_text) > 1000

    sign_in(page, "anna@example.com", PASSWORD)
    page.goto("/posts/new/")
    page.locator("#id_title").fill("Ten years of roasting")
    for channel in channels.values():
        page.locator(f"input[name=channels][value='{channel.pk}']").check()
    page.get_by_label("Shared text").fill(long_text)

    # Facebook: the long shared text, folded behind "See more" in the preview.
    fb_preview = page.locator(f"#preview-{fb.pk}")
    expect(fb_preview.locator(".pv-fb")).to_be_visible()
    expect(fb_preview.locator(".pv-more summary")).to_have_text("See more")
    expect(fb_preview).to_contain_text("Our roastery turns ten this spring")

    # Instagram: its own caption and two pictures of its own, a carousel counted "1/2".
    ig_box = page.locator(f"#variant-box-{ig.pk}")
    ig_box.locator("textarea[name^=variant_text_]").fill(IG_CAPTION.format(m=marker))
    _upload(
        page,
        str(ig.pk),
        [
            _picture(tmp_path / "first-drum.jpg", (200, 120, 40), "JPEG"),
            _picture(tmp_path / "roastery-today.png", (90, 140, 60), "PNG"),
        ],
    )
    ig_preview = page.locator(f"#preview-{ig.pk}")
    expect(ig_preview.locator(".pv-ig-count")).to_have_text("1/2")
    expect(ig_preview.locator(".pv-ig-caption")).to_contain_text("Ten years of roasting, in two pictures")

    # YouTube: its own description, one uploaded video and the video's title.
    yt_box = page.locator(f"#variant-box-{yt.pk}")
    yt_box.locator("textarea[name^=variant_text_]").fill(YT_TEXT.format(m=marker))
    video = tmp_path / "roasting.mp4"
    video.write_bytes(demo_video_bytes())
    _upload(page, str(yt.pk), [video])
    yt_box.locator("details.extras > summary").click()
    yt_box.locator(f"#yt-title-{yt.pk}").fill(YT_TITLE.format(m=marker))
    yt_preview = page.locator(f"#preview-{yt.pk}")
    expect(yt_preview.locator(".pv-yt-title")).to_have_text(YT_TITLE.format(m=marker))
    expect(yt_preview.locator(".pv-yt-player")).to_contain_text("roasting.mp4")
    expect(yt_preview).to_contain_text("How a green bean becomes your morning cup")
    # Each preview followed its own variant: Facebook shows no media, Instagram no long text.
    expect(fb_preview.locator(".pv-media")).to_have_count(0)
    expect(ig_preview).not_to_contain_text("Our roastery turns ten")
    for channel in channels.values():
        expect(page.locator(f"#counter-{channel.pk} .errors")).to_have_count(0)
    shots = [tmp_path / "composer-en.png", tmp_path / "previews-en.png"]
    page.screenshot(path=str(shots[0]), full_page=True)
    page.locator("#preview-title").locator("xpath=ancestor::section").screenshot(path=str(shots[1]))
    assert all(s.stat().st_size > 10_000 for s in shots)

    page.get_by_role("button", name="Post now").click()
    page.wait_for_url("**/posts/")
    post = Post.objects.get()
    assert post.variants.count() == 3
    assert _settle(post) == {TargetState.PUBLISHED}
    # The worker runs again: nothing goes out twice.
    run_worker(once=True, concurrency=2, worker_id="w-networks3")
    for network, emulator in emulators.items():
        assert TESTING[network].posts_with(emulator, marker) == 1, network

    facts = _facts(emulators, marker)
    assert [p["message"].strip() for p in facts["facebook"]] == [long_text]
    assert facts["facebook"][0]["photos"] == [] and facts["facebook"][0]["published"]
    assert facts["instagram"] == [("CAROUSEL_ALBUM", ["IMAGE", "IMAGE"])]
    assert [v["title"] for v in facts["youtube"]] == [YT_TITLE.format(m=marker)]
    assert facts["youtube"][0]["description"].strip() == YT_TEXT.format(m=marker)

    page.goto("/posts/")
    row = page.locator("article.post-row", has_text="Ten years of roasting")
    expect(row.locator("[data-status]").first).to_have_text("Published")
