"""The analytics pages and exports by role, with the period and channel filters, bad input and
other workspaces; exports parse back."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import User
from rupor.analytics import testing
from rupor.analytics.models import PostStat
from rupor.channels.models import Channel
from rupor.core import clock

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def shop(make_workspace, make_user):
    clock.freeze(NOW)
    owner = make_user()
    ws = make_workspace("Shop", owner=owner, timezone="UTC")
    vk = Channel.objects.create(workspace=ws, network="vk", name="VK page", remote_id="-1")
    Channel.objects.create(workspace=ws, network="telegram", name="TG channel", remote_id="@tg")
    testing.fill(ws.pk, days=40, posts_per_day=2, end=NOW.date())
    users = {"owner": owner}
    for role in ("analyst", "manager", "client", "editor", "moderator"):
        user = make_user()
        accounts.add_member(accounts.actor_for_user(owner, ws), user.email, role)  # type: ignore[arg-type]
        users[role] = user
    return ws, vk, users


def test_roles_see_what_they_may(shop):
    _ws, _vk, users = shop
    for role in ("owner", "analyst", "manager", "client"):
        page = _client(users[role]).get(reverse("web:analytics"))
        assert page.status_code == 200, role
        assert b"pygal-chart" in page.content and b'id="heatmap"' in page.content
    for role in ("editor", "moderator"):
        assert _client(users[role]).get(reverse("web:analytics")).status_code == 403
    client = _client(users["client"])
    assert client.get(reverse("web:analytics_content")).status_code == 403
    assert b"What works" not in client.get(reverse("web:analytics")).content  # no tab for the client
    assert client.get(reverse("web:analytics_export", args=["mix", "csv"])).status_code == 403
    assert client.get(reverse("web:analytics_export", args=["figures", "csv"])).status_code == 200
    assert _client(users["analyst"]).get(reverse("web:analytics_content")).status_code == 200


def test_the_sidebar_has_one_analytics_entry(shop):
    _ws, _vk, users = shop
    page = _client(users["analyst"]).get(reverse("web:analytics")).content.decode()
    assert page.count(f'href="{reverse("web:analytics")}"') >= 1
    assert 'aria-current="page"' in page


def test_period_and_channel_change_the_figures(shop):
    ws, vk, users = shop
    client = _client(users["owner"])
    week = client.get(reverse("web:analytics"), {"days": 7})
    month = client.get(reverse("web:analytics"), {"days": 30})
    assert week.status_code == month.status_code == 200
    posts_7 = PostStat.objects.filter(
        workspace=ws, published_at__date__gte=NOW.date() - dt.timedelta(days=6)
    ).count()
    assert 'data-key="posts" title=' in week.content.decode()
    assert f'<dd class="value">{posts_7}</dd>' in week.content.decode()
    only_vk = client.get(
        reverse("web:analytics"), {"from": "2026-03-01", "to": "2026-03-10", "channel": vk.pk}
    )
    assert only_vk.status_code == 200 and b"TG channel</td>" not in only_vk.content


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-13-01"}, b"YYYY-MM-DD"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, b"ends before it starts"),
        ({"from": "2020-01-01", "to": "2026-03-01"}, b"at most 366 days"),
        ({"days": "0"}, b"whole number"),
        ({"channel": "abc"}, b"by its number"),
    ],
)
def test_bad_input_is_a_422_with_a_reason(shop, params, message):
    _ws, _vk, users = shop
    page = _client(users["owner"]).get(reverse("web:analytics"), params)
    assert page.status_code == 422 and message in page.content
    export = _client(users["owner"]).get(reverse("web:analytics_export", args=["daily", "csv"]), params)
    assert export.status_code == 422 and message in export.content


def test_another_workspaces_channel_is_not_found(shop, make_workspace):
    _ws, _vk, users = shop
    other = make_workspace("Other", timezone="UTC")
    theirs = Channel.objects.create(workspace=other, network="vk", name="Theirs", remote_id="-7")
    client = _client(users["owner"])
    assert client.get(reverse("web:analytics"), {"channel": theirs.pk}).status_code == 404
    assert (
        client.get(reverse("web:analytics_export", args=["daily", "csv"]), {"channel": theirs.pk}).status_code
        == 404
    )


def test_csv_exports_parse_back(shop):
    ws, _vk, users = shop
    client = _client(users["analyst"])
    res = client.get(
        reverse("web:analytics_export", args=["daily", "csv"]), {"from": "2026-03-01", "to": "2026-03-07"}
    )
    assert res.status_code == 200 and "attachment" in res["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Day", "Posts", "Likes"] and len(rows) == 8
    march_first = PostStat.objects.filter(
        workspace=ws, published_at__date=dt.date(2026, 3, 1), deleted_at=None
    ).count()
    assert rows[1][0] == "2026-03-01" and int(rows[1][1]) == march_first
    figures = client.get(reverse("web:analytics_export", args=["figures", "csv"])).content.decode("utf-8-sig")
    parsed = {r[0]: r for r in csv.reader(io.StringIO(figures))}
    assert "ER by reach (ERR)" in parsed and "reach" in parsed["ER by reach (ERR)"][5]
    for table in (
        "rubric",
        "format",
        "length",
        "hour",
        "weekday",
        "mix",
        "selling",
        "top_posts",
        "channels",
        "heatmap",
    ):
        res = client.get(reverse("web:analytics_export", args=[table, "csv"]))
        assert res.status_code == 200, table
        assert len(list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))) >= 2, table


def test_xlsx_workbooks_parse_back(shop):
    _ws, _vk, users = shop
    client = _client(users["owner"])
    res = client.get(reverse("web:analytics_export", args=["overview", "xlsx"]), {"days": 7})
    book = openpyxl.load_workbook(io.BytesIO(res.content))
    assert book.sheetnames == ["Figures", "By day", "Top posts", "By channel", "By hour of the week"]
    daily = list(book["By day"].values)
    assert daily[0][0] == "Day" and len(daily) == 8 and isinstance(daily[1][1], int)
    content = openpyxl.load_workbook(
        io.BytesIO(client.get(reverse("web:analytics_export", args=["content", "xlsx"])).content)
    )
    assert "By rubric" in content.sheetnames and "Mix by rubric" in content.sheetnames
    assert client.get(reverse("web:analytics_export", args=["overview", "csv"])).status_code == 422
    assert client.get(reverse("web:analytics_export", args=["nothing", "csv"])).status_code == 404
    assert client.get(reverse("web:analytics_export", args=["daily", "pdf"])).status_code == 422


def test_text_that_looks_like_a_formula_stays_text(shop):
    ws, vk, users = shop
    PostStat.objects.create(
        workspace=ws,
        channel=vk,
        remote_post_id="evil",
        published_at=NOW - dt.timedelta(hours=2),
        text_excerpt='=HYPERLINK("http://x")',
        likes=10**6,
        reposts=0,
        comments=0,
        followers=10,
    )
    client = _client(users["owner"])
    body = client.get(reverse("web:analytics_export", args=["top_posts", "csv"]), {"days": 1}).content.decode(
        "utf-8-sig"
    )
    assert "'=HYPERLINK" in body
    book = openpyxl.load_workbook(
        io.BytesIO(
            client.get(reverse("web:analytics_export", args=["top_posts", "xlsx"]), {"days": 1}).content
        )
    )
    cell = book.active.cell(row=2, column=4)
    assert cell.value == '=HYPERLINK("http://x")' and cell.data_type == "s"


def test_what_works_page_shows_every_slice_and_the_mix(shop):
    _ws, _vk, users = shop
    page = _client(users["manager"]).get(reverse("web:analytics_content"), {"days": 30})
    assert page.status_code == 200
    for key in ("rubric", "format", "length", "hour", "weekday"):
        assert f'id="slice-table-{key}"'.encode() in page.content
    assert b'id="mix-table"' in page.content and b'id="selling-table"' in page.content
    assert b"<script" not in page.content.split(b"<main")[1].split(b"</main>")[0]
    assert b"<style" not in page.content


def test_a_change_is_coloured_by_whether_it_is_good_not_by_its_sign():
    from rupor.analytics.dashboard import Figure
    from rupor.web.analytics_views import change

    def fig(key: str, pct: float | None) -> Figure:
        return Figure(key, key, 1, 1, pct, "")

    assert change(fig("reach", 12.5)) == {"text": "+12.5 %", "direction": "up"}
    assert change(fig("reach", -3.0))["direction"] == "down"
    assert change(fig("churn", 20.0)) == {"text": "+20.0 %", "direction": "down"}  # more churn is bad
    assert change(fig("complaints", -50.0))["direction"] == "up"
    assert change(fig("leaves", 0.0))["direction"] == "flat"
    assert change(fig("reach", None))["direction"] == "none"
