"""The inbox as a team's queue: bulk actions checked per item, cursor pages that hold still while
new items arrive, days in the workspace's zone, saved views, and the assignee's notification.
Items come in through the intake (ingest_events), as a network would deliver them."""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.accounts import service as accounts
from rupor.accounts.models import AuditEntry
from rupor.core import clock
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem
from rupor.inbox.testing import connect
from rupor.networks.base import Comment, Event, EventKind, Person
from rupor.networks.telegram import testing as telegram_testing
from rupor.notifications.models import Notification

pytestmark = pytest.mark.django_db

NOWHERE = type("E", (), {"url": "http://127.0.0.1:9"})()  # the channel is never called here


def _comment(channel, remote_id: str, text: str, at: dt.datetime) -> int:
    comment = Comment(remote_id, "post-1", Person(f"9{remote_id}", f"Reader {remote_id}"), text, at)
    inbox.ingest_events(
        channel.pk, [Event(EventKind.COMMENT_NEW, remote_id, channel.remote_id, at, comment=comment)]
    )
    return InboxItem.objects.get(channel=channel, remote_id=remote_id).pk


@pytest.fixture
def team(make_workspace, make_user):
    owner, moderator, analyst = make_user("owner@example.com"), make_user("mod@example.com"), make_user()
    ws = make_workspace("Coffee", owner=owner, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.add_member(actor, moderator.email, "moderator")
    accounts.add_member(actor, analyst.email, "analyst")
    channel = connect(ws, telegram_testing.channel_for(NOWHERE), name="Coffee TG")
    return {
        "ws": ws,
        "channel": channel,
        "owner": actor,
        "moderator": accounts.actor_for_user(moderator, ws),
        "analyst": accounts.actor_for_user(analyst, ws),
        "moderator_user": moderator,
    }


def test_bulk_changes_what_it_may_and_names_what_it_may_not(team, make_workspace):
    now = clock.now()
    mine = [
        _comment(team["channel"], str(n), f"Question {n}", now - dt.timedelta(minutes=n)) for n in range(3)
    ]
    other_ws = make_workspace("Elsewhere")
    stranger = connect(other_ws, telegram_testing.channel_for(NOWHERE), name="Theirs")
    theirs = _comment(stranger, "77", "Not yours", now)

    result = inbox.bulk_apply(team["moderator"], [*mine, theirs, mine[0]], "done")
    assert result.done == mine  # each once, in the order asked
    assert [(f.item_id, f.status) for f in result.failed] == [(theirs, 404)]
    assert set(InboxItem.objects.filter(pk__in=mine).values_list("status", flat=True)) == {"done"}
    assert InboxItem.objects.get(pk=theirs).status == "new"  # another workspace's item is untouched
    audit = AuditEntry.objects.filter(workspace=team["ws"])
    assert audit.filter(action="inbox.status").count() == 3  # one entry per item, as if alone
    assert audit.filter(action="inbox.bulk").count() == 1

    assigned = inbox.bulk_apply(team["owner"], mine[:2], "assign", user_id=team["moderator_user"].pk)
    assert assigned.done == mine[:2]
    assert (
        list(InboxItem.objects.filter(pk__in=mine[:2]).values_list("assigned_to_id", flat=True))
        == [team["moderator_user"].pk] * 2
    )
    to_nobody = inbox.bulk_apply(team["owner"], mine[:2], "assign", user_id=None)
    assert to_nobody.done == mine[:2] and not InboxItem.objects.filter(assigned_to__isnull=False).exists()

    with pytest.raises(inbox.InboxError) as refused:
        inbox.bulk_apply(team["analyst"], mine, "done")  # the analyst's role may not act on the inbox
    assert refused.value.status == 403
    with pytest.raises(inbox.InboxError):
        inbox.bulk_apply(team["owner"], mine, "status", status="answered")  # not a status a person sets
    with pytest.raises(inbox.InboxError):
        inbox.bulk_apply(team["owner"], [], "done")
    outsider = inbox.bulk_apply(team["owner"], mine[:1], "assign", user_id=team["analyst"].user_id + 999)
    assert outsider.done == [] and outsider.failed[0].status == 422


def test_pages_neither_repeat_nor_skip_when_new_items_arrive(team):
    now = clock.now()
    ids = [_comment(team["channel"], str(n), f"Comment {n}", now - dt.timedelta(minutes=n)) for n in range(7)]
    seen: list[int] = []
    page = inbox.page_items(team["ws"].pk, inbox.Filters(), limit=3)
    seen += [i.pk for i in page.items]
    _comment(team["channel"], "new-1", "Arrived while paging", now + dt.timedelta(seconds=1))
    while page.next_cursor:
        page = inbox.page_items(team["ws"].pk, inbox.Filters(), after=page.next_cursor, limit=3)
        seen += [i.pk for i in page.items]
    assert seen == ids  # newest first, every one exactly once; the newcomer waits for the top

    with pytest.raises(inbox.InboxError) as bad:
        inbox.page_items(team["ws"].pk, inbox.Filters(), after="not-a-cursor")
    assert bad.value.status == 422


def test_pages_in_urgent_order(team):
    now = clock.now()
    ids = [_comment(team["channel"], str(n), f"Comment {n}", now - dt.timedelta(minutes=n)) for n in range(6)]
    InboxItem.objects.filter(pk__in=[ids[4], ids[5]]).update(label="complaint")
    InboxItem.objects.filter(pk=ids[3]).update(label="question")
    every = [i.pk for i in inbox.list_items(team["ws"].pk, inbox.Filters(urgent_first=True))]
    assert every[:3] == [ids[4], ids[5], ids[3]]
    seen: list[int] = []
    cursor = ""
    while True:
        page = inbox.page_items(team["ws"].pk, inbox.Filters(urgent_first=True), after=cursor, limit=2)
        seen += [i.pk for i in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == every


def test_days_are_the_workspaces_days(team):
    # 21:30 UTC on 1 March is 00:30 on 2 March in Moscow (UTC+3).
    late = _comment(
        team["channel"], "1", "Just after midnight", dt.datetime(2026, 3, 1, 21, 30, tzinfo=dt.UTC)
    )
    early = _comment(team["channel"], "2", "Evening", dt.datetime(2026, 3, 1, 20, 30, tzinfo=dt.UTC))
    start, end = inbox.day_bounds(team["ws"].pk, dt.date(2026, 3, 2), dt.date(2026, 3, 2))
    found = inbox.list_items(team["ws"].pk, inbox.Filters(occurred_from=start, occurred_before=end))
    assert [i.pk for i in found] == [late]
    start, end = inbox.day_bounds(team["ws"].pk, None, dt.date(2026, 3, 1))
    assert [i.pk for i in inbox.list_items(team["ws"].pk, inbox.Filters(occurred_before=end))] == [early]
    with pytest.raises(inbox.InboxError):
        inbox.day_bounds(team["ws"].pk, dt.date(2026, 3, 2), dt.date(2026, 3, 1))


def test_saved_views_personal_and_shared(team):
    owner, moderator = team["owner"], team["moderator"]
    mine = inbox.save_view(
        moderator, "  My   complaints ", {"label": "complaint", "unanswered": "1", "junk": "x"}
    )
    assert mine.name == "My complaints" and mine.filters == {"label": "complaint", "unanswered": "1"}
    with pytest.raises(inbox.InboxError) as no_share:
        inbox.save_view(moderator, "For all", {}, shared=True)  # a moderator is not a manager
    assert no_share.value.status == 403
    shared = inbox.save_view(owner, "Waiting on VK", {"network": "vk", "unanswered": "1"}, shared=True)
    assert [v.name for v in inbox.saved_views(moderator)] == ["My complaints", "Waiting on VK"]
    assert [v.name for v in inbox.saved_views(owner)] == ["Waiting on VK"]  # a personal view stays personal
    with pytest.raises(inbox.InboxError) as hidden:
        inbox.get_view(owner, mine.id)
    assert hidden.value.status == 404
    with pytest.raises(inbox.InboxError) as taken:
        inbox.save_view(moderator, "my complaints", {})
    assert taken.value.status == 409
    with pytest.raises(inbox.InboxError) as not_theirs:
        inbox.rename_view(moderator, shared.id, "Mine now")
    assert not_theirs.value.status == 403
    assert inbox.rename_view(moderator, mine.id, "Complaints").name == "Complaints"
    inbox.delete_view(owner, shared.id)
    assert [v.name for v in inbox.saved_views(moderator)] == ["Complaints"]
    actions = set(AuditEntry.objects.filter(workspace=team["ws"]).values_list("action", flat=True))
    assert {"inbox.view_save", "inbox.view_rename", "inbox.view_delete"} <= actions


def test_the_assignee_is_told_unless_they_took_it_themselves(team):
    item = _comment(team["channel"], "1", "Where is my order?", clock.now())
    moderator = team["moderator_user"]
    inbox.assign(team["owner"], item, moderator.pk)
    (note,) = Notification.objects.filter(user=moderator)
    assert note.kind == inbox.ASSIGNED_EVENT and note.link == f"/inbox/{item}/"
    assert "Where is my order?" in note.body and "owner@example.com" in note.body
    assert not Notification.objects.exclude(user=moderator).exists()  # nobody else is told
    inbox.assign(team["owner"], item, moderator.pk)  # no change: no second notification
    inbox.assign(team["moderator"], item, None)
    inbox.assign(team["moderator"], item, moderator.pk)  # taking it oneself tells nobody
    assert Notification.objects.count() == 1
