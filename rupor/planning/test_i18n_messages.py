"""Refusals of the planning domain speak the language active for the request (English otherwise)."""

# ruff: noqa: RUF001  (the expected Russian texts are Cyrillic on purpose)

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from rupor.accounts.roles import Role
from rupor.accounts.service import Actor, workspace_info
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.planning import plan_io, slots
from rupor.planning.service import PlanningError, PostInput, create_post

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(make_workspace):
    clock.freeze(NOW)
    ws = make_workspace("Plan", timezone="Europe/Moscow")
    channel = Channel.objects.create(workspace=ws, network="telegram", name="Our Telegram", remote_id="@ours")
    return ws, channel, Actor(ws.pk, Role.MANAGER, label="manager")


def _refusal(actor: Actor, data: PostInput) -> PlanningError:
    with pytest.raises(PlanningError) as caught:
        create_post(actor, data)
    return caught.value


def test_a_past_time_is_refused_in_the_active_language(world):
    _ws, _channel, actor = world
    past = PostInput(status="scheduled", scheduled_at=dt.datetime(2026, 3, 1, 10, 0))

    english = _refusal(actor, past)
    assert english.message == "This time is in the past; choose a later time or publish now."
    assert english.field == "scheduled_at"

    with translation.override("ru"):
        russian = _refusal(actor, past)
    assert russian.message == "Это время уже прошло; выберите время позже или опубликуйте сейчас."
    assert type(russian.message) is str and str(russian) == russian.message  # plain str, JSON-ready
    assert russian.field == english.field and russian.status == english.status

    with translation.override("ko"):
        assert (
            _refusal(actor, past).message == "이미 지난 시간입니다. 더 늦은 시간을 고르거나 지금 게시하세요."
        )

    # Back outside the override: English again.
    assert _refusal(actor, past).message == english.message


def test_import_row_problems_are_translated_with_their_values(world):
    ws, _channel, actor = world
    table = [
        ["date", "time", "channels", "text", "status"],
        ["2026-03-01", "10:00", "Nowhere", "x", "scheduled"],
        ["2099-03-01", "", "Our Telegram", "x", "draft"],
    ]

    report = plan_io.check_rows(actor, workspace_info(ws.pk), table)
    assert [(p.row, p.message) for p in report.problems] == [
        (2, "2026-03-01 10:00 is in the past"),
        (2, "channel 'Nowhere' does not exist in this workspace"),
        (3, "a date needs a time (HH:MM)"),
    ]
    assert str(report.problems[0]) == "Row 2: 2026-03-01 10:00 is in the past"

    with translation.override("ru"):
        report = plan_io.check_rows(actor, workspace_info(ws.pk), table)
        assert str(report.problems[0]) == "Строка 2: 2026-03-01 10:00 уже в прошлом"
    assert [(p.row, p.message) for p in report.problems] == [
        (2, "2026-03-01 10:00 уже в прошлом"),
        (2, "канала 'Nowhere' нет в этом пространстве"),
        (3, "к дате нужно время (ЧЧ:ММ)"),
    ]


@pytest.mark.parametrize(
    ("rows", "russian"),
    [
        (5001, "В файле 5001 строка; за раз можно импортировать не больше 5000."),
        (5003, "В файле 5003 строки; за раз можно импортировать не больше 5000."),
        (5005, "В файле 5005 строк; за раз можно импортировать не больше 5000."),
    ],
)
def test_counts_take_the_right_plural_form(world, rows, russian):
    ws, _channel, actor = world
    table = [["channels", "text"], *([["Our Telegram", "x"]] * rows)]
    with pytest.raises(plan_io.ImportFileError) as english:
        plan_io.check_rows(actor, workspace_info(ws.pk), table)
    assert english.value.message == f"The file has {rows} rows; import at most 5000 at a time."
    with translation.override("ru"), pytest.raises(plan_io.ImportFileError) as caught:
        plan_io.check_rows(actor, workspace_info(ws.pk), table)
    assert caught.value.message == russian


def test_a_taken_slot_names_the_weekday_in_the_sentence(world):
    _ws, channel, actor = world
    slots.add_slot(actor, channel.pk, 0, dt.time(10))
    with pytest.raises(PlanningError) as english:
        slots.add_slot(actor, channel.pk, 0, dt.time(10))
    assert english.value.message == "Our Telegram already has a slot on Monday at 10:00."
    with translation.override("ru"), pytest.raises(PlanningError) as russian:
        slots.add_slot(actor, channel.pk, "mon", dt.time(10))
    assert russian.value.message == "У канала «Our Telegram» уже есть слот: понедельник, 10:00."


def test_the_api_answers_in_the_language_the_client_asks_for(world, api_for):
    ws, channel, _actor = world
    api = api_for(ws, "manager")
    body = {
        "text": "x",
        "status": "scheduled",
        "scheduled_at": "2026-03-01T10:00:00",
        "variants": [{"channel_id": channel.pk}],
    }
    english = api.post("/posts", body)
    assert english.status_code == 400, english.content
    assert english.json()["detail"] == "This time is in the past; choose a later time or publish now."
    russian = api.client.post(
        "/api/v1/posts",
        body,
        content_type="application/json",
        headers={**api._headers(), "Accept-Language": "ru"},
    )
    assert russian.status_code == 400, russian.content
    assert russian.json()["detail"] == "Это время уже прошло; выберите время позже или опубликуйте сейчас."
