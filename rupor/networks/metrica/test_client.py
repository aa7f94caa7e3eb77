"""The Metrica client against its emulator: the counter and goals, the tagged links' traffic by
day and tags (page after page), Metrica's errors by error type, and its quotas."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from rupor.networks import errors
from rupor.networks.metrica import emulator as emu
from rupor.networks.metrica import testing
from rupor.networks.metrica.client import MetricaClient
from rupor.networks.webanalytics import TrafficQuery, client_for

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TODAY = NOW.date()
VK = "https://shop.example/coffee?utm_source=vk&utm_medium=social&utm_campaign=useful&utm_content=41"
TG = "https://shop.example/coffee?utm_source=telegram&utm_medium=paid_social&utm_campaign=selling&utm_content=42"
HAND = "https://shop.example/?utm_source=vk&utm_medium=cpc&utm_campaign=ads"


@pytest.fixture(scope="module")
def metrica():
    emulator = testing.start()
    testing.add_landings(
        emulator, [(VK, NOW - dt.timedelta(days=6)), (TG, NOW - dt.timedelta(days=2)), (HAND, NOW)]
    )
    yield emulator
    emulator.stop()


@pytest.fixture
def fresh():
    """An emulator of the test's own (its quotas are changed)."""
    emulator = testing.start()
    testing.add_landings(emulator, [(VK, NOW - dt.timedelta(days=6))])
    yield emulator
    emulator.stop()


def _week() -> TrafficQuery:
    return TrafficQuery(TODAY - dt.timedelta(days=8), TODAY)


def test_the_connection_test_names_the_counter_its_zone_and_goals(metrica):
    info = client_for(testing.access_for(metrica)).verify()
    assert info.name == emu.DEMO_COUNTER_NAME and info.timezone == "Europe/Moscow"
    assert [(g.id, g.name) for g in info.goals] == [(str(i), n) for i, n, _t, _r in emu.GOALS]


def test_traffic_is_read_by_day_and_tags_for_the_social_mediums_only(metrica):
    rows = list(client_for(testing.access_for(metrica)).traffic(_week()))
    assert rows, "the landings bring visits"
    assert {(r.source, r.medium, r.campaign, r.content) for r in rows} == {
        ("vk", "social", "useful", "41"),
        ("telegram", "paid_social", "selling", "42"),
    }  # the background (search, direct, e-mail) and the cpc landing are filtered out
    assert all(TODAY - dt.timedelta(days=8) <= r.day <= TODAY for r in rows)
    assert all(r.users <= r.sessions and r.conversions <= r.sessions for r in rows)
    assert min(r.day for r in rows if r.source == "telegram") >= (NOW - dt.timedelta(days=3)).date()
    # The same question asked of the raw API: the sums agree with Metrica's own totals.
    status, raw = testing.report(
        metrica,
        ids=testing.DEMO_COUNTER_ID,
        metrics="ym:s:visits",
        date1=_week().first.isoformat(),
        date2=TODAY.isoformat(),
        filters="ym:s:UTMMedium=.('social','paid_social')",
    )
    assert status == 200 and raw["totals"] == [float(sum(r.sessions for r in rows))]


def test_one_goal_counts_no_more_than_every_goal(metrica):
    client = client_for(testing.access_for(metrica))
    every = sum(r.conversions for r in client.traffic(_week()))
    orders = sum(r.conversions for r in client.traffic(TrafficQuery(_week().first, TODAY, goal="301")))
    assert 0 < orders < every


