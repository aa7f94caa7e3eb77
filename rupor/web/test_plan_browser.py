"""Plan pages in Chromium, driven like a person would: a client approves and asks for changes
through the magic link (no account), and a manager imports a plan after its preview."""

from __future__ import annotations

import datetime as dt
import pathlib
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.accounts.models import Workspace
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.networks import registry
from rupor.planning import approvals
from rupor.planning import service as planning
from rupor.planning.models import Post
from rupor.web.browser_testing import MARKS, expect

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS


@pytest.fixture(autouse=True)
def _setup(settings: Any, tmp_path: pathlib.Path) -> None:
    settings.RUPOR_HOME = tmp_path / "home"


@pytest.fixture
def studio(db: Any) -> tuple[accounts.Actor, Channel]:
    user = accounts.create_user("anna@example.com", PASSWORD, name="Anna")
    ws = accounts.create_workspace("Coffee House", user, timezone="Europe/Moscow")
    ws.approval = Workspace.Approval.CLIENT
    ws.save()
    actor = accounts.actor_for_user(user, ws)
    assert actor is not None
    creds: dict[str, str] = {"bot_token": "123:abc"}
    if "telegram" in registry.available():
        creds = {f.name: "x" for f in registry.adapter("telegram").credential_fields if f.required} or creds
    channel = channels.connect(
        actor,
        channels.ChannelInput(network="telegram", name="Coffee news", remote_id="@coffee", credentials=creds),
        verify=False,
    )
    return actor, channel


def test_client_approves_and_asks_for_changes_through_the_magic_link(
    page: Any, studio: tuple[accounts.Actor, Channel]
) -> None:
    actor, channel = studio
    soon = clock.now() + dt.timedelta(days=2)
    ids = []
    for offset, text in ((0, "Spring menu is here"), (1, "Meet our barista")):
        post = planning.create_post(
            actor,
            planning.PostInput(
                text=text,
                status="scheduled",
                scheduled_at=soon + dt.timedelta(days=offset),
                variants=(planning.VariantInput(channel.pk),),
            ),
        )
        assert post.status == Post.Status.CLIENT_REVIEW
        ids.append(post.pk)
    link = approvals.client_link_for(
        actor, start=soon - dt.timedelta(hours=1), end=soon + dt.timedelta(days=3)
    )
    token = link.url.rsplit("/", 1)[1]

    page.goto(f"/review/{token}/")
    expect(page.locator("h1")).to_have_text("Posts for Coffee House")
    assert page.locator('meta[name="robots"]').get_attribute("content") == "noindex, nofollow"
    expect(page.locator(".review-count")).to_have_text("2 posts wait for your decision.")
    first = page.locator(f"#post-{ids[0]}")
    expect(first).to_contain_text("Spring menu is here")
    expect(first).to_contain_text("(Europe/Moscow)")
    first.get_by_role("button", name="Approve").click()
    expect(page.locator("#review-list")).to_contain_text("Thank you: the post is approved.")
    expect(page.locator(f"#post-{ids[0]}")).to_contain_text("You approved this post.")

    second = page.locator(f"#post-{ids[1]}")
    second.get_by_role("button", name="Request changes").click()
    expect(page.locator(f"#comment-{ids[1]}-err")).to_have_text(
        "Say what should change: a comment is required."
    )
    page.locator(f"#comment-{ids[1]}").fill("A warmer photo, please")
    page.locator(f"#post-{ids[1]}").get_by_role("button", name="Request changes").click()
    expect(page.locator(".review-done")).to_contain_text("Thank you!")
    expect(page.locator(f"#post-{ids[1]}")).to_contain_text("A warmer photo, please")
    assert Post.objects.get(pk=ids[0]).status == Post.Status.SCHEDULED
    assert Post.objects.get(pk=ids[1]).status == Post.Status.CHANGES_REQUESTED

    page.goto("/review/this-link-was-never-sent/")
    expect(page.locator("h1")).to_have_text("This review link does not work")


def test_import_preview_then_confirm(
    page: Any, studio: tuple[accounts.Actor, Channel], tmp_path: pathlib.Path
) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill("anna@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,time,channels,text\n2099-03-10,10:00,Coffee news,Fine\n2099-03-11,7pm,Coffee news,Bad time\n,,Nowhere,No channel\n"
    )
    page.goto("/plan/import/")
    page.get_by_label("Plan file (.csv or .xlsx)").set_input_files(str(bad))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator(".import-preview .callout")).to_contain_text(
        "2 rows have problems; nothing will be imported."
    )
    rows = page.locator(".problems-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("3")
    expect(rows.nth(1)).to_contain_text("channel 'Nowhere' does not exist in this workspace")
    expect(page.get_by_role("button", name="Import 1 post")).to_have_count(0)

    good = tmp_path / "good.csv"
    good.write_text(
        "date,time,channels,text\n2099-03-10,10:00,Coffee news,Five ways to brew\n,,Coffee news,An idea\n"
    )
    page.get_by_label("Plan file (.csv or .xlsx)").set_input_files(str(good))
    page.get_by_role("button", name="Check the file").click()
    table = page.locator(".preview-table")
    expect(table).to_contain_text("Five ways to brew")
    expect(table).to_contain_text("2099-03-10")
    assert Post.objects.count() == 0
    page.get_by_role("button", name="Import 2 posts").click()
    page.wait_for_url("**/posts/")
    expect(page.locator(".messages")).to_contain_text("Imported 2 posts from good.csv.")
    assert sorted(Post.objects.values_list("text", flat=True)) == ["An idea", "Five ways to brew"]
