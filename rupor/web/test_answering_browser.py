"""Answering in the browser, against the VK emulator: a moderator takes the negative comment the
list shows first, answers it with a saved reply (its variables filled) and VK shows the reply under
the comment once; a held member's reply waits until a manager approves it, then VK has it once.
The pages in English, Russian and Korean. Set ``RUPOR_SHOTS=/some/dir`` to keep screenshots."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import Membership, User, Workspace
from rupor.inbox import answering
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem
from rupor.inbox.testing import connect, ledger, publish
from rupor.networks import registry
from rupor.networks.base import ChannelAccess
from rupor.networks.emulation import RunningEmulator
from rupor.networks.vk import testing as vk_testing
from rupor.web.browser_testing import MARKS, expect, open_page, shot, sign_in

PASSWORD = "a-long-enough-passphrase-42"
NEGATIVE = "This is the worst coffee I have ever had. Terrible, a total waste of money."

pytestmark = MARKS

#: What each page says in Russian and Korean (title of the saved replies page, the approve button).
WORDS = {
    "ru": ("Готовые ответы", "Согласовать и отправить"),
    "ko": ("저장된 답변", "승인하고 보내기"),
}


def _world(vk_emu: RunningEmulator) -> tuple[Workspace, accounts.Actor, ChannelAccess, str]:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    for role in ("moderator", "manager"):
        accounts.add_member(actor, accounts.create_user(f"{role}@example.com", PASSWORD).email, role)
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access, name="Coffee VK")
    target = publish(channel, access, "Autumn menu is out")
    vk_testing.audience_comment(vk_emu, target.remote_id, "Is there a vegan option?")
    vk_testing.audience_comment(vk_emu, target.remote_id, NEGATIVE)
    vk_testing.audience_comment(vk_emu, target.remote_id, "I love it, thank you so much!")
    inbox.poll_channel(channel.pk)
    assert inbox.triage_pending() == 3
    return ws, actor, access, target.remote_id


def _replies_on_vk(access: ChannelAccess, post: str, text: str) -> list[Any]:
    return [c for c in registry.adapter("vk").read_comments(access, post) if c.text == text]


def test_a_moderator_takes_the_negative_comment_and_answers_with_a_saved_reply(
    browser: Any, live_server: Any, vk_emu: RunningEmulator
) -> None:
    _ws, _owner, access, post = _world(vk_emu)
    body = "Hi {first_name}, we are sorry. {brand} will make it right: write to us."
    with open_page(browser, live_server.url, viewport={"width": 1200, "height": 900}) as page:
        # A manager keeps the saved reply; a mistyped variable is explained and nothing typed is lost.
        sign_in(page, "manager@example.com", PASSWORD)
        page.goto(reverse("web:inbox"))
        page.get_by_role("link", name="Saved replies").click()
        page.get_by_label("Title").fill("Apology")
        page.get_by_label("Text").fill(body.replace("{brand}", "{company}"))
        page.get_by_role("button", name="Add saved reply").click()
        expect(page.locator("#saved-problem")).to_contain_text("Unknown variable {company}")
        expect(page.get_by_label("Text")).to_have_value(body.replace("{brand}", "{company}"))
        shot(page, "answer-saved-replies-error-en.png")
        page.get_by_label("Text").fill(body)
        page.get_by_role("button", name="Add saved reply").click()
        expect(page.get_by_text("Saved reply added.")).to_be_visible()
        expect(page.locator("#saved-replies")).to_contain_text("Apology")
    negative = InboxItem.objects.get(text=NEGATIVE)
    first = negative.author_name.split()[0]
    expected = f"Hi {first}, we are sorry. Coffee House will make it right: write to us."
    moderator = User.objects.get(email="moderator@example.com")

    with open_page(browser, live_server.url, viewport={"width": 1200, "height": 900}) as page:
        sign_in(page, "moderator@example.com", PASSWORD)
        page.goto(reverse("web:inbox"))
        expect(page.locator(".inbox-row").first).to_contain_text(NEGATIVE)
        page.locator(".inbox-row").first.get_by_role("link", name="Open").click()
        expect(page.locator(".thread li.chosen")).to_contain_text(NEGATIVE)

        page.get_by_label("Assignee").select_option(label=moderator.display_name)
        page.get_by_role("button", name="Assign").click()
        expect(page.get_by_text("Assignee changed.")).to_be_visible()

        page.get_by_label("Saved reply").select_option(label="Apology")
        expect(page.get_by_label("Your reply")).to_have_value(expected)
        shot(page, "answer-thread-saved-en.png")
        page.get_by_role("button", name="Send reply").click()
        expect(page.get_by_text("Your reply was sent.")).to_be_visible()
        expect(page.locator(".thread li.ours")).to_contain_text(expected)

    negative.refresh_from_db()
    assert (negative.assigned_to_id, negative.status) == (moderator.pk, "answered")
    on_vk = _replies_on_vk(access, post, expected)
    assert len(on_vk) == 1
    assert on_vk[0].parent_remote_id == negative.remote_id  # under the comment it answers
    assert len([e for e in ledger(vk_emu) if e["kind"] == "comment_created" and e["text"] == expected]) == 1


def test_a_held_reply_is_approved_by_a_manager_and_reaches_vk_once(
    browser: Any, live_server: Any, vk_emu: RunningEmulator
) -> None:
    ws, owner, access, post = _world(vk_emu)
    question = InboxItem.objects.get(text="Is there a vegan option?")
    answering.create_saved_reply(
        owner, "Vegan", "Hi {first_name}! Every drink at {brand} comes with oat milk."
    )
    membership = Membership.objects.get(workspace=ws, user__email="moderator@example.com")
    item_url = reverse("web:inbox_item", args=[question.pk])

    with open_page(browser, live_server.url, viewport={"width": 1200, "height": 900}) as page:
        sign_in(page, "owner@example.com", PASSWORD)
        page.goto(reverse("web:members"))
        row = page.locator("tr", has_text="moderator@example.com")
        row.get_by_role("button", name="Hold their inbox replies for approval").click()
        expect(
            page.get_by_text("moderator@example.com's inbox replies now wait for approval.")
        ).to_be_visible()
        shot(page, "answer-members-en.png")
    membership.refresh_from_db()
    assert membership.replies_need_approval

    with open_page(browser, live_server.url, viewport={"width": 1200, "height": 900}) as page:
        sign_in(page, "moderator@example.com", PASSWORD)
        page.goto(item_url)
        page.get_by_label("Your reply").fill("Yes, oat milk in everything")
        page.get_by_role("button", name="Send for approval").click()
        expect(page.get_by_text("Your reply waits for approval; nothing was sent yet.")).to_be_visible()
        expect(page.locator("#awaiting-approval")).to_be_visible()
        shot(page, "answer-held-author-en.png")
    assert not _replies_on_vk(access, post, "Yes, oat milk in everything")

    with open_page(browser, live_server.url, viewport={"width": 1200, "height": 900}) as page:
        sign_in(page, "manager@example.com", PASSWORD)
        page.goto(item_url)
        expect(page.locator("#awaiting-approval")).to_have_text("Reply awaiting approval")
        box = page.get_by_label("Reply to approve (you can edit it)")
        expect(box).to_have_value("Yes, oat milk in everything")
        box.fill("Yes! Oat milk in every drink.")
        shot(page, "answer-approve-en.png")
        page.get_by_role("button", name="Approve and send").click()
        expect(page.get_by_text("Approved: the reply was sent.")).to_be_visible()
        expect(page.locator(".thread li.ours")).to_contain_text("Yes! Oat milk in every drink.")
        expect(page.locator("#awaiting-approval")).to_have_count(0)

    on_vk = _replies_on_vk(access, post, "Yes! Oat milk in every drink.")
    assert len(on_vk) == 1 and on_vk[0].parent_remote_id == question.remote_id
    assert not _replies_on_vk(access, post, "Yes, oat milk in everything")

    # The pages in Russian and Korean: the saved replies page, and a reply waiting for approval.
    another = InboxItem.objects.get(text="I love it, thank you so much!")
    moderator = accounts.actor_for_user(User.objects.get(email="moderator@example.com"), ws)
    assert moderator is not None
    answering.submit(moderator, another.pk, "Thank you for coming!")
    answering.add_note(owner, another.pk, "A regular: offer the loyalty card.")
    for lang, (saved_title, approve) in {"en": ("Saved replies", "Approve and send"), **WORDS}.items():
        with open_page(browser, live_server.url, viewport={"width": 1200, "height": 900}) as page:
            sign_in(page, "manager@example.com", PASSWORD)
            page.context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
            page.goto(reverse("web:saved_replies"))
            expect(page.locator("h1")).to_have_text(saved_title)
            shot(page, f"answer-saved-replies-{lang}.png")
            page.goto(reverse("web:inbox_item", args=[another.pk]))
            expect(page.get_by_role("button", name=approve)).to_be_visible()
            shot(page, f"answer-thread-approve-{lang}.png")
        with open_page(browser, live_server.url, viewport={"width": 1200, "height": 900}) as page:
            sign_in(page, "owner@example.com", PASSWORD)
            page.context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
            page.goto(reverse("web:members"))
            shot(page, f"answer-members-{lang}.png")
            page.goto(reverse("web:inbox"))
            shot(page, f"answer-inbox-{lang}.png")
