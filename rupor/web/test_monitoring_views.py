"""The monitoring page: who sees and changes keywords, clear refusals that keep what was typed,
the missing-token notice, and mentions shown in the inbox list and thread."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import User
from rupor.inbox import monitoring
from rupor.inbox.models import InboxItem, MentionInfo, MonitoredKeyword
from rupor.inbox.testing import connect
from rupor.networks.vk import testing as vk_testing

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"
URL = "/inbox/monitoring/"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    users = {
        role: accounts.create_user(f"{role}@example.com", PASSWORD)
        for role in ("owner", "manager", "moderator")
    }
    ws = accounts.create_workspace("Coffee House", users["owner"])
    owner = accounts.actor_for_user(users["owner"], ws)
    assert owner is not None
    for role in ("manager", "moderator"):
        accounts.add_member(owner, f"{role}@example.com", role)
    return {"ws": ws, "users": users}


def test_the_inbox_links_to_monitoring_and_the_page_says_nothing_can_search(world):
    client = _client(world["users"]["manager"])
    inbox = client.get("/inbox/")
    assert reverse("web:inbox_monitoring") in inbox.content.decode()
    page = client.get(URL)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="no-search"' in body and 'id="keyword-form"' in body


def test_a_manager_adds_and_removes_a_keyword_and_bad_input_is_kept(world):
    client = _client(world["users"]["manager"])
    bad = client.post(URL, {"action": "add", "phrase": "x", "minus_words": "cheap job"})
    assert bad.status_code == 422
    body = bad.content.decode()
    assert 'id="keyword-problem"' in body and 'value="cheap job"' in body and 'aria-invalid="true"' in body
    odd = client.post(URL, {"action": "add", "phrase": "coffee", "channel": "12345678901234567890"})
    assert odd.status_code == 422
    good = client.post(
        URL, {"action": "add", "phrase": "Rupor Coffee", "minus_words": "-job", "language": "ru"}
    )
    assert good.status_code == 302
    keyword = MonitoredKeyword.objects.get(workspace=world["ws"])
    assert (keyword.phrase, keyword.minus_words, keyword.language) == ("Rupor Coffee", "job", "ru")
    listed = client.get(URL).content.decode()
    assert f'id="keyword-{keyword.pk}"' in listed and "Rupor Coffee" in listed
    twice = client.post(URL, {"action": "add", "phrase": "rupor coffee"})
    assert twice.status_code == 409
    gone = client.post(URL, {"action": "remove", "keyword": str(keyword.pk)})
    assert gone.status_code == 302 and not MonitoredKeyword.objects.exists()
    again = client.post(URL, {"action": "remove", "keyword": "nope"}, follow=True)
    assert "No such keyword" in again.content.decode()


def test_a_moderator_sees_the_list_but_cannot_change_it(world):
    client = _client(world["users"]["moderator"])
    page = client.get(URL)
    assert page.status_code == 200 and 'id="keyword-form"' not in page.content.decode()
    assert client.post(URL, {"action": "add", "phrase": "coffee"}).status_code == 403
    assert not MonitoredKeyword.objects.exists()


def test_a_vk_channel_without_a_user_token_is_named_on_the_page(world):
    creds = {**vk_testing.demo_credentials(), "user_token": ""}
    nowhere = type("E", (), {"url": "http://127.0.0.1:9"})()
    channel = connect(world["ws"], vk_testing.channel_for(nowhere, credentials=creds), name="Coffee VK")
    body = _client(world["users"]["manager"]).get(URL).content.decode()
    assert f'id="search-problem-{channel.pk}"' in body and "user token" in body


def test_mentions_show_their_keyword_and_link_and_a_found_post_opens_on_the_network(world):
    nowhere = type("E", (), {"url": "http://127.0.0.1:9"})()
    channel = connect(world["ws"], vk_testing.channel_for(nowhere), name="Coffee VK")
    item = InboxItem.objects.create(
        workspace=world["ws"], channel=channel, kind="mention", remote_id="5_7", text="Rupor is great"
    )
    MentionInfo.objects.create(item=item, source="search", phrase="Rupor", url="https://vk.com/wall5_7")
    client = _client(world["users"]["manager"])
    listed = client.get("/inbox/").content.decode()
    assert "https://vk.com/wall5_7" in listed and "Rupor" in listed
    thread = client.get(f"/inbox/{item.pk}/").content.decode()
    assert 'id="answer-on-network"' in thread and 'id="reply-form"' not in thread
    assert monitoring.mention_details([item.pk])[item.pk].source == "search"
