"""The calendar through Django's test client: posts in the right cells in the workspace zone
(across a DST change), filters, colour modes, tenancy and roles, and moving posts and ideas
through the planning service, with refusals that change nothing."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.middleware import SESSION_KEY
from rupor.accounts.models import User, Workspace
from rupor.accounts.roles import Role
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.planning import ical
from rupor.planning import service as planning
from rupor.planning.models import Post, Rubric
from rupor.publishing.models import PublicationTarget, TargetState

PASSWORD = "a-long-enough-passphrase-42"
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
# Thursday 20 March 2025, 10:00 in Berlin (CET, UTC+1). Clocks go forward on Sunday 30 March.
NOW = dt.datetime(2025, 3, 20, 9, 0, tzinfo=dt.UTC)


@dataclass
class Cal:
    ws: Workspace
    owner: User
    actor: accounts.Actor
    users: dict[Role, User]
    tg: Channel
    vk: Channel
    other: Workspace
    other_post: Post


def _local(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(
        year, month, day, hour, minute
    )  # wall-clock time in the workspace zone, as people type it


def _connect(actor: accounts.Actor, network: str, name: str) -> Channel:
    from rupor.networks import registry

    creds = {f.name: "x" for f in registry.adapter(network).credential_fields if f.required}
    return channels.connect(
        actor,
        channels.ChannelInput(
            network=network, name=name, remote_id=f"@{name.lower().replace(' ', '')}", credentials=creds
        ),
        verify=False,
    )


@pytest.fixture
def cal(db: Any) -> Cal:
    clock.freeze(NOW)
    users = {
        role: accounts.create_user(f"{role.value}@example.com", PASSWORD, name=role.value.title())
        for role in Role
    }
    owner = users[Role.OWNER]
    ws = accounts.create_workspace("Berlin Bakery", owner, timezone="Europe/Berlin")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    for role, user in users.items():
        if role is not Role.OWNER:
            accounts.add_member(actor, user.email, role.value)
    tg = _connect(actor, "telegram", "Bakery TG")
    vk = _connect(actor, "vk", "Bakery VK")
    stranger = accounts.create_user("stranger@example.com", PASSWORD)
    other = accounts.create_workspace("Elsewhere", stranger, timezone="Europe/Berlin")
    other_actor = accounts.actor_for_user(stranger, other)
    assert other_actor is not None
    other_tg = _connect(other_actor, "telegram", "Other TG")
    other_post = _schedule(other_actor, other_tg, "Secret of another workspace", _local(2025, 3, 25, 12, 0))
    return Cal(ws, owner, actor, users, tg, vk, other, other_post)


def _schedule(actor: accounts.Actor, channel: Channel, text: str, when: dt.datetime, **extra: Any) -> Post:
    return planning.create_post(
        actor,
        planning.PostInput(
            text=text,
            status=Post.Status.SCHEDULED,
            scheduled_at=when,
            variants=(planning.VariantInput(channel.pk),),
            **extra,
        ),
    )


def _draft(
    actor: accounts.Actor, channel: Channel | None, text: str, when: dt.datetime | None = None, **extra: Any
) -> Post:
    variants = (planning.VariantInput(channel.pk),) if channel else ()
    return planning.create_post(
        actor, planning.PostInput(text=text, scheduled_at=when, variants=variants, **extra)
    )


def _client(user: User, workspace: Workspace) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = workspace.slug
    session.save()
    return client


def _cell(html: str, date: str) -> str:
    """The HTML of one month/week cell (the first ``td`` carrying ``data-date``)."""
    match = re.search(rf'<td[^>]*data-date="{date}"[^>]*>(.*?)</td>', html, re.S)
    assert match, f"no cell for {date}"
    return match.group(1)


def _slot(html: str, date: str, hour: int) -> str:
    match = re.search(rf'<td[^>]*data-date="{date}" data-hour="{hour}"[^>]*>(.*?)</td>', html, re.S)
    assert match, f"no slot for {date} {hour}"
    return match.group(1)


def _move(
    client: Client, post: Post, when: str, *, htmx: bool = True, next_url: str = "/calendar/?date=2025-03-20"
) -> Any:
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        reverse("web:calendar_move"), {"post": post.pk, "when": when, "next": next_url}, headers=headers
    )


# -- rendering -------------------------------------------------------------------------------------


def test_month_shows_posts_in_their_local_day_across_the_dst_change(cal: Cal) -> None:
    before = _schedule(cal.actor, cal.tg, "Croissant day before the change", _local(2025, 3, 28, 10, 0))
    after = _schedule(cal.actor, cal.vk, "Pretzel day after the change", _local(2025, 3, 31, 10, 0))
    late = _schedule(
        cal.actor, cal.tg, "Late-night post", _local(2025, 3, 25, 23, 30)
    )  # 22:30 UTC, still the 25th here
    assert before.scheduled_at == dt.datetime(2025, 3, 28, 9, 0, tzinfo=dt.UTC)
    assert after.scheduled_at == dt.datetime(2025, 3, 31, 8, 0, tzinfo=dt.UTC)

    response = _client(cal.owner, cal.ws).get(reverse("web:calendar"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Europe/Berlin" in html and "UTC+01:00" in html  # the zone, prominently
    assert "UTC+01:00 → UTC+02:00" in html  # the DST change of this month is called out
    assert "Croissant day before the change" in _cell(html, "2025-03-28")
    assert ">10:00<" in _cell(html, "2025-03-28")
    assert "Pretzel day after the change" in _cell(html, "2025-03-31")
    assert ">10:00<" in _cell(html, "2025-03-31")
    assert "Late-night post" in _cell(html, "2025-03-25")
    assert "23:30" in _cell(html, "2025-03-25")
    assert "Late-night post" not in _cell(html, "2025-03-26")
    # Monday first: the March 2025 grid starts on Monday 24 February and ends on Sunday 6 April.
    assert re.findall(r'data-date="(\d{4}-\d\d-\d\d)"', html)[0] == "2025-02-24"
    assert re.findall(r'data-date="(\d{4}-\d\d-\d\d)"', html)[-1] == "2025-04-06"
    assert 'class="cal-day today' in html and 'data-date="2025-03-20"' in html
    assert 'class="cal-day out past" data-drop data-date="2025-02-24"' in html  # outside the month, dimmed
    assert f'href="{reverse("web:post_edit", args=[late.pk])}"' in html  # a chip opens the editor
    assert "net small telegram" in html and "net small vk" in html
    assert "Secret of another workspace" not in html  # tenancy


def test_week_shows_posts_in_their_hour_cells(cal: Cal) -> None:
    _schedule(cal.actor, cal.tg, "Breakfast menu", _local(2025, 3, 31, 8, 15))
    _schedule(cal.actor, cal.tg, "Evening special", _local(2025, 4, 2, 19, 45))
    response = _client(cal.owner, cal.ws).get(reverse("web:calendar"), {"view": "week", "date": "2025-04-02"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Breakfast menu" in _slot(html, "2025-03-31", 8) and "08:15" in _slot(html, "2025-03-31", 8)
    assert "Evening special" in _slot(html, "2025-04-02", 19)
    assert "Evening special" not in _slot(html, "2025-04-02", 18)
    assert html.count('data-hour="') == 7 * 24
    assert re.findall(r'data-date="(\d{4}-\d\d-\d\d)"', html)[0] == "2025-03-31"  # the week starts on Monday


def test_week_marks_the_hour_that_does_not_exist(cal: Cal) -> None:
    html = (
        _client(cal.owner, cal.ws)
        .get(reverse("web:calendar"), {"view": "week", "date": "2025-03-30"})
        .content.decode()
    )
    gap = re.search(r'<td class="cal-slot gap"[^>]*data-date="2025-03-30" data-hour="2"', html)
    assert gap is not None and "data-drop" not in gap.group(0)  # nothing can be dropped into 02:00-03:00
    assert re.search(r'<td class="cal-slot"[^>]*data-drop data-date="2025-03-30" data-hour="3"', html)


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31", "yesterday", "2025-02-30"])
def test_odd_dates_fall_back_to_today(cal: Cal, date: str) -> None:
    for view in ("month", "week"):
        response = _client(cal.owner, cal.ws).get(reverse("web:calendar"), {"date": date, "view": view})
        assert response.status_code == 200
        assert 'aria-current="date"' in response.content.decode()


def test_a_post_partly_out_cannot_be_dragged(cal: Cal) -> None:
    post = _schedule(cal.actor, cal.tg, "Half out", _local(2025, 3, 21, 10, 0))
    planning.update_post(
        cal.actor,
        post.pk,
        planning.PostInput(variants=(planning.VariantInput(cal.tg.pk), planning.VariantInput(cal.vk.pk))),
        {"variants"},
    )
    PublicationTarget.objects.filter(variant__post=post, channel=cal.tg).update(state=TargetState.PUBLISHED)
    PublicationTarget.objects.filter(variant__post=post, channel=cal.vk).update(state=TargetState.FAILED)
    html = _client(cal.owner, cal.ws).get(reverse("web:calendar")).content.decode()
    assert "cal-chip state-partially_published" in _cell(html, "2025-03-21")
    assert f'data-move-id="{post.pk}"' not in html
    assert _move(_client(cal.owner, cal.ws), post, "2025-03-25T10:00").status_code == 409


def test_navigation_keeps_the_filters(cal: Cal) -> None:
    params: dict[str, Any] = {"date": "2025-03-10", "channel": cal.tg.pk, "color": "network"}
    html = _client(cal.owner, cal.ws).get(reverse("web:calendar"), params).content.decode()
    assert f'href="/calendar/?date=2025-02-01&amp;color=network&amp;channel={cal.tg.pk}"' in html
    assert f'href="/calendar/?date=2025-04-01&amp;color=network&amp;channel={cal.tg.pk}"' in html
    assert (
        f'href="/calendar/?view=week&amp;date=2025-03-10&amp;color=network&amp;channel={cal.tg.pk}"' in html
    )


def test_filters_by_channel_rubric_status_and_author(cal: Cal) -> None:
    rubric = Rubric.objects.filter(workspace=cal.ws).first()
    assert rubric is not None
    editor = accounts.actor_for_user(cal.users[Role.EDITOR], cal.ws)
    assert editor is not None
    _schedule(cal.actor, cal.tg, "On Telegram with a rubric", _local(2025, 3, 24, 10, 0), rubric_id=rubric.pk)
    _schedule(cal.actor, cal.vk, "On VK", _local(2025, 3, 24, 11, 0))
    _draft(editor, cal.vk, "Editor's dated draft", _local(2025, 3, 26, 9, 0))
    client = _client(cal.owner, cal.ws)

    def shown(**params: Any) -> set[str]:
        html = client.get(reverse("web:calendar"), params).content.decode()
        names = {"On Telegram with a rubric", "On VK", "Editor's dated draft"}
        return {n for n in names if n.replace("'", "&#x27;") in html}

    assert shown() == {"On Telegram with a rubric", "On VK", "Editor's dated draft"}
    assert shown(channel=cal.tg.pk) == {"On Telegram with a rubric"}
    assert shown(rubric=rubric.pk) == {"On Telegram with a rubric"}
    assert shown(rubric="none") == {"On VK", "Editor's dated draft"}
    assert shown(status="draft") == {"Editor's dated draft"}
    assert shown(status="scheduled") == {"On Telegram with a rubric", "On VK"}
    assert shown(author=cal.users[Role.EDITOR].pk) == {"Editor's dated draft"}


def test_published_and_failed_posts_show_their_state(cal: Cal) -> None:
    done = _schedule(cal.actor, cal.tg, "Already out", _local(2025, 3, 21, 10, 0))
    broken = _schedule(cal.actor, cal.vk, "Went wrong", _local(2025, 3, 21, 12, 0))
    PublicationTarget.objects.filter(variant__post=done).update(state=TargetState.PUBLISHED)
    PublicationTarget.objects.filter(variant__post=broken).update(state=TargetState.FAILED)
    client = _client(cal.owner, cal.ws)
    html = client.get(reverse("web:calendar")).content.decode()
    cell = _cell(html, "2025-03-21")
    assert "cal-chip state-published" in cell and "cal-chip state-failed" in cell
    assert f'data-move-id="{done.pk}"' not in cell  # a published post cannot be dragged
    assert f'data-move-id="{broken.pk}"' in cell  # a failed one can be moved to a new time
    only = client.get(reverse("web:calendar"), {"status": "published"}).content.decode()
    assert "Already out" in only and "Went wrong" not in only


def test_colour_by_rubric_or_network(cal: Cal) -> None:
    rubric = Rubric.objects.filter(workspace=cal.ws).first()
    assert rubric is not None
    _schedule(cal.actor, cal.vk, "Coloured", _local(2025, 3, 24, 10, 0), rubric_id=rubric.pk)
    client = _client(cal.owner, cal.ws)
    by_rubric = _cell(client.get(reverse("web:calendar")).content.decode(), "2025-03-24")
    assert f"--chip: {rubric.color}" in by_rubric and "net-vk" not in by_rubric
    by_network = _cell(
        client.get(reverse("web:calendar"), {"color": "network"}).content.decode(), "2025-03-24"
    )
    assert "net-vk" in by_network and "--chip:" not in by_network


def test_a_busy_day_shows_four_and_more(cal: Cal) -> None:
    for hour in range(9, 15):
        _schedule(cal.actor, cal.tg, f"Post at {hour}", _local(2025, 3, 27, hour, 0))
    cell = _cell(_client(cal.owner, cal.ws).get(reverse("web:calendar")).content.decode(), "2025-03-27")
    visible, _sep, rest = cell.partition('<details class="cal-more">')
    assert len(re.findall(r'class="cal-item[ "]', visible)) == 4
    assert "+2 more" in rest and "Post at 14" in rest


def test_query_count_does_not_grow_with_posts(cal: Cal, django_assert_max_num_queries: Any) -> None:
    rubric = Rubric.objects.filter(workspace=cal.ws).first()
    client = _client(cal.owner, cal.ws)

    def add(day: int) -> None:
        post = _schedule(
            cal.actor,
            cal.tg,
            f"Post {day}",
            _local(2025, 3, day, 10, 0),
            rubric_id=rubric.pk if rubric else None,
        )
        planning.update_post(
            cal.actor,
            post.pk,
            planning.PostInput(variants=(planning.VariantInput(cal.tg.pk), planning.VariantInput(cal.vk.pk))),
            {"variants"},
        )
        _draft(cal.actor, cal.vk, f"Idea {day}", rubric_id=rubric.pk if rubric else None)

    add(21)
    client.get(reverse("web:calendar"))  # the iCal address is created on the first visit
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("web:calendar"))
    for day in range(22, 29):
        add(day)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(reverse("web:calendar")).content.decode()
    assert len(re.findall(r'class="cal-item[ "]', html)) == 16
    assert len(few.captured_queries) <= 22
    with django_assert_max_num_queries(22):
        client.get(reverse("web:calendar"), {"view": "week", "date": "2025-03-24"})


def test_ideas_panel_lists_drafts_without_a_date(cal: Cal) -> None:
    _draft(cal.actor, cal.tg, "An idea for spring")
    _draft(cal.actor, cal.tg, "A dated draft", _local(2025, 3, 24, 10, 0))
    html = _client(cal.owner, cal.ws).get(reverse("web:calendar")).content.decode()
    ideas = html.split('id="ideas-title"')[1]
    assert "An idea for spring" in ideas and "A dated draft" not in ideas


def test_subscribe_box_shows_the_feed_and_rotating_replaces_it(cal: Cal) -> None:
    client = _client(cal.owner, cal.ws)
    html = client.get(reverse("web:calendar")).content.decode()
    url = ical.feed_url(cal.actor)
    assert url in html and 'data-copy="#ical-url"' in html
    response = client.post(reverse("web:calendar_feed_rotate"), {"next": "/calendar/?view=week"})
    assert response.status_code == 302 and response["Location"].startswith("/calendar/?view=week")
    assert ical.feed_url(cal.actor) != url
    analyst = _client(cal.users[Role.ANALYST], cal.ws)
    assert "Replace the address" not in analyst.get(reverse("web:calendar")).content.decode()
    assert analyst.post(reverse("web:calendar_feed_rotate")).status_code == 403


@pytest.mark.parametrize("role", list(Role))
def test_who_sees_the_calendar(cal: Cal, role: Role) -> None:
    response = _client(cal.users[role], cal.ws).get(reverse("web:calendar"))
    assert response.status_code == (403 if role is Role.MODERATOR else 200)


def test_viewers_see_chips_without_move_controls(cal: Cal) -> None:
    _schedule(cal.actor, cal.tg, "Read only for the analyst", _local(2025, 3, 24, 10, 0))
    html = _client(cal.users[Role.ANALYST], cal.ws).get(reverse("web:calendar")).content.decode()
    assert "Read only for the analyst" in html
    assert "data-move-id" not in html and "cal-move-form" not in html and "/posts/new/" not in html


# -- moving -----------------------------------------------------------------------------------------


def test_drag_to_another_day_keeps_the_local_time_and_resyncs_targets(cal: Cal) -> None:
    post = _schedule(cal.actor, cal.tg, "Move me over the DST change", _local(2025, 3, 28, 10, 0))
    response = _move(_client(cal.owner, cal.ws), post, "2025-04-01T10:00")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="cal-body"' in html and "Moved to Tue 1 Apr, 10:00." in html
    post.refresh_from_db()
    assert post.scheduled_at == dt.datetime(2025, 4, 1, 8, 0, tzinfo=dt.UTC)  # 10:00 CEST
    assert post.status == Post.Status.SCHEDULED
    target = PublicationTarget.objects.get(variant__post=post)
    assert target.state == TargetState.SCHEDULED and target.due_at == post.scheduled_at
    assert target.events.filter(cause__startswith="rescheduled").exists()


def test_the_answer_renders_the_period_the_user_was_looking_at(cal: Cal) -> None:
    post = _schedule(cal.actor, cal.tg, "Weekly post", _local(2025, 3, 25, 9, 30))
    html = _move(
        _client(cal.owner, cal.ws), post, "2025-03-26T14:30", next_url="/calendar/?view=week&date=2025-03-25"
    ).content.decode()
    assert "Weekly post" in _slot(html, "2025-03-26", 14)


def test_move_without_script_redirects_back_with_a_message(cal: Cal) -> None:
    post = _schedule(cal.actor, cal.tg, "Keyboard move", _local(2025, 3, 25, 9, 30))
    client = _client(cal.owner, cal.ws)
    response = _move(
        client, post, "2025-03-27T16:45", htmx=False, next_url="/calendar/?view=week&date=2025-03-25"
    )
    assert response.status_code == 302 and response["Location"] == "/calendar/?view=week&date=2025-03-25"
    page = client.get(response["Location"]).content.decode()
    assert "Moved to Thu 27 Mar, 16:45." in page
    assert "Keyboard move" in _slot(page, "2025-03-27", 16)
    # An outside address in "next" is not followed.
    response = _move(client, post, "2025-03-27T17:45", htmx=False, next_url="https://evil.example/calendar/")
    assert response["Location"] == "/calendar/"


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("2025-03-19T10:00", "This time is in the past"),
        ("2025-03-30T02:30", "2025-03-30 02:30 does not exist in Europe/Berlin"),
        ("not a time", "Choose a date and a time."),
    ],
)
def test_refused_moves_change_nothing(cal: Cal, when: str, message: str) -> None:
    post = _schedule(cal.actor, cal.tg, "Stay put", _local(2025, 3, 28, 10, 0))
    before = post.scheduled_at
    response = _move(_client(cal.owner, cal.ws), post, when)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'data-level="error"' in html
    post.refresh_from_db()
    assert post.scheduled_at == before
    assert PublicationTarget.objects.get(variant__post=post).due_at == before


def test_a_published_post_does_not_move(cal: Cal) -> None:
    post = _schedule(cal.actor, cal.tg, "Gone out", _local(2025, 3, 21, 10, 0))
    PublicationTarget.objects.filter(variant__post=post).update(state=TargetState.PUBLISHED)
    response = _move(_client(cal.owner, cal.ws), post, "2025-03-25T10:00")
    assert response.status_code == 409
    assert "has been published" in response.content.decode()
    post.refresh_from_db()
    assert post.scheduled_at == dt.datetime(2025, 3, 21, 9, 0, tzinfo=dt.UTC)


def test_a_draft_into_the_past_is_refused_too(cal: Cal) -> None:
    post = _draft(cal.actor, cal.tg, "Dated draft", _local(2025, 3, 24, 10, 0))
    response = _move(_client(cal.owner, cal.ws), post, "2025-03-01T10:00")
    assert response.status_code == 400
    post.refresh_from_db()
    assert post.scheduled_at == dt.datetime(2025, 3, 24, 9, 0, tzinfo=dt.UTC)


def test_an_idea_dropped_on_a_day_gets_a_date_and_stays_a_draft(cal: Cal) -> None:
    idea = _draft(cal.actor, None, "Backlog idea without a channel")
    response = _move(_client(cal.owner, cal.ws), idea, "2025-03-26T10:00")
    assert response.status_code == 200
    html = response.content.decode()
    assert "It is still a draft." in html
    assert "Backlog idea without a channel" in _cell(html, "2025-03-26")
    assert "Backlog idea" not in html.split('id="ideas-title"')[1]
    idea.refresh_from_db()
    assert idea.status == Post.Status.DRAFT
    assert idea.scheduled_at == dt.datetime(2025, 3, 26, 9, 0, tzinfo=dt.UTC)


def test_another_workspaces_post_is_not_found(cal: Cal) -> None:
    response = _move(_client(cal.owner, cal.ws), cal.other_post, "2025-03-26T10:00")
    assert response.status_code == 404
    cal.other_post.refresh_from_db()
    assert cal.other_post.scheduled_at == dt.datetime(2025, 3, 25, 11, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("role", [Role.ANALYST, Role.CLIENT, Role.MODERATOR])
def test_roles_without_edit_cannot_move(cal: Cal, role: Role) -> None:
    post = _schedule(cal.actor, cal.tg, "Not yours to move", _local(2025, 3, 28, 10, 0))
    assert _move(_client(cal.users[role], cal.ws), post, "2025-03-29T10:00").status_code == 403
    post.refresh_from_db()
    assert post.scheduled_at == dt.datetime(2025, 3, 28, 9, 0, tzinfo=dt.UTC)


def test_an_editor_cannot_move_a_scheduled_post_but_can_move_a_draft(cal: Cal) -> None:
    scheduled = _schedule(cal.actor, cal.tg, "Scheduled by the manager", _local(2025, 3, 28, 10, 0))
    draft = _draft(cal.actor, cal.tg, "Editor's draft", _local(2025, 3, 28, 11, 0))
    editor = _client(cal.users[Role.EDITOR], cal.ws)
    html = editor.get(reverse("web:calendar")).content.decode()
    assert f'data-move-id="{scheduled.pk}"' not in html and f'data-move-id="{draft.pk}"' in html
    response = _move(editor, scheduled, "2025-03-29T10:00")
    assert response.status_code == 403 and "only a manager can change it" in response.content.decode()
    assert _move(editor, draft, "2025-03-29T11:00").status_code == 200


def test_moving_with_approvals_keeps_the_approval(cal: Cal) -> None:
    cal.ws.approval = Workspace.Approval.INTERNAL
    cal.ws.save()
    post = _schedule(cal.actor, cal.tg, "Approved by scheduling", _local(2025, 3, 28, 10, 0))
    assert post.status == Post.Status.SCHEDULED and post.approved_at is not None
    manager = _client(cal.users[Role.MANAGER], cal.ws)
    assert _move(manager, post, "2025-03-29T10:00").status_code == 200
    post.refresh_from_db()
    assert (
        post.status == Post.Status.SCHEDULED and post.approved_at is not None
    )  # the time is not the content


def test_an_approved_post_waiting_for_a_time_is_scheduled_when_given_one(cal: Cal) -> None:
    post = _draft(cal.actor, cal.tg, "Approved, waiting for a time")
    Post.objects.filter(pk=post.pk).update(status=Post.Status.APPROVED, approved_at=NOW)
    assert _move(_client(cal.owner, cal.ws), post, "2025-03-29T10:00").status_code == 200
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED
    assert PublicationTarget.objects.get(variant__post=post).state == TargetState.SCHEDULED


def test_move_requires_csrf(cal: Cal) -> None:
    post = _schedule(cal.actor, cal.tg, "CSRF", _local(2025, 3, 28, 10, 0))
    client = Client(enforce_csrf_checks=True)
    client.force_login(cal.owner)
    assert (
        client.post(reverse("web:calendar_move"), {"post": post.pk, "when": "2025-03-29T10:00"}).status_code
        == 403
    )
