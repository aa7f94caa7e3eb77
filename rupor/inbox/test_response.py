"""Response times: business-time arithmetic at its edges, the moments recorded by real replies
(through Rupor and on the network itself, over the VK emulator), the report's figures, the
settings' checks, and the two alerts with real rows in the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.accounts.models import Workspace
from rupor.accounts.roles import Role
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.inbox import alerts, response
from rupor.inbox import service as inbox_service
from rupor.inbox.business_time import Schedule, business_seconds
from rupor.inbox.models import InboxItem, NegativitySpike, ResponseSettings
from rupor.inbox.testing import connect, publish
from rupor.networks import registry
from rupor.networks.telegram import testing as tg_testing
from rupor.networks.vk import testing as vk_testing
from rupor.notifications.models import Delivery, Notification

UTC = dt.UTC
H = 3600.0


def _at(text: str, zone: str = "UTC") -> dt.datetime:
    """A wall-clock time in ``zone`` as an aware UTC instant."""
    from zoneinfo import ZoneInfo

    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


WEEKDAYS = Schedule(frozenset(range(5)), dt.time(9), dt.time(18), "Europe/Moscow")


# -- business time --------------------------------------------------------------------------


def test_business_time_within_a_day_and_across_the_weekend():
    z = "Europe/Moscow"
    assert business_seconds(WEEKDAYS, _at("2026-12-01 10:00", z), _at("2026-12-01 12:30", z)) == 2.5 * H
    # Before opening and after closing count nothing.
    assert business_seconds(WEEKDAYS, _at("2026-12-01 06:00", z), _at("2026-12-01 09:00", z)) == 0
    assert business_seconds(WEEKDAYS, _at("2026-12-01 19:00", z), _at("2026-12-02 09:30", z)) == 0.5 * H
    # Friday 17:00 to Monday 10:00: an hour on Friday, an hour on Monday.
    assert business_seconds(WEEKDAYS, _at("2026-12-04 17:00", z), _at("2026-12-07 10:00", z)) == 2 * H
    # Written on Saturday, answered on Sunday: no business time passed at all.
    assert business_seconds(WEEKDAYS, _at("2026-12-05 11:00", z), _at("2026-12-06 15:00", z)) == 0
    # Reversed or empty intervals are zero, never negative.
    assert business_seconds(WEEKDAYS, _at("2026-12-01 12:00", z), _at("2026-12-01 11:00", z)) == 0


def test_business_time_skips_holidays():
    z = "Europe/Moscow"
    schedule = Schedule(frozenset(range(5)), dt.time(9), dt.time(18), z, frozenset({dt.date(2026, 12, 31)}))
    # Wednesday 30 Dec 17:00 to Friday 1 Jan 10:00, with the 31st off (the 1st is a weekday).
    assert business_seconds(schedule, _at("2026-12-30 17:00", z), _at("2027-01-01 10:00", z)) == 2 * H


def test_business_time_overnight_shift_belongs_to_the_day_it_starts():
    night = Schedule(frozenset({0, 1, 2, 3, 4}), dt.time(22), dt.time(6), "UTC")
    # Friday 23:00 to Saturday 05:00 is inside Friday's night shift.
    assert business_seconds(night, _at("2026-12-04 23:00"), _at("2026-12-05 05:00")) == 6 * H
    # Saturday 22:00 to Monday 07:00: no shift on Saturday or Sunday nights... Sunday's is off too.
    assert business_seconds(night, _at("2026-12-05 22:00"), _at("2026-12-07 07:00")) == 0
    # Monday 21:00 to Tuesday 12:00: the whole Monday night shift, 8 hours.
    assert business_seconds(night, _at("2026-12-07 21:00"), _at("2026-12-08 12:00")) == 8 * H


def test_business_time_across_dst_changes():
    berlin = "Europe/Berlin"
    every_day = Schedule(frozenset(range(7)), dt.time(0), dt.time(6), berlin)
    # 29 March 2026: the clocks jump from 02:00 to 03:00, so 00:00-06:00 lasts five hours.
    spring = business_seconds(every_day, _at("2026-03-28 12:00", berlin), _at("2026-03-29 12:00", berlin))
    assert spring == 5 * H
    # 25 October 2026: 03:00 goes back to 02:00, so the same window lasts seven hours.
    autumn = business_seconds(every_day, _at("2026-10-24 12:00", berlin), _at("2026-10-25 12:00", berlin))
    assert autumn == 7 * H
    # An overnight shift over the autumn change: Saturday 22:00 to Sunday 06:00 is nine hours.
    night = Schedule(frozenset({5}), dt.time(22), dt.time(6), berlin)
    assert business_seconds(night, _at("2026-10-24 12:00", berlin), _at("2026-10-26 00:00", berlin)) == 9 * H


def test_percentiles_interpolate_between_ranks():
    assert response.percentile([], 50) is None
    assert response.percentile([5.0], 90) == 5.0
    assert response.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert response.percentile([float(v) for v in range(1, 11)], 90) == pytest.approx(9.1)
    s = response.stats([60.0, 120.0, 600.0])
    assert (s.count, s.mean, s.median) == (3, 260.0, 120.0)


# -- recording real replies -----------------------------------------------------------------


@pytest.fixture(scope="module")
def vk_emu():
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


@pytest.mark.django_db
def test_replies_in_rupor_and_on_the_network_are_recorded(vk_emu, make_workspace, make_user):
    owner = make_user("owner@example.com")
    ws = make_workspace("VK shop", owner=owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    access = vk_testing.channel_for(vk_emu, settings={"pace": False})
    channel = connect(ws, access)
    inbox_service.poll_channel(channel.pk)  # sets the long-poll cursor
    target = publish(channel, access, "Winter menu #response")
    first = vk_testing.audience_comment(vk_emu, target.remote_id, "Is the shop open on Sunday?")
    second = vk_testing.audience_comment(vk_emu, target.remote_id, "Do you deliver?")
    inbox_service.poll_channel(channel.pk)
    a = InboxItem.objects.get(channel=channel, remote_id=first)
    b = InboxItem.objects.get(channel=channel, remote_id=second)
    assert a.first_response_at is None and b.first_response_at is None

    # Answered from Rupor half an hour later: the moment and the teammate are recorded.
    later = dt.datetime.now(UTC) + dt.timedelta(minutes=30)
    clock.freeze(later)
    inbox_service.reply(actor, a.pk, "Yes, 10 to 16.")
    a.refresh_from_db()
    assert a.first_response_at == later and a.first_responder_id == owner.pk
    # A second reply does not move the first response.
    clock.freeze(later + dt.timedelta(minutes=5))
    inbox_service.reply(actor, a.pk, "And on holidays too.")
    a.refresh_from_db()
    assert a.first_response_at == later

    # Done, reopened, done again: the last "done" is the resolution.
    inbox_service.set_status(actor, a.pk, "done")
    a.refresh_from_db()
    assert a.resolved_at == later + dt.timedelta(minutes=5) and a.resolved_by_id == owner.pk
    inbox_service.set_status(actor, a.pk, "in_progress")
    a.refresh_from_db()
    assert a.resolved_at is None and a.resolved_by_id is None
    clock.freeze(later + dt.timedelta(minutes=9))
    inbox_service.set_status(actor, a.pk, "done")
    a.refresh_from_db()
    assert a.resolved_at == later + dt.timedelta(minutes=9)

    # Someone answers the second comment on VK itself, as the community: the intake sees it.
    registry.adapter("vk").reply_comment(
        access, target.remote_id, "We do, from 1000 roubles.", reply_to=second, idempotency_key="outside-1"
    )
    inbox_service.poll_channel(channel.pk)
    b.refresh_from_db()
    # Recorded at the moment VK says the reply was made (the emulator keeps the real clock).
    assert b.first_response_at is not None and b.first_responder_id is None
    assert abs((b.first_response_at - dt.datetime.now(UTC)).total_seconds()) < 5

    clock.reset()
    report = response.report(
        actor, dt.date.today() - dt.timedelta(days=1), dt.date.today() + dt.timedelta(days=1)
    )
    assert (report.total.needing, report.total.answered, report.total.rate) == (2, 2, 1.0)
    keys = {r.key: r for r in report.by_teammate}
    assert set(keys) == {f"user:{owner.pk}", "network"}
    mine = keys[f"user:{owner.pk}"]
    assert mine.first_response.count == 1 and mine.first_response.median == pytest.approx(30 * 60, abs=60)
    assert mine.resolution.count == 1 and mine.resolution.median == pytest.approx(39 * 60, abs=60)


# -- the report -----------------------------------------------------------------------------


def _channel(ws: Workspace, name: str) -> Channel:
    nowhere: Any = type("E", (), {"url": "http://127.0.0.1:9"})()  # never called
    remote = f"-100{abs(hash(name)) % 10**9}"
    return connect(ws, tg_testing.channel_for(nowhere, remote_id=remote), name=name)


def _item(channel: Channel, n: int, occurred: dt.datetime, **fields: Any) -> InboxItem:
    return InboxItem.objects.create(
        workspace_id=channel.workspace_id,
        channel=channel,
        kind="comment",
        remote_id=f"c{n}",
        conversation_remote_id="post-1",
        author_name=f"Person {n}",
        text=f"Comment {n}",
        occurred_at=occurred,
        received_at=occurred,
        **fields,
    )


@pytest.mark.django_db
def test_report_per_teammate_and_channel_in_business_hours(make_workspace, make_user):
    owner, mod = make_user("boss@example.com"), make_user("mod@example.com")
    ws = make_workspace("Bakery", owner=owner, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.add_member(actor, "mod@example.com", "moderator")
    tg, tg2 = _channel(ws, "Bakery TG"), _channel(ws, "Bakery chat")
    z = "Europe/Moscow"
    mon = _at("2026-11-30 10:00", z)
    # Three answered by the owner (10, 20, 60 minutes), one by the moderator on Friday evening
    # answered on Monday morning, one spam (not counted), one still waiting, one answered on the network.
    _item(tg, 1, mon, first_response_at=mon + dt.timedelta(minutes=10), first_responder=owner)
    _item(
        tg,
        2,
        mon,
        first_response_at=mon + dt.timedelta(minutes=20),
        first_responder=owner,
        resolved_at=mon + dt.timedelta(hours=2),
        resolved_by=owner,
    )
    _item(tg2, 3, mon, first_response_at=mon + dt.timedelta(minutes=60), first_responder=owner)
    fri = _at("2026-12-04 17:30", z)
    _item(tg2, 4, fri, first_response_at=_at("2026-12-07 09:15", z), first_responder=mod)
    _item(tg, 5, mon, label="spam")
    _item(tg, 6, mon, assigned_to=mod)
    _item(tg, 7, mon, first_response_at=mon + dt.timedelta(minutes=5))
    _item(tg, 8, mon, status="deleted")

    # Wall-clock first: the moderator's Friday item waited 63.75 hours.
    report = response.report(actor, dt.date(2026, 11, 30), dt.date(2026, 12, 6))
    assert not report.business_hours
    assert (report.total.needing, report.total.answered) == (6, 5)
    rows = {r.key: r for r in report.by_teammate}
    assert rows[f"user:{mod.pk}"].first_response.mean == pytest.approx(63.75 * H)
    assert (rows[f"user:{mod.pk}"].needing, rows[f"user:{mod.pk}"].answered) == (2, 1)
    assert rows["network"].first_response.median == 5 * 60
    mine = rows[f"user:{owner.pk}"]
    assert (mine.first_response.mean, mine.first_response.median) == (30 * 60, 20 * 60)
    assert mine.first_response.p90 == pytest.approx(52 * 60)
    assert mine.resolution.count == 1 and mine.resolution.mean == 2 * H
    by_channel = {r.name: r for r in report.by_channel}
    assert (by_channel["Bakery TG"].needing, by_channel["Bakery TG"].answered) == (4, 3)
    assert by_channel["Bakery chat"].rate == 1.0
    assert [d.needing for d in report.days] == [5, 0, 0, 0, 1, 0, 0]

    # In business hours (9-18 Moscow, Monday to Friday) the same wait is 45 minutes.
    response.save_settings(
        actor,
        _settings(response.settings_for(ws.pk), business_hours=True, days=(0, 1, 2, 3, 4)),
    )
    report = response.report(actor, dt.date(2026, 11, 30), dt.date(2026, 12, 6))
    assert report.business_hours
    rows = {r.key: r for r in report.by_teammate}
    assert rows[f"user:{mod.pk}"].first_response.mean == pytest.approx(45 * 60)

    text = response.report_csv(report)
    lines = text.strip().splitlines()
    assert lines[0].startswith("group,name,needing_answer,answered,response_rate")
    assert lines[1].startswith("total,Everyone,6,5,0.833,")
    assert len(lines) == 1 + 1 + 3 + 2


def _settings(base: response.Settings, **changes: Any) -> response.Settings:
    import dataclasses

    return dataclasses.replace(base, **changes)


@pytest.mark.django_db
def test_settings_are_checked_and_need_the_role(make_workspace, make_user):
    owner = make_user("o@example.com")
    ws = make_workspace("Shop", owner=owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    base = response.settings_for(ws.pk)
    assert not base.business_hours and base.alert_after_minutes == 60 and base.zone == "Europe/Moscow"
    bad = {
        "timezone": _settings(base, timezone="Mars/Olympus"),
        "day_end": _settings(base, business_hours=True, day_end=base.day_start),
        "days": _settings(base, days=(0, 9)),
        "alert_after_minutes": _settings(base, alert_after_minutes=10**6),
        "alert_roles": _settings(base, alert_roles=("overlord",)),
        "alert_user_ids": _settings(base, alert_user_ids=(987654,)),
        "day_start": _settings(base, day_start=dt.time(9, tzinfo=dt.timezone(dt.timedelta(hours=3)))),
    }
    for field, value in bad.items():
        with pytest.raises(response.ResponseError) as caught:
            response.save_settings(actor, value)
        assert caught.value.field == field and caught.value.status == 422
    analyst = accounts.Actor(workspace_id=ws.pk, role=Role.ANALYST)
    with pytest.raises(response.ResponseError) as caught:
        response.save_settings(analyst, base)
    assert caught.value.status == 403
    assert not ResponseSettings.objects.exists()
    saved = response.save_settings(
        actor, _settings(base, business_hours=True, holidays=(dt.date(2027, 1, 1),), alert_roles=("owner",))
    )
    assert saved.schedule is not None and saved.holidays == (dt.date(2027, 1, 1),)
    for since, until, field in (
        (dt.date(1, 1, 1), dt.date(1, 1, 2), "since"),
        (dt.date(9999, 12, 30), dt.date(9999, 12, 31), "since"),
        (dt.date(2026, 1, 1), dt.date(2027, 6, 1), "since"),  # longer than a year
        (dt.date(2026, 2, 1), dt.date(2026, 1, 1), "until"),
    ):
        with pytest.raises(response.ResponseError) as caught:
            response.report(actor, since, until)
        assert caught.value.field == field and caught.value.status == 422


# -- alerts ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_waiting_negative_item_alerts_its_recipients_once(make_workspace, make_user):
    owner, mod, _editor = (
        make_user("boss@example.com"),
        make_user("mod@example.com"),
        make_user("ed@example.com"),
    )
    ws = make_workspace("Bakery", owner=owner, timezone="UTC")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.add_member(actor, "mod@example.com", "moderator")
    accounts.add_member(actor, "ed@example.com", "editor")
    response.save_settings(
        actor,
        _settings(
            response.settings_for(ws.pk),
            alert_after_minutes=30,
            alert_roles=("owner",),
            alert_user_ids=(mod.pk,),
        ),
    )
    tg = _channel(ws, "Bakery TG")
    now = _at("2026-12-02 12:00")  # a Wednesday
    clock.freeze(now)
    angry = _item(tg, 1, now - dt.timedelta(minutes=45), label="complaint", negativity=0.9)
    _item(tg, 2, now - dt.timedelta(minutes=10), label="negative")  # not long enough yet
    _item(tg, 3, now - dt.timedelta(hours=2), label="question")  # not negative
    _item(tg, 4, now - dt.timedelta(hours=2), label="negative", first_response_at=now)  # answered
    old = _item(tg, 5, now - dt.timedelta(days=3), label="negative")
    InboxItem.objects.filter(pk=old.pk).update(received_at=now)  # brought in by the first read

    assert alerts.check_waiting(now) == 1
    notes = Notification.objects.filter(kind="inbox_waiting")
    assert sorted(n.user_id or 0 for n in notes) == sorted([owner.pk, mod.pk])
    assert {n.target_id for n in notes} == {angry.pk} and notes[0].link == f"/inbox/{angry.pk}/"
    assert "Comment 1" in notes[0].body
    assert Delivery.objects.filter(kind="inbox_waiting", channel="email").count() == 2
    # Not again at the next tick; the other negative item alerts when its time comes.
    assert alerts.check_waiting(now + dt.timedelta(seconds=30)) == 0
    assert alerts.check_waiting(now + dt.timedelta(minutes=21)) == 1
    assert Notification.objects.filter(kind="inbox_waiting").count() == 4


@pytest.mark.django_db
def test_waiting_alert_counts_business_hours(make_workspace, make_user):
    owner = make_user("boss@example.com")
    ws = make_workspace("Bakery", owner=owner, timezone="UTC")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    response.save_settings(
        actor, _settings(response.settings_for(ws.pk), business_hours=True, alert_after_minutes=60)
    )
    tg = _channel(ws, "Bakery TG")
    saturday = _at("2026-12-05 11:00")
    _item(tg, 1, saturday, label="negative")
    # Sunday evening: a day and a half of wall-clock time, no business time: no alert.
    assert alerts.check_waiting(_at("2026-12-06 20:00")) == 0
    assert alerts.check_waiting(_at("2026-12-07 09:59")) == 0
    assert alerts.check_waiting(_at("2026-12-07 10:00")) == 1


def _negatives(channel: Channel, start: dt.datetime, count: int, seq: list[int]) -> None:
    """``count`` negative comments spread over the hour starting at ``start``."""
    for k in range(count):
        seq[0] += 1
        _item(channel, seq[0], start + dt.timedelta(minutes=k * 50 // max(count, 1)), label="negative")


@pytest.mark.django_db
def test_negativity_spike_fires_on_a_spike_not_on_the_daily_peak(make_workspace, make_user):
    owner = make_user("boss@example.com")
    ws = make_workspace("Bakery", owner=owner, timezone="Europe/Moscow")
    tg, quiet = _channel(ws, "Bakery TG"), _channel(ws, "Bakery chat")
    z = "Europe/Moscow"
    seq = [0]
    # Two weeks of history: every evening 20:00-21:00 brings 6 to 10 negative comments (people
    # come home and read the news), the rest of the day one or none.
    for back in range(1, 15):
        day = dt.date(2026, 12, 10) - dt.timedelta(days=back)
        _negatives(tg, _at(f"{day} 20:00", z), 6 + back % 5, seq)
        _negatives(tg, _at(f"{day} 11:00", z), back % 2, seq)
        _negatives(tg, _at(f"{day} 14:00", z), 1, seq)

    # Today's evening peak, as large as usual: no alert.
    _negatives(tg, _at("2026-12-10 20:00", z), 9, seq)
    assert alerts.check_spikes(_at("2026-12-10 20:55", z)) == 0
    peak = alerts.channel_score(tg.pk, _at("2026-12-10 20:00", z), z, _at("2026-12-10 20:55", z))
    assert peak.count == 9 and peak.z < alerts.Z_ALERT
    # The same nine at 11:00, when one or none is usual: a spike, once.
    _negatives(tg, _at("2026-12-10 11:00", z), 9, seq)
    assert alerts.check_spikes(_at("2026-12-10 11:55", z)) == 1
    assert alerts.check_spikes(_at("2026-12-10 11:56", z)) == 0
    # It goes on into the next hour: stored, but the same spike, no second alert.
    _negatives(tg, _at("2026-12-10 12:00", z), 8, seq)
    assert alerts.check_spikes(_at("2026-12-10 12:50", z)) == 0
    spikes = list(NegativitySpike.objects.order_by("hour_start"))
    assert [(s.hour_start, s.count, s.notified) for s in spikes] == [
        (_at("2026-12-10 11:00", z), 9, True),
        (_at("2026-12-10 12:00", z), 8, False),
    ]
    note = Notification.objects.get(kind="inbox_spike")
    assert "Bakery TG" in note.body and "9" in note.body
    # A new channel with no history needs at least MIN_COUNT items: four is not a spike.
    _negatives(quiet, _at("2026-12-10 15:00", z), 4, seq)
    assert alerts.check_spikes(_at("2026-12-10 15:50", z)) == 0
    _negatives(quiet, _at("2026-12-10 15:51", z), 2, seq)
    assert alerts.check_spikes(_at("2026-12-10 15:59", z)) == 1
    # Spike alerts can be turned off.
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    response.save_settings(actor, _settings(response.settings_for(ws.pk), spike_alerts=False))
    _negatives(tg, _at("2026-12-10 16:00", z), 12, seq)
    assert alerts.check_spikes(_at("2026-12-10 16:55", z)) == 0


def test_score_floors_the_spread():
    flat = alerts.score(5, [0] * 14)
    assert flat.sd == 0 and flat.z == 5.0  # the floor of 1 keeps a silent channel from dividing by 0
    busy = alerts.score(30, [16] * 14)
    assert busy.z == pytest.approx(14 / 4)  # sqrt(16) = 4: the Poisson floor