def test_pages_are_read_until_total_rows(metrica):
    whole = list(client_for(testing.access_for(metrica)).traffic(_week()))
    client = MetricaClient(testing.access_for(metrica))
    client.page_limit = 3
    paged = list(client.traffic(_week()))
    assert paged == whole
    assert client.calls == -(-len(whole) // 3)  # ceil: one call per page, none after the last


def test_an_empty_period_is_one_call_and_no_rows(metrica):
    client = MetricaClient(testing.access_for(metrica))
    old = TODAY - dt.timedelta(days=400)
    assert list(client.traffic(TrafficQuery(old, old + dt.timedelta(days=3)))) == []
    assert client.calls == 1


@pytest.mark.parametrize(
    ("credentials", "account", "expected", "code"),
    [
        ({"token": "y0_nonsense"}, testing.DEMO_COUNTER_ID, errors.AuthExpired, "invalid_token"),
        ({"token": emu.EXPIRED_TOKEN}, testing.DEMO_COUNTER_ID, errors.AuthExpired, "invalid_token"),
        ({}, testing.DEMO_COUNTER_ID, errors.AuthExpired, None),
        ({"token": emu.DEMO_TOKEN}, str(emu.OTHER_COUNTER_ID), errors.Rejected, "access_denied"),
        ({"token": emu.DEMO_TOKEN}, "123", errors.Rejected, "not_found"),
        ({"token": emu.DEMO_TOKEN}, "12ab", errors.Rejected, None),
    ],
)
def test_refusals_are_decided_by_error_type(metrica, credentials, account, expected, code):
    client = client_for(testing.access_for(metrica, credentials=credentials, account_id=account))
    with pytest.raises(expected) as caught:
        client.verify()
    assert caught.value.code == code
    assert caught.value.needs_person


def test_an_unknown_goal_is_refused_by_metrica(metrica):
    client = client_for(testing.access_for(metrica))
    with pytest.raises(errors.Rejected) as caught:
        list(client.traffic(TrafficQuery(TODAY, TODAY, goal="999")))
    assert caught.value.code == "invalid_parameter"


def test_server_errors_and_dropped_connections_are_transient(fresh):
    client = client_for(testing.access_for(fresh))
    testing.faults(fresh, {"queue": [{"kind": "5xx", "method": "report"}]})
    with pytest.raises(errors.Transient):
        list(client.traffic(_week()))
    testing.faults(fresh, {"queue": [{"kind": "reset", "method": "report"}]})
    with pytest.raises(errors.Transient):
        list(client.traffic(_week()))
    assert list(client.traffic(_week()))  # and then it answers


def test_the_five_minute_report_quota_is_a_wait_of_five_minutes(fresh):
    testing.set_quotas(fresh, per_five_minutes=2)
    client = client_for(testing.access_for(fresh))
    client.verify()  # the Management API does not count against the report quota
    list(client.traffic(_week()))
    list(client.traffic(_week()))
    with pytest.raises(errors.RateLimited) as caught:
        list(client.traffic(_week()))
    assert caught.value.code == "quota_requests_by_uid" and caught.value.retry_after == 300.0


def test_the_daily_quota_counts_every_request(fresh):
    testing.set_quotas(fresh, per_day=3)
    client = client_for(testing.access_for(fresh))
    client.verify()  # two requests: the counter and its goals
    list(client.traffic(_week()))
    with pytest.raises(errors.RateLimited):
        client.verify()


def test_requests_per_second_from_one_address(fresh):
    testing.set_quotas(fresh, per_second=2)
    client = client_for(testing.access_for(fresh))

    def five_tests() -> None:
        for _ in range(5):
            client.verify()

    with pytest.raises(errors.RateLimited) as caught:
        five_tests()
    assert caught.value.code == "quota_requests_by_ip" and caught.value.retry_after == 1.0


def test_parallel_requests_of_one_user(fresh):
    testing.set_quotas(fresh, parallel=1, report_delay_s=0.5)
    outcomes: list[object] = []

    def read() -> None:
        try:
            outcomes.append(len(list(client_for(testing.access_for(fresh)).traffic(_week()))))
        except errors.RateLimited as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "quota_parallel_requests" in outcomes
    assert any(isinstance(o, int) for o in outcomes)


# -- the emulator's own validation (what Metrica refuses) -----------------------------------


@pytest.mark.parametrize(
    ("params", "status", "kind"),
    [
        ({"metrics": "ym:s:visits"}, 400, "missing_parameter"),
        ({"ids": testing.DEMO_COUNTER_ID}, 400, "missing_parameter"),
        ({"ids": testing.DEMO_COUNTER_ID, "metrics": "ym:s:likes"}, 400, "invalid_parameter"),
        ({"ids": testing.DEMO_COUNTER_ID, "metrics": ",".join(["ym:s:visits"] * 21)}, 400, "invalid_parameter"),
        ({"ids": testing.DEMO_COUNTER_ID, "metrics": "ym:s:visits", "date1": "today", "date2": "7daysAgo"}, 400, "invalid_parameter"),
        ({"ids": testing.DEMO_COUNTER_ID, "metrics": "ym:s:visits", "limit": "0"}, 400, "invalid_parameter"),
        ({"ids": testing.DEMO_COUNTER_ID, "metrics": "ym:s:visits", "limit": "100001"}, 400, "invalid_parameter"),
        ({"ids": testing.DEMO_COUNTER_ID, "metrics": "ym:s:visits", "sort": "ym:s:users"}, 400, "invalid_parameter"),
        ({"ids": testing.DEMO_COUNTER_ID, "metrics": "ym:s:visits", "filters": "ym:s:UTMSource=='vk"}, 400, "invalid_parameter"),
        ({"ids": testing.DEMO_COUNTER_ID, "metrics": "ym:s:visits", "filters": "ym:s:nope=='vk'"}, 400, "invalid_parameter"),
    ],
)  # fmt: skip
def test_the_emulator_refuses_what_metrica_refuses(metrica, params, status, kind):
    code, body = testing.report(metrica, **params)
    assert code == status
    assert body["errors"][0]["error_type"] == kind and body["code"] == status and body["message"]


def test_a_token_in_the_address_is_not_accepted(metrica):
    code, body = testing.report(
        metrica, token="", ids=testing.DEMO_COUNTER_ID, metrics="ym:s:visits", oauth_token=emu.DEMO_TOKEN
    )
    assert code == 401 and body["errors"][0]["error_type"] == "unauthorized"


def test_filters_sort_and_the_answer_shape(metrica):
    code, body = testing.report(
        metrica,
        ids=testing.DEMO_COUNTER_ID,
        metrics="ym:s:visits,ym:s:users,ym:s:bounceRate",
        dimensions="ym:s:UTMSource,ym:s:UTMCampaign",
        date1="8daysAgo",
        filters="(ym:s:UTMSource=='vk' OR ym:s:UTMSource=@'tele') AND ym:s:UTMMedium!='cpc'",
        sort="-ym:s:users",
    )
    assert code == 200
    names = [[d["name"] for d in row["dimensions"]] for row in body["data"]]
    assert sorted(names) == [["telegram", "selling"], ["vk", "useful"]]
    users = [row["metrics"][1] for row in body["data"]]
    assert users == sorted(users, reverse=True)
    assert body["total_rows"] == 2 and body["sampled"] is False
    assert body["query"]["ids"] == [emu.DEMO_COUNTER_ID] and body["query"]["sort"] == ["-ym:s:users"]
    assert 0 <= body["totals"][2] <= 100
