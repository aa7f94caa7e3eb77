"""Web analytics sources of a workspace against the Metrica and GA4 emulators: connecting (checked,
encrypted, refused plainly), the collection job (per post, network, campaign and day; days read
again are replaced, a failed read keeps what was there), roles and tenancy."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from rupor.accounts.models import AuditEntry
from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.core import clock
from rupor.links import traffic
from rupor.links.models import TrafficDay, TrafficSource
from rupor.networks import webanalytics
from rupor.networks.ga4 import client as ga4_client
from rupor.networks.ga4 import testing as ga4_testing
from rupor.networks.metrica import emulator as metrica_emu
from rupor.networks.metrica import testing as metrica_testing

pytestmark = pytest.mark.django_db

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _url(source: str, campaign: str, content: str, medium: str = "social") -> str:
    return (
        f"https://shop.example/beans?utm_source={source}&utm_medium={medium}"
        f"&utm_campaign={campaign}&utm_content={content}"
    )


LANDINGS = [
    (_url("vk", "useful", "501"), NOW - dt.timedelta(days=5)),
    (_url("telegram", "useful", "501"), NOW - dt.timedelta(days=5)),
    (_url("vk", "selling", "502"), NOW - dt.timedelta(days=2)),
    (_url("ok", "selling", "flyer"), NOW - dt.timedelta(days=3)),  # hand-written content: no post
    (_url("vk", "ads", "503", medium="cpc"), NOW - dt.timedelta(days=2)),  # not Rupor's medium
]


@pytest.fixture
def metrica():
    emulator = metrica_testing.start()
    metrica_testing.add_landings(emulator, LANDINGS)
    yield emulator
    emulator.stop()


@pytest.fixture
def ga4():
    ga4_client.forget_tokens()
    emulator = ga4_testing.start()
    ga4_testing.add_landings(emulator, LANDINGS)
    yield emulator
    emulator.stop()
    ga4_client.forget_tokens()


def _actor(ws: Any, role: Role = Role.OWNER) -> Actor:
    return Actor(workspace_id=ws.pk, role=role, user_id=None, label=role.value)


def _connect_metrica(ws: Any, emulator: Any, **changes: Any) -> traffic.SourceRow:
    data = {
        "kind": "metrica",
        "account_id": metrica_testing.DEMO_COUNTER_ID,
        "secret": metrica_emu.DEMO_TOKEN,
        "base_url": emulator.url,
        **changes,
    }
    return traffic.connect(_actor(ws), traffic.SourceInput(**data))


def test_connecting_metrica_checks_it_and_keeps_the_token_encrypted(make_workspace, metrica):
    ws = make_workspace()
    row = _connect_metrica(ws, metrica, goal="301")
    assert (row.name, row.timezone, row.goal_name) == (
        metrica_emu.DEMO_COUNTER_NAME,
        "Europe/Moscow",
        "Order placed",
    )
    assert ("302", "Added to cart") in row.goals and row.verified_at is not None
    stored = TrafficSource.objects.get(workspace=ws)
    assert metrica_emu.DEMO_TOKEN not in stored.credentials_encrypted
    assert stored.get_credentials() == {"token": metrica_emu.DEMO_TOKEN}
    assert metrica_emu.DEMO_TOKEN not in repr(row) and metrica_emu.DEMO_TOKEN not in repr(
        traffic._access(stored)
    )
    assert AuditEntry.objects.filter(workspace=ws, action="traffic.connect").exists()
    # Changed without the token: the stored one is kept.
    traffic.connect(
        _actor(ws), traffic.SourceInput("metrica", metrica_testing.DEMO_COUNTER_ID, "", "", metrica.url)
    )
    assert TrafficSource.objects.get(workspace=ws).get_credentials() == {"token": metrica_emu.DEMO_TOKEN}


@pytest.mark.parametrize(
    ("changes", "field", "status"),
    [
        ({"account_id": "counter-1"}, "account_id", 400),
        ({"secret": "two words"}, "secret", 400),
        ({"secret": "y0_revoked"}, "secret", 422),
        ({"account_id": str(metrica_emu.OTHER_COUNTER_ID)}, "secret", 422),
        ({"goal": "999"}, "goal", 422),
        ({"goal": "orders"}, "goal", 400),
        ({"base_url": "ftp://metrica.example"}, "base_url", 400),
        ({"kind": "matomo"}, "kind", 404),
    ],
)
def test_a_connection_the_service_or_the_form_refuses_saves_nothing(
    make_workspace, metrica, changes, field, status
):
    ws = make_workspace()
    with pytest.raises(traffic.TrafficError) as caught:
        _connect_metrica(ws, metrica, **changes)
    assert (caught.value.field, caught.value.status) == (field, status) and caught.value.message
    assert not TrafficSource.objects.filter(workspace=ws).exists()


def test_a_ga4_key_file_is_checked_before_anything_is_asked(make_workspace, ga4):
    ws = make_workspace()
    with pytest.raises(traffic.TrafficError) as caught:
        traffic.connect(
            _actor(ws), traffic.SourceInput("ga4", ga4_testing.DEMO_PROPERTY_ID, '{"type": "user"}')
        )
    assert caught.value.field == "secret" and "service account" in caught.value.message
    row = traffic.connect(
        _actor(ws),
        traffic.SourceInput(
            "ga4", ga4_testing.DEMO_PROPERTY_ID, ga4_testing.demo_key_text(), "purchase", ga4.url
        ),
    )
    assert row.client_email.endswith(".iam.gserviceaccount.com") and row.goal == "purchase"
    assert "PRIVATE KEY" not in TrafficSource.objects.get(workspace=ws).credentials_encrypted


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EDITOR, Role.ANALYST, Role.CLIENT])
def test_only_owners_and_admins_connect_a_source(make_workspace, metrica, role):
    ws = make_workspace()
    with pytest.raises(traffic.TrafficError) as caught:
        traffic.connect(
            _actor(ws, role),
            traffic.SourceInput(
                "metrica", metrica_testing.DEMO_COUNTER_ID, metrica_emu.DEMO_TOKEN, "", metrica.url
            ),
        )
    assert caught.value.status == 403


def _collect_all(ws: Any) -> None:
    for source in TrafficSource.objects.filter(workspace=ws):
        outcome = traffic.collect(source.pk, force=True)
        assert outcome is not None and not outcome.error, outcome


def test_the_job_attributes_visits_to_posts_networks_and_campaigns(make_workspace, metrica):
    ws = make_workspace()
    _connect_metrica(ws, metrica)
    assert traffic.run_due(clock.now()) == 1
    source = TrafficSource.objects.get(workspace=ws)
    assert source.collected_through is not None
    assert source.next_run_at is not None and source.next_run_at > clock.now()
    who = _actor(ws, Role.ANALYST)
    by_post = traffic.table(who, kind="metrica", by="post")
    assert {(line.post_id, line.network) for line in by_post} == {(501, "vk"), (501, "telegram"), (502, "vk")}
    rows = TrafficDay.objects.filter(workspace=ws)
    assert not rows.filter(utm_medium="cpc").exists()  # only Rupor's mediums are read
    assert rows.filter(utm_content="flyer", post_id=None).exists()  # hand-written content is no post
    campaigns = {line.campaign: line.traffic for line in traffic.table(who, kind="metrica", by="campaign")}
    assert set(campaigns) == {"useful", "selling"}
    everything = traffic.total(who, kind="metrica")
    assert campaigns["useful"] + campaigns["selling"] == everything
    assert (
        sum((line.traffic for line in by_post), traffic.Traffic()).sessions < everything.sessions
    )  # + flyer
    posts = traffic.post_traffic(ws.pk, [501, 502, 999], "metrica")
    assert set(posts) == {(501, "vk"), (501, "telegram"), (502, "vk")}
    assert posts[(501, "vk")].sessions == sum(r.sessions for r in rows.filter(post_id=501, utm_source="vk"))
    days = traffic.table(who, kind="metrica", by="day")
    assert [d.day for d in days] == sorted(d.day for d in days if d.day is not None)
    assert traffic.table(who, kind="metrica", by="post", post_id=502)[0].post_id == 502
    csv = traffic.traffic_csv(by_post)
    assert csv.splitlines()[0] == ",".join(traffic.CSV_HEADER)


def test_collecting_again_replaces_the_days_read_and_keeps_the_older_ones(make_workspace, metrica):
    ws = make_workspace()
    _connect_metrica(ws, metrica)
    _collect_all(ws)
    before = traffic.total(_actor(ws), kind="metrica")
    first_count = TrafficDay.objects.filter(workspace=ws).count()
    outcome = traffic.collect(TrafficSource.objects.get(workspace=ws).pk, force=True)
    assert outcome is not None and outcome.first is not None and outcome.last is not None
    assert (outcome.last - outcome.first).days == traffic.REREAD_DAYS  # not the 90 days again
    assert TrafficDay.objects.filter(workspace=ws).count() == first_count  # replaced, not added
    assert traffic.total(_actor(ws), kind="metrica").sessions >= before.sessions


def test_a_failed_read_keeps_the_figures_and_backs_off(make_workspace, metrica):
    ws = make_workspace()
    _connect_metrica(ws, metrica)
    _collect_all(ws)
    kept = TrafficDay.objects.filter(workspace=ws).count()
    metrica_testing.faults(metrica, {"queue": [{"kind": "5xx", "method": "report"}]})
    outcome = traffic.collect(TrafficSource.objects.get(workspace=ws).pk, force=True)
    assert outcome is not None and outcome.error and outcome.status == 502
    source = TrafficSource.objects.get(workspace=ws)
    assert source.failures == 1 and source.last_error
    assert source.next_run_at is not None and source.next_run_at > clock.now()
    assert source.status == TrafficSource.Status.ACTIVE and source.leased_until is None
    assert TrafficDay.objects.filter(workspace=ws).count() == kept
    assert traffic.run_due(clock.now()) == 0  # not due until the backoff passes


def test_a_quota_refusal_waits_as_long_as_metrica_says(make_workspace, metrica):
    ws = make_workspace()
    _connect_metrica(ws, metrica)
    metrica_testing.set_quotas(metrica, per_five_minutes=0)
    outcome = traffic.collect(TrafficSource.objects.get(workspace=ws).pk, force=True)
    assert outcome is not None and outcome.status == 429
    next_run = TrafficSource.objects.get(workspace=ws).next_run_at
    assert next_run is not None
    wait = next_run - clock.now()
    assert dt.timedelta(seconds=299) < wait < dt.timedelta(seconds=332)


def test_a_revoked_token_stops_the_job_until_new_credentials(make_workspace, metrica, caplog):
    ws = make_workspace()
    _connect_metrica(ws, metrica)
    source = TrafficSource.objects.get(workspace=ws)
    source.set_credentials({"token": metrica_emu.EXPIRED_TOKEN})
    source.save()
    with caplog.at_level(logging.DEBUG):
        outcome = traffic.collect(source.pk, force=True)
    assert outcome is not None and outcome.error
    assert metrica_emu.EXPIRED_TOKEN not in caplog.text
    assert TrafficSource.objects.get(pk=source.pk).status == TrafficSource.Status.RECONNECT
    TrafficSource.objects.filter(pk=source.pk).update(next_run_at=None)
    assert traffic.run_due(clock.now()) == 0  # skipped
    _connect_metrica(ws, metrica)  # new credentials
    assert TrafficSource.objects.get(pk=source.pk).status == TrafficSource.Status.ACTIVE
    assert traffic.run_due(clock.now()) == 1


def test_one_reader_at_a_time(make_workspace, metrica):
    ws = make_workspace()
    _connect_metrica(ws, metrica)
    source_id = TrafficSource.objects.get(workspace=ws).pk
    assert traffic._claim(source_id, clock.now(), force=False) is not None
    assert traffic._claim(source_id, clock.now(), force=True) is None
    assert traffic.collect(source_id, force=True) is None
    with pytest.raises(traffic.TrafficError) as caught:
        traffic.collect_now(_actor(ws), "metrica")
    assert caught.value.status == 409
    # The lease ends: a reader that died gives it up.
    later = clock.now() + traffic.LEASE + dt.timedelta(seconds=1)
    assert traffic.collect(source_id, later) is not None


def test_a_changed_counter_forgets_the_old_figures(make_workspace, metrica):
    ws = make_workspace()
    _connect_metrica(ws, metrica)
    _collect_all(ws)
    assert TrafficDay.objects.filter(workspace=ws).exists()
    _connect_metrica(ws, metrica, goal="302")
    assert not TrafficDay.objects.filter(workspace=ws).exists()
    assert TrafficSource.objects.get(workspace=ws).collected_through is None


def test_ga4_end_to_end_with_key_events(make_workspace, ga4):
    ws = make_workspace()
    traffic.connect(
        _actor(ws),
        traffic.SourceInput("ga4", ga4_testing.DEMO_PROPERTY_ID, ga4_testing.demo_key_text(), "", ga4.url),
    )
    _collect_all(ws)
    who = _actor(ws, Role.MANAGER)
    by_post = {(line.post_id, line.network) for line in traffic.table(who, kind="ga4", by="post")}
    assert by_post == {(501, "vk"), (501, "telegram"), (502, "vk")}
    assert traffic.default_kind(ws.pk) == "ga4"
    assert traffic.collect_now(who, "ga4").rows > 0
    assert traffic.check_connection(who, "ga4").goals


def test_tenancy_another_workspace_sees_nothing_of_these_figures(make_workspace, metrica):
    mine, theirs = make_workspace("Mine"), make_workspace("Theirs")
    _connect_metrica(mine, metrica)
    _collect_all(mine)
    assert traffic.table(_actor(theirs), kind="metrica", by="post") == []
    assert traffic.total(_actor(theirs), kind="metrica") == traffic.Traffic()
    assert traffic.post_traffic(theirs.pk, [501, 502], "metrica") == {}
    assert traffic.sources(_actor(theirs)) == []
    for act in (
        lambda: traffic.source(_actor(theirs), "metrica"),
        lambda: traffic.check_connection(_actor(theirs), "metrica"),
        lambda: traffic.collect_now(_actor(theirs), "metrica"),
        lambda: traffic.disconnect(_actor(theirs), "metrica"),
    ):
        with pytest.raises(traffic.TrafficError) as caught:
            act()
        assert caught.value.status == 404
    assert TrafficSource.objects.filter(workspace=mine).exists()


def test_disconnecting_forgets_the_credentials_and_figures(make_workspace, metrica):
    ws = make_workspace()
    _connect_metrica(ws, metrica)
    _collect_all(ws)
    with pytest.raises(traffic.TrafficError):
        traffic.disconnect(_actor(ws, Role.MANAGER), "metrica")
    traffic.disconnect(_actor(ws, Role.ADMIN), "metrica")
    assert not TrafficSource.objects.filter(workspace=ws).exists()
    assert not TrafficDay.objects.filter(workspace=ws).exists()


def test_a_connection_changed_during_a_read_keeps_that_read_out(make_workspace, metrica, monkeypatch):
    ws = make_workspace()
    _connect_metrica(ws, metrica)
    real = webanalytics.client_for

    def changed_meanwhile(access: Any) -> Any:
        client = real(access)
        read = client.traffic

        def traffic_then_change(query: Any) -> Any:
            rows = list(read(query))
            monkeypatch.setattr(webanalytics, "client_for", real)
            _connect_metrica(ws, metrica, goal="302")  # someone picks another goal meanwhile
            yield from rows

        client.traffic = traffic_then_change  # type: ignore[method-assign]  # the test's stand-in for one read
        return client

    monkeypatch.setattr(webanalytics, "client_for", changed_meanwhile)
    outcome = traffic.collect(TrafficSource.objects.get(workspace=ws).pk, force=True)
    assert outcome is not None and outcome.rows == 0 and not outcome.error
    source = TrafficSource.objects.get(workspace=ws)
    assert source.goal == "302" and source.collected_through is None and source.leased_until is None
    assert not TrafficDay.objects.filter(workspace=ws).exists()
