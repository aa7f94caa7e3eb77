"""The GA4 client against its emulator: service-account sign-in (a JWT, an hour's token kept in
memory), the property's key events, the tagged links' traffic page by page, Google's errors by
status, and the property's token quotas (refused, and stopped short of before they run out)."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from rupor.core import clock, http
from rupor.networks import errors
from rupor.networks.ga4 import client as ga4_client
from rupor.networks.ga4 import emulator as emu
from rupor.networks.ga4 import testing, wire
from rupor.networks.ga4.client import Ga4Client
from rupor.networks.webanalytics import TrafficQuery, client_for

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TODAY = NOW.date()
VK = "https://shop.example/coffee?utm_source=vk&utm_medium=social&utm_campaign=useful&utm_content=41"
TG = "https://shop.example/coffee?utm_source=telegram&utm_medium=paid_social&utm_campaign=selling&utm_content=42"
NO_CONTENT = "https://shop.example/?utm_source=ok&utm_medium=social&utm_campaign=news"


@pytest.fixture(autouse=True)
def _forget_tokens():
    ga4_client.forget_tokens()
    yield
    ga4_client.forget_tokens()


@pytest.fixture(scope="module")
def ga4():
    emulator = testing.start()
    testing.add_landings(
        emulator,
        [
            (VK, NOW - dt.timedelta(days=6)),
            (TG, NOW - dt.timedelta(days=2)),
            (NO_CONTENT, NOW - dt.timedelta(days=1)),
        ],
    )
    yield emulator
    emulator.stop()


@pytest.fixture
def fresh():
    emulator = testing.start()
    testing.add_landings(emulator, [(VK, NOW - dt.timedelta(days=6)), (TG, NOW - dt.timedelta(days=3))])
    yield emulator
    emulator.stop()


def _week() -> TrafficQuery:
    return TrafficQuery(TODAY - dt.timedelta(days=8), TODAY)


def _tokens_issued(emulator) -> int:
    with http.client(base_url=emulator.url, timeout=5) as c:
        return sum(1 for e in c.get("/_emulator/ledger").json() if e["kind"] == "token")


def test_the_connection_test_names_the_key_events_and_time_zone(ga4):
    info = client_for(testing.access_for(ga4)).verify()
    assert info.timezone == "Europe/Moscow"
    assert [g.id for g in info.goals] == sorted(emu.KEY_EVENTS)


def test_traffic_by_day_and_tags_with_not_set_as_empty(ga4):
    rows = list(client_for(testing.access_for(ga4)).traffic(_week()))
    tags = {(r.source, r.medium, r.campaign, r.content) for r in rows}
    assert tags == {
        ("vk", "social", "useful", "41"),
        ("telegram", "paid_social", "selling", "42"),
        ("ok", "social", "news", ""),  # GA4 says "(not set)"
    }
    assert all(r.users <= r.sessions for r in rows)
    purchases = sum(
        r.conversions
        for r in client_for(testing.access_for(ga4)).traffic(
            TrafficQuery(_week().first, TODAY, goal="purchase")
        )
    )
    assert 0 <= purchases <= sum(r.conversions for r in rows)


def test_one_sign_in_serves_many_calls_until_the_token_is_refused(ga4):
    before = _tokens_issued(ga4)
    client = client_for(testing.access_for(ga4))
    client.verify()
    list(client.traffic(_week()))
    assert _tokens_issued(ga4) == before + 1
    # Google revokes the token (here: the emulator forgets it): one 401, a new sign-in, the answer.
    with http.client(base_url=ga4.url, timeout=5) as c:
        c.post("/_emulator/clock", json={"advance_s": 2 * 3600})
    try:
        clock.freeze(NOW + dt.timedelta(hours=2))
        assert list(client_for(testing.access_for(ga4)).traffic(_week()))
        assert _tokens_issued(ga4) == before + 2
    finally:
        clock.reset()
        with http.client(base_url=ga4.url, timeout=5) as c:
            c.post("/_emulator/clock", json={"advance_s": -2 * 3600})


def test_pages_follow_row_count(ga4):
    whole = list(client_for(testing.access_for(ga4)).traffic(_week()))
    client = Ga4Client(testing.access_for(ga4))
    client.page_limit = 4
    assert list(client.traffic(_week())) == whole
    assert client.calls == -(-len(whole) // 4)


def test_an_empty_report_has_no_rows_and_no_row_count(ga4):
    client = client_for(testing.access_for(ga4))
    old = TODAY - dt.timedelta(days=800)
    assert list(client.traffic(TrafficQuery(old, old))) == []
    token = ga4_client._tokens[next(iter(ga4_client._tokens))][0]
    status, body = testing.run_report(ga4, wire.report_body(old, old, ("social",), "", offset=0), token)
    assert status == 200 and "rows" not in body and "rowCount" not in body
    assert body["propertyQuota"]["tokensPerHour"]["remaining"] > 0


def test_a_key_google_does_not_know_or_disabled_asks_for_a_new_key(ga4):
    stranger = testing.new_key(None)
    with pytest.raises(errors.AuthExpired) as caught:
        client_for(testing.access_for(ga4, credentials={"service_account": stranger})).verify()
    assert caught.value.code == "invalid_grant" and caught.value.needs_person
    disabled = testing.new_key(ga4, properties=[emu.DEMO_PROPERTY_ID], disabled=True)
    with pytest.raises(errors.AuthExpired):
        client_for(testing.access_for(ga4, credentials={"service_account": disabled})).verify()


def test_a_key_without_access_to_the_property_is_refused_with_what_to_do(ga4):
    key = testing.new_key(ga4, properties=["111"])
    with pytest.raises(errors.Rejected) as caught:
        client_for(testing.access_for(ga4, credentials={"service_account": key})).verify()
    assert caught.value.code == "PERMISSION_DENIED" and "Viewer" in caught.value.message
    with pytest.raises(errors.Rejected):
        client_for(testing.access_for(ga4, account_id=emu.OTHER_PROPERTY_ID)).verify()


def test_a_file_that_is_not_a_key_is_named_for_what_it_lacks(ga4):
    for text, words in (
        ("not json", "not JSON"),
        (json.dumps({"type": "authorized_user"}), "service account"),
        (
            json.dumps({"type": "service_account", "client_email": "a@b", "private_key": "nope"}),
            "cannot be read",
        ),
    ):
        with pytest.raises(errors.AuthExpired) as caught:
            client_for(testing.access_for(ga4, credentials={"service_account": text})).verify()
        assert words in caught.value.message


def test_a_clock_an_hour_off_is_refused_by_google(ga4):
    clock.freeze(NOW + dt.timedelta(hours=3))
    try:
        with pytest.raises(errors.AuthExpired) as caught:
            client_for(testing.access_for(ga4)).verify()
        assert caught.value.code == "invalid_grant"
    finally:
        clock.reset()


def test_an_exhausted_quota_is_a_wait_of_an_hour(fresh):
    client = client_for(testing.access_for(fresh))
    client.verify()
    testing.set_quotas(fresh, tokens_per_hour=1, clear_usage=True)
    with pytest.raises(errors.RateLimited) as caught:
        list(client.traffic(_week()))
    assert caught.value.code == "RESOURCE_EXHAUSTED" and caught.value.retry_after == 3600.0


def test_paging_stops_before_the_quota_runs_out(fresh):
    client = Ga4Client(testing.access_for(fresh))
    client.page_limit = 2
    testing.set_quotas(fresh, tokens_per_project_per_hour=20, clear_usage=True)
    with pytest.raises(errors.RateLimited) as caught:
        list(client.traffic(_week()))
    assert caught.value.code == "quota_reserve" and 60 <= (caught.value.retry_after or 0) <= 3600
    assert (
        client.quota.tokens_per_project_per_hour is not None and client.quota.tokens_per_project_per_hour > 0
    )


def test_the_daily_quota_waits_for_the_property_midnight(fresh):
    client = Ga4Client(testing.access_for(fresh))
    client.page_limit = 2
    testing.set_quotas(fresh, tokens_per_day=25, clear_usage=True)
    with pytest.raises(errors.RateLimited) as caught:
        list(client.traffic(_week()))
    local = clock.now().astimezone(dt.timezone(dt.timedelta(hours=3)))
    to_midnight = (24 - local.hour) * 3600 - local.minute * 60 - local.second
    assert abs((caught.value.retry_after or 0) - to_midnight) < 120


def test_concurrent_requests_of_one_property(fresh):
    testing.set_quotas(fresh, concurrent=1, report_delay_s=0.5)
    client_for(testing.access_for(fresh)).verify()  # signed in once, before the race
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
    assert "RESOURCE_EXHAUSTED" in outcomes and any(isinstance(o, int) for o in outcomes)


def test_server_errors_are_transient(fresh):
    client = client_for(testing.access_for(fresh))
    client.verify()
    testing.faults(fresh, {"queue": [{"kind": "5xx", "method": "runReport"}]})
    with pytest.raises(errors.Transient):
        list(client.traffic(_week()))
    assert list(client.traffic(_week()))


# -- the emulator's own validation (what the Data API refuses) -----------------------------


def _token(emulator) -> str:
    client_for(testing.access_for(emulator)).verify()
    return next(iter(ga4_client._tokens.values()))[0]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"metrics": [{"name": "sessions"}]}, "dateRange"),
        ({"dateRanges": [{"startDate": "today", "endDate": "today"}], "metrics": [{"name": "likes"}]}, "not a valid metric"),
        ({"dateRanges": [{"startDate": "today", "endDate": "today"}], "dimensions": [{"name": "x"}]}, "not a valid dimension"),
        ({"dateRanges": [{"startDate": "today", "endDate": "7daysAgo"}], "metrics": [{"name": "sessions"}]}, "after"),
        ({"dateRanges": [{"startDate": "today", "endDate": "today"}], "metrics": [{"name": "sessions"}], "limit": "-5"}, "positive"),
        ({"dateRanges": [{"startDate": "today", "endDate": "today"}], "metrics": [{"name": "sessions"}], "bogus": 1}, "Unknown name"),
        ({"dateRanges": [{"startDate": "today", "endDate": "today"}], "metrics": [{"name": "keyEvents:nope"}]}, "not a valid metric"),
        (
            {
                "dateRanges": [{"startDate": "today", "endDate": "today"}],
                "metrics": [{"name": "sessions"}],
                "dimensionFilter": {"filter": {"fieldName": "sessions", "inListFilter": {"values": ["1"]}}},
            },
            "metricFilter",
        ),
    ],
)  # fmt: skip
def test_the_emulator_refuses_what_the_data_api_refuses(ga4, body, words):
    status, answer = testing.run_report(ga4, body, _token(ga4))
    assert status == 400
    assert answer["error"]["status"] == "INVALID_ARGUMENT" and words in answer["error"]["message"]


def test_no_token_is_unauthenticated_and_a_bad_property_id_invalid(ga4):
    status, answer = testing.run_report(ga4, {}, "ya29.nothing")
    assert status == 401 and answer["error"]["status"] == "UNAUTHENTICATED"
    status, answer = testing.run_report(ga4, {}, _token(ga4), prop="abc")
    assert status == 400 and "numeric Property ID" in answer["error"]["message"]


def test_filters_order_and_headers(ga4):
    body = {
        "dateRanges": [{"startDate": "8daysAgo", "endDate": "today"}],
        "dimensions": [{"name": "sessionSource"}],
        "metrics": [{"name": "sessions"}, {"name": "totalUsers"}],
        "dimensionFilter": {
            "andGroup": {
                "expressions": [
                    {
                        "filter": {
                            "fieldName": "sessionMedium",
                            "stringFilter": {"matchType": "ENDS_WITH", "value": "social"},
                        }
                    },
                    {
                        "notExpression": {
                            "filter": {"fieldName": "sessionSource", "stringFilter": {"value": "ok"}}
                        }
                    },
                ]
            }
        },
        "orderBys": [{"metric": {"metricName": "sessions"}, "desc": True}],
    }
    status, answer = testing.run_report(ga4, body, _token(ga4))
    assert status == 200
    assert [h["name"] for h in answer["metricHeaders"]] == ["sessions", "totalUsers"]
    assert answer["metricHeaders"][0]["type"] == "TYPE_INTEGER"
    sources = [r["dimensionValues"][0]["value"] for r in answer["rows"]]
    assert sorted(sources) == ["telegram", "vk"] and answer["rowCount"] == 2
    sessions = [int(r["metricValues"][0]["value"]) for r in answer["rows"]]
    assert sessions == sorted(sessions, reverse=True)
    assert answer["metadata"]["timeZone"] == "Europe/Moscow" and answer["kind"] == "analyticsData#runReport"
