"""Each person chooses which events email them, and whether as they happen or in one email a day:
the notification service writes (or keeps, or skips) their email deliveries as they chose, the
worker's digest job sends each person's day once whatever the number of workers, and marking
read and unread again only ever touches the person's own notifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail

from rupor.accounts import service as accounts
from rupor.accounts.models import User, Workspace
from rupor.core import clock
from rupor.notifications import service as notifications
from rupor.notifications.models import Delivery, EmailPreference, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def team(make_user: Any, make_workspace: Any) -> dict[str, Any]:
    clock.freeze(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))
    owner = make_user("olga@example.com")
    ws = make_workspace(owner=owner, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    mod = make_user("misha@example.com")
    mod.language = "ru"
    mod.save()
    accounts.add_member(actor, mod.email, "moderator")
    return {"ws": ws, "owner": owner, "mod": mod}


def _emails(ws: Workspace, **kw: Any) -> list[tuple[str, str, str]]:
    return sorted(
        Delivery.objects.filter(workspace=ws, channel=Delivery.Channel.EMAIL, **kw).values_list(
            "to_email", "kind", "state"
        )
    )


def _prefs(user: User, **kw: Any) -> notifications.EmailPreferences:
    current = notifications.email_preferences(user.pk)
    args: dict[str, Any] = {
        "emailed": current.emailed,
        "digest": current.digest,
        "digest_hour": current.digest_hour,
        "timezone": current.timezone,
    }
    args.update(kw)
    return notifications.save_email_preferences(user.pk, **args)


def test_by_default_alarms_email_everyone_and_nudges_email_nobody(team: dict[str, Any]) -> None:
    ws = team["ws"]
    notifications.notify_event(ws.pk, "failed", "The post failed.")
    notifications.notify_member(ws.pk, team["mod"].pk, "inbox_assigned", "Yours now.")
    assert _emails(ws) == [
        ("misha@example.com", "failed", "pending"),
        ("olga@example.com", "failed", "pending"),
    ]
    prefs = notifications.email_preferences(team["owner"].pk)
    assert prefs.wants("failed") and not prefs.wants("inbox_assigned")
    assert set(prefs.emailed) == set(notifications.EVENTS)


def test_a_person_who_turns_an_event_off_gets_it_in_the_app_only(team: dict[str, Any]) -> None:
    ws, owner = team["ws"], team["owner"]
    _prefs(owner, emailed={"failed": False})
    notifications.notify_event(ws.pk, "failed", "The post failed.")
    notifications.notify_event(ws.pk, "missed", "The post missed its time.")
    assert _emails(ws, kind="failed") == [("misha@example.com", "failed", "pending")]
    assert ("olga@example.com", "missed", "pending") in _emails(ws)
    # The app still tells her.
    assert Notification.objects.filter(user=owner, kind="failed").count() == 1


def test_a_person_who_asks_for_a_nudge_by_email_gets_it(team: dict[str, Any]) -> None:
    ws, mod = team["ws"], team["mod"]
    _prefs(mod, emailed={"inbox_assigned": True})
    notifications.notify_member(ws.pk, mod.pk, "inbox_assigned", "Yours now.", link="/inbox/7/")
    assert _emails(ws) == [("misha@example.com", "inbox_assigned", "pending")]
    email = Delivery.objects.get(kind="inbox_assigned")
    assert email.user_id == mod.pk
    assert email.payload["title"] == "Вам назначили сообщение во входящих"  # in his language
    assert notifications.deliver_pending() == 1
    assert mail.outbox[0].to == ["misha@example.com"]
    assert mail.outbox[0].body.endswith("/inbox/7/")


def test_a_digest_gathers_the_day_into_one_email_at_the_persons_hour(team: dict[str, Any]) -> None:
    ws, owner = team["ws"], team["owner"]
    # 09:00 UTC is 12:00 in Moscow: the digest at 08:00 Moscow (05:00 UTC) has passed today.
    _prefs(owner, digest=True, digest_hour=8, timezone="Europe/Moscow")
    notifications.notify_event(ws.pk, "failed", "Post A failed.", link="/publishing/")
    clock.advance(dt.timedelta(hours=3))
    notifications.notify_event(ws.pk, "missed", "Post B missed its time.")
    assert _emails(ws, to_email="olga@example.com") == [
        ("olga@example.com", "failed", "digest"),
        ("olga@example.com", "missed", "digest"),
    ]
    # Kept for the digest: the outbox never sends them alone; Misha (no digest) gets his at once.
    notifications.deliver_pending()
    assert [m.to for m in mail.outbox] == [["misha@example.com"], ["misha@example.com"]]
    mail.outbox.clear()
    # Today's moment went by before she chose the digest: nothing until tomorrow 08:00 Moscow.
    assert notifications.send_digests(clock.now()) == 0
    clock.freeze(dt.datetime(2026, 3, 11, 4, 59, tzinfo=dt.UTC))
    assert notifications.send_digests(clock.now()) == 0
    clock.freeze(dt.datetime(2026, 3, 11, 5, 0, tzinfo=dt.UTC))
    assert notifications.send_digests(clock.now()) == 1
    assert notifications.send_digests(clock.now()) == 0  # a second worker finds it taken
    assert _emails(ws, to_email="olga@example.com") == [
        ("olga@example.com", "digest", "pending"),
        ("olga@example.com", "failed", "bundled"),
        ("olga@example.com", "missed", "bundled"),
    ]
    assert notifications.deliver_pending() == 1
    (sent,) = mail.outbox
    assert sent.to == ["olga@example.com"]
    assert sent.subject == "[Rupor] Acme: 2 notifications today"
    assert "Post A failed." in sent.body and "Post B missed its time." in sent.body
    assert "/publishing/" in sent.body
    # A quiet day sends nothing.
    clock.freeze(dt.datetime(2026, 3, 12, 5, 30, tzinfo=dt.UTC))
    assert notifications.send_digests(clock.now()) == 0
    assert EmailPreference.objects.get(user=owner).last_digest_at == dt.datetime(
        2026, 3, 12, 5, 0, tzinfo=dt.UTC
    )


def test_a_digest_is_claimed_once_even_when_workers_read_the_same_row(team: dict[str, Any]) -> None:
    ws, owner = team["ws"], team["owner"]
    _prefs(owner, digest=True, digest_hour=8, timezone="Europe/Moscow")
    notifications.notify_event(ws.pk, "failed", "Post A failed.")
    clock.freeze(dt.datetime(2026, 3, 11, 6, 0, tzinfo=dt.UTC))
    # Two workers both read the preference before either claims it.
    stale = EmailPreference.objects.get(user=owner)
    assert notifications.send_digests(clock.now()) == 1
    claim = EmailPreference.objects.filter(pk=stale.pk, last_digest_at=stale.last_digest_at)
    assert claim.update(last_digest_at=clock.now()) == 0  # the second worker's claim fails
    assert Delivery.objects.filter(kind=notifications.DIGEST_EVENT).count() == 1


def test_the_digest_hour_is_the_persons_wall_clock_across_a_dst_change(
    make_user: Any, make_workspace: Any
) -> None:
    clock.freeze(dt.datetime(2026, 3, 27, 12, 0, tzinfo=dt.UTC))
    user = make_user("ber@example.com")
    ws = make_workspace(owner=user, timezone="Europe/Berlin")
    _prefs(user, digest=True, digest_hour=8, timezone="Europe/Berlin")
    notifications.notify_event(ws.pk, "failed", "x")
    # Berlin moves to summer time on March 29, 2026: 08:00 is 07:00 UTC before, 06:00 UTC after.
    clock.freeze(dt.datetime(2026, 3, 28, 7, 0, tzinfo=dt.UTC))
    assert notifications.send_digests(clock.now()) == 1
    notifications.notify_event(ws.pk, "failed", "y")
    clock.freeze(dt.datetime(2026, 3, 30, 5, 59, tzinfo=dt.UTC))
    assert notifications.send_digests(clock.now()) == 1  # March 29's 08:00 (06:00 UTC) passed
    notifications.notify_event(ws.pk, "failed", "z")
    assert notifications.send_digests(clock.now()) == 0
    clock.freeze(dt.datetime(2026, 3, 30, 6, 0, tzinfo=dt.UTC))
    assert notifications.send_digests(clock.now()) == 1


def test_turning_the_digest_off_sends_what_waited_at_once(team: dict[str, Any]) -> None:
    ws, owner = team["ws"], team["owner"]
    _prefs(owner, digest=True)
    notifications.notify_event(ws.pk, "failed", "Post A failed.")
    _prefs(owner, digest=False)
    assert _emails(ws, to_email="olga@example.com") == [
        ("olga@example.com", "digest", "pending"),
        ("olga@example.com", "failed", "bundled"),
    ]
    notifications.notify_event(ws.pk, "missed", "Post B.")
    assert ("olga@example.com", "missed", "pending") in _emails(ws)


def test_a_digest_speaks_its_persons_language(team: dict[str, Any]) -> None:
    ws, mod = team["ws"], team["mod"]
    _prefs(mod, digest=True, digest_hour=0, timezone="UTC")
    notifications.notify_event(ws.pk, "failed", "x")
    clock.advance(dt.timedelta(days=1))
    assert notifications.send_digests(clock.now()) == 1
    digest = Delivery.objects.get(kind=notifications.DIGEST_EVENT)
    assert digest.payload["title"] == "Acme: 1 уведомление за сегодня"
    assert "Пост не удалось опубликовать" in digest.payload["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"emailed": {"no_such_event": True}}, "emailed"),
        ({"digest_hour": 24}, "digest_hour"),
        ({"digest_hour": -1}, "digest_hour"),
        ({"timezone": "Europe/Moscw"}, "timezone"),
        ({"timezone": ""}, "timezone"),
    ],
)
def test_preferences_that_cannot_be_are_refused(
    team: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    with pytest.raises(notifications.NotificationsError) as refused:
        _prefs(team["owner"], **change)
    assert refused.value.field == field and refused.value.status == 422
    assert not EmailPreference.objects.filter(user=team["owner"]).exists()


def test_read_and_unread_again_touch_only_the_persons_own(team: dict[str, Any]) -> None:
    ws, owner, mod = team["ws"], team["owner"], team["mod"]
    notifications.notify_event(ws.pk, "failed", "x")
    mine = Notification.objects.get(user=owner).pk
    theirs = Notification.objects.get(user=mod).pk
    assert notifications.unread_count(ws.pk, owner.pk) == 1
    assert notifications.mark_read(ws.pk, owner.pk, [mine, theirs]) == 1
    assert notifications.unread_count(ws.pk, owner.pk) == 0
    assert notifications.unread_count(ws.pk, mod.pk) == 1  # his stays unread
    assert notifications.mark_unread(ws.pk, owner.pk, [mine, theirs]) == 1
    assert notifications.mark_unread(ws.pk, owner.pk, [mine]) == 0  # already unread
    assert notifications.unread_count(ws.pk, owner.pk) == 1
    assert notifications.is_mine(ws.pk, owner.pk, mine) and not notifications.is_mine(ws.pk, owner.pk, theirs)
