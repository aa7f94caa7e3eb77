"""The best-time heatmap and the A/B test pages: what each role sees and may do, workspaces
kept apart, and clear errors for bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import User
from rupor.analytics.models import ABTest, PostStat
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.planning.models import QueueSlot

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase-42"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    roles = ("owner", "manager", "analyst", "editor", "client")
    users = {r: accounts.create_user(f"{r}@example.com", PASSWORD) for r in roles}
    ws = accounts.create_workspace("Bakery", users["owner"], timezone="Asia/Seoul")
    owner = accounts.actor_for_user(users["owner"], ws)
    assert owner is not None
    for role in roles[1:]:
        accounts.add_member(owner, f"{role}@example.com", role)
    channel = Channel.objects.create(workspace=ws, network="vk", name="Bakery VK", remote_id="-1")
    start = clock.now() - dt.timedelta(weeks=6)
    start = (start - dt.timedelta(days=start.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    for i in range(
        5
    ):  # Mondays 01:00 UTC = 10:00 in Seoul: 40; Thursdays 09:00 UTC: 10; Wednesdays 03:00 UTC: 35
        for day, hour, value in ((0, 1, 40), (3, 9, 10), (2, 3, 35)):
            PostStat.objects.create(
                workspace=ws,
                channel=channel,
                remote_post_id=f"{i}-{day}",
                published_at=start + dt.timedelta(weeks=i, days=day, hours=hour),
                engagements_24h=value,
                age_24h_hours=24.0,
                likes=value,
                reach=500,
            )
    stranger = accounts.create_user("stranger@example.com", PASSWORD)
    accounts.create_workspace("Other", stranger)
    return {"ws": ws, "channel": channel, "users": users, "stranger": stranger}


def test_heatmap_page_shows_the_evidence_in_the_workspace_zone(world: dict[str, Any]) -> None:
    page = _client(world["users"]["analyst"]).get(reverse("web:analytics_best_time"))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="hc') == 168
    assert "Monday 10:00: " in html and "5 posts at this hour" in html  # Seoul time, with the evidence
    assert "no posts at this hour" in html
    assert "Asia/Seoul" in html
    assert "Add these hours to the queue" not in html  # analysts do not edit the queue
    assert 'aria-current="page"' in html


def test_apply_button_makes_queue_slots(world: dict[str, Any]) -> None:
    client = _client(world["users"]["manager"])
    page = client.get(reverse("web:analytics_best_time") + f"?channel={world['channel'].pk}")
    assert "Add these hours to the queue" in page.content.decode()
    url = reverse("web:analytics_best_time_apply", args=[world["channel"].pk])
    res = client.post(url, {"count": "2"}, follow=True)
    assert res.status_code == 200
    assert "Added to the queue" in res.content.decode()
    slots = sorted(QueueSlot.objects.filter(channel=world["channel"]).values_list("weekday", "time"))
    assert slots == [(0, dt.time(10)), (2, dt.time(12))]
    assert _client(world["users"]["analyst"]).post(url, {"count": "2"}).status_code == 403
    assert _client(world["stranger"]).post(url, {"count": "2"}).status_code in (403, 404)


def test_best_time_page_roles_and_other_workspaces(world: dict[str, Any]) -> None:
    url = reverse("web:analytics_best_time")
    assert _client(world["users"]["client"]).get(url).status_code == 403
    assert _client(world["users"]["editor"]).get(url).status_code == 403
    theirs = _client(world["stranger"]).get(url + f"?channel={world['channel'].pk}")
    assert theirs.status_code == 404
    odd = _client(world["users"]["owner"]).get(url + "?channel=abc&weeks=-5")
    assert odd.status_code == 200


def test_ab_test_pages_create_show_edit_import_delete(world: dict[str, Any]) -> None:
    manager = _client(world["users"]["manager"])
    form = {
        "name": "Headline",
        "metric": "clicks_views",
        "mde": "20",
        "a_label": "Short",
        "a_successes": "10",
        "a_trials": "100",
        "b_label": "Long",
        "b_successes": "20",
        "b_trials": "100",
    }
    bad = manager.post(reverse("web:analytics_ab_new"), {**form, "a_successes": "200"})
    assert bad.status_code == 400 and "cannot exceed trials" in bad.content.decode()
    res = manager.post(reverse("web:analytics_ab_new"), form)
    assert res.status_code == 302
    test = ABTest.objects.get()
    detail = manager.get(res["Location"]).content.decode()
    assert "Do not stop early." in detail
    assert "5.52%" in detail and "17.44%" in detail  # the Wilson interval of 10/100
    assert "<svg" in detail and "95% interval" in detail
    assert "97.5%" in detail  # P(B beats A)
    edit = manager.post(reverse("web:analytics_ab_edit", args=[test.pk]), {**form, "name": "Renamed"})
    assert edit.status_code == 302
    upload = SimpleUploadedFile("f.csv", b"variant,successes,trials\nA,30,300\nLong,45,300\n", "text/csv")
    imported = manager.post(reverse("web:analytics_ab_import", args=[test.pk]), {"file": upload})
    assert imported.status_code == 302
    test.refresh_from_db()
    assert (test.name, test.a_successes, test.b_trials) == ("Renamed", 30, 300)
    wrong = SimpleUploadedFile("f.csv", b"variant,successes,trials\nA,400,300\n", "text/csv")
    refused = manager.post(reverse("web:analytics_ab_import", args=[test.pk]), {"file": wrong})
    assert refused.status_code == 400 and "cannot exceed" in refused.content.decode()
    listing = _client(world["users"]["analyst"]).get(reverse("web:analytics_ab_tests")).content.decode()
    assert "Renamed" in listing and "New A/B test" not in listing
    assert _client(world["stranger"]).get(reverse("web:analytics_ab_test", args=[test.pk])).status_code == 404
    assert manager.post(reverse("web:analytics_ab_delete", args=[test.pk])).status_code == 302
    assert not ABTest.objects.exists()


def test_ab_test_roles(world: dict[str, Any]) -> None:
    analyst = _client(world["users"]["analyst"])
    assert analyst.get(reverse("web:analytics_ab_tests")).status_code == 200
    assert analyst.get(reverse("web:analytics_ab_new")).status_code == 403
    assert analyst.post(reverse("web:analytics_ab_new"), {"name": "x"}).status_code == 403
    assert _client(world["users"]["client"]).get(reverse("web:analytics_ab_tests")).status_code == 403
    assert _client(world["users"]["editor"]).get(reverse("web:analytics_ab_tests")).status_code == 403


@pytest.mark.parametrize("language", ["ru", "ko"])
def test_pages_are_translated(world: dict[str, Any], language: str) -> None:
    client = _client(world["users"]["owner"])
    client.cookies["django_language"] = language
    best = client.get(
        reverse("web:analytics_best_time"), headers={"accept-language": language}
    ).content.decode()
    ab = client.get(reverse("web:analytics_ab_tests"), headers={"accept-language": language}).content.decode()
    assert "Best time to post" not in best
    assert "How this is worked out" not in best
    assert "No A/B tests yet" not in ab


def test_axis_steps_and_probabilities_read_well() -> None:
    from rupor.web.abtest_views import nice_step
    from rupor.web.templatetags.analytics_ui import probability

    assert [nice_step(x) for x in (0.0231, 0.0175, 0.001, 0.3, 0.26)] == pytest.approx(
        [0.025, 0.02, 0.001, 0.5, 0.5]
    )
    assert probability(0.99997) == "> 99.9%" and probability(0.00002) == "< 0.1%"
    assert probability(0.97517) == "97.5%" and probability(None) == "—"
    from rupor.web.templatetags.analytics_ui import pvalue

    assert pvalue(0.04767) == "0.0477" and pvalue(0.00002) == "< 0.0001" and pvalue(None) == "—"
