"""The audit trail as people read it: every recorded action has its sentence, the filters (who,
action, object, dates in the workspace's zone, words) narrow only this workspace's entries,
pages walk by (time, id) without shifting, and the CSV streams the same entries, formula-safe."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import io
import pathlib
from typing import Any

import pytest

from rupor.accounts import audit
from rupor.accounts import service as accounts
from rupor.accounts.models import AuditEntry, User, Workspace
from rupor.accounts.roles import Role
from rupor.core import clock
from rupor.planning.models import Review

pytestmark = pytest.mark.django_db

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _recorded_actions() -> dict[str, str]:
    """Every literal action code passed to ``record(...)`` in the sources -> where."""
    found: dict[str, str] = {}
    for path in ROOT.rglob("*.py"):
        if path.name.startswith("test_") or "networks" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            # publishing audits its one-click fixes through _audit; two-factor sign-in records in
            # every workspace of the person through _record_everywhere (the action comes second).
            position = {"record": 2, "_audit": 2, "_record_everywhere": 1}.get(name)
            if position is None or len(node.args) <= position:
                continue
            arg = node.args[position]
            codes: list[str] = []
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                codes = [arg.value]
            elif isinstance(arg, ast.IfExp):
                codes = [
                    c.value
                    for c in (arg.body, arg.orelse)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                ]
            for code in codes:
                found[code] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_action_the_code_records_has_a_sentence_for_people() -> None:
    recorded = _recorded_actions()
    assert len(recorded) > 60, "the scan found too few record() calls: it no longer reads the sources"
    # Written from the review's decision (f"post.review.{decision}"), not as literals.
    recorded.update({f"post.review.{d}": "planning/approvals.py" for d in Review.Decision.values})
    missing = {code: where for code, where in recorded.items() if code not in audit.ACTIONS}
    assert not missing, f"actions without a sentence in accounts/audit.py ACTIONS: {missing}"
    # …and the registry names nothing the code never records (a typo would never match a filter).
    stale = set(audit.ACTIONS) - set(recorded)
    assert not stale, stale


def _actor(user: User, ws: Workspace) -> accounts.Actor:
    found = accounts.actor_for_user(user, ws)
    assert found is not None
    return found


@pytest.fixture
def team(make_user: Any, make_workspace: Any) -> dict[str, Any]:
    clock.freeze(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))
    owner = make_user("olga@example.com")
    owner.name = "Olga"
    owner.save()
    ws = make_workspace(owner=owner, timezone="Europe/Moscow")  # UTC+3, no DST
    actor = _actor(owner, ws)
    editor = make_user("eddie@example.com")
    accounts.add_member(actor, editor.email, "editor")
    key = accounts.create_api_key(actor, ws, "manager", name="Zapier")
    key_actor = accounts.authenticate_api_key(key.key)
    assert key_actor is not None
    return {"ws": ws, "owner": owner, "editor": editor, "actor": actor, "key": key, "key_actor": key_actor}


def test_an_api_key_is_named_on_its_entries_and_filtered_apart_from_people(team: dict[str, Any]) -> None:
    ws, key = team["ws"], team["key"]
    accounts.record(ws.pk, team["key_actor"], "rubric.create", "rubric", 7, "News")
    entry = AuditEntry.objects.get(action="rubric.create")
    assert entry.api_key_id == key.id and entry.actor_id is None
    view = audit.view(entry)
    assert view.actor_kind == "api_key" and "Zapier" in view.actor and key.prefix in view.actor

    by_key = audit.page(ws.pk, audit.parse_filters({"who": f"key:{key.id}"})).entries
    assert [e.action for e in by_key] == ["rubric.create"]
    by_owner = audit.page(ws.pk, audit.parse_filters({"who": f"user:{team['owner'].pk}"})).entries
    assert {e.action for e in by_owner} == {"workspace.create", "member.add", "apikey.create"}
    # Revoking the key keeps it named on what it did.
    accounts.revoke_api_key(team["actor"], key.id)
    assert "Zapier" in audit.view(AuditEntry.objects.get(action="rubric.create")).actor
    choices = {c.value: c.label for c in audit.who_choices(ws.pk)}
    assert "revoked" in choices[f"key:{key.id}"]
    assert choices[f"user:{team['owner'].pk}"] == "Olga <olga@example.com>"
    assert audit.SYSTEM in choices


def test_what_rupor_did_by_itself_is_its_own_actor(team: dict[str, Any]) -> None:
    ws = team["ws"]
    accounts.record(ws.pk, None, "giveaway.close", "giveaway", 3, "closed at its end time")
    found = audit.page(ws.pk, audit.parse_filters({"who": "system"})).entries
    assert [(e.action, e.actor_kind) for e in found] == [("giveaway.close", "system")]
    assert found[0].actor == "Rupor (automatic)"


def test_filters_by_action_group_object_and_words(team: dict[str, Any]) -> None:
    ws, actor = team["ws"], team["actor"]
    accounts.record(ws.pk, actor, "post.create", "post", 11, "draft: Spring sale")
    accounts.record(ws.pk, actor, "post.delete", "post", 12, "Old news")
    accounts.record(ws.pk, actor, "channel.connect", "channel", 5, "Acme VK")

    def actions(**raw: str) -> list[str]:
        return [e.action for e in audit.page(ws.pk, audit.parse_filters(raw)).entries]

    assert actions(action="post.delete") == ["post.delete"]
    assert actions(action="post.*") == ["post.delete", "post.create"]
    assert actions(object_type="channel") == ["channel.connect"]
    assert actions(object_type="post", object_id="11") == ["post.create"]
    assert actions(q="spring") == ["post.create"]
    assert actions(q="SPRING draft") == ["post.create"]  # every word, any case
    assert actions(q="eddie") == ["member.add"]  # the summary names the member added
    assert actions(q="olga spring") == ["post.create"]  # the actor's email counts as words too
    assert actions(q="nothing-like-this") == []


def test_dates_are_days_of_the_workspace_zone_both_included(team: dict[str, Any]) -> None:
    ws, actor = team["ws"], team["actor"]
    AuditEntry.objects.all().delete()
    # 20:59 and 21:00 UTC on March 11 are 23:59 on the 11th and 00:00 on the 12th in Moscow.
    for minute, name in ((59, "late"), (60, "next day")):
        clock.freeze(dt.datetime(2026, 3, 11, 20, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=minute))
        accounts.record(ws.pk, actor, "rubric.update", "rubric", 1, name)

    def summaries(**raw: str) -> list[str]:
        return [e.summary for e in audit.page(ws.pk, audit.parse_filters(raw)).entries]

    assert summaries(**{"from": "2026-03-11", "to": "2026-03-11"}) == ["late"]
    assert summaries(**{"from": "2026-03-12"}) == ["next day"]
    assert summaries(to="2026-03-12") == ["next day", "late"]
    with pytest.raises(audit.AuditError) as refused:
        audit.parse_filters({"from": "2026-03-12", "to": "2026-03-11"})
    assert refused.value.field == "to"
    with pytest.raises(audit.AuditError) as refused:
        audit.parse_filters({"from": "12.03.2026"})
    assert refused.value.field == "from" and "2026-05-31" in refused.value.message


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"who": "user:abc"}, "who"),
        ({"who": "admin"}, "who"),
        ({"action": "post.delete'; drop table"}, "action"),
        ({"object_type": "POST"}, "object_type"),
        ({"q": "x" * 201}, "q"),
        ({"object_id": "9" * 41}, "object_id"),
        ({"from": "0001-01-01"}, "from"),  # its start in the zone is before the first date
        ({"to": "9999-12-31"}, "to"),
    ],
)
def test_a_filter_that_cannot_be_one_is_refused_with_its_field(raw: dict[str, str], field: str) -> None:
    with pytest.raises(audit.AuditError) as refused:
        audit.parse_filters(raw)
    assert refused.value.field == field


def test_another_workspaces_entries_never_appear(
    team: dict[str, Any], make_workspace: Any, make_user: Any
) -> None:
    other = make_workspace("Other", owner=make_user("stranger@example.com"))
    accounts.record(other.pk, None, "post.delete", "post", 99, "Their post")
    mine = audit.page(team["ws"].pk, audit.Filters()).entries
    assert all(e.summary != "Their post" for e in mine)
    assert all(e.object_id != "99" for e in mine)
    # Not even by naming their person: the filter narrows, it never widens.
    theirs = other.memberships.get().user_id
    assert audit.page(team["ws"].pk, audit.parse_filters({"who": f"user:{theirs}"})).entries == []
    assert not any("Their post" in line for line in audit.csv_lines(team["ws"].pk, audit.Filters()))


def test_pages_walk_older_and_newer_without_shifting_when_entries_arrive(team: dict[str, Any]) -> None:
    ws, actor = team["ws"], team["actor"]
    AuditEntry.objects.all().delete()
    start = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
    for n in range(7):
        # Two entries share each moment: the id breaks the tie.
        clock.freeze(start + dt.timedelta(minutes=n // 2))
        accounts.record(ws.pk, actor, "rubric.update", "rubric", n, f"e{n}")
    first = audit.page(ws.pk, audit.Filters(), limit=3)
    assert [e.summary for e in first.entries] == ["e6", "e5", "e4"] and first.older and not first.newer
    clock.freeze(start + dt.timedelta(hours=1))
    accounts.record(ws.pk, actor, "rubric.update", "rubric", 99, "arrived meanwhile")
    second = audit.page(ws.pk, audit.Filters(), before=first.older, limit=3)
    assert [e.summary for e in second.entries] == ["e3", "e2", "e1"]
    third = audit.page(ws.pk, audit.Filters(), before=second.older, limit=3)
    assert [e.summary for e in third.entries] == ["e0"] and not third.older and third.newer
    back = audit.page(ws.pk, audit.Filters(), after=second.newer, limit=3)
    assert [e.summary for e in back.entries] == ["e6", "e5", "e4"]
    assert back.newer  # the entry that arrived meanwhile is newer still
    newest = audit.page(ws.pk, audit.Filters(), after=back.newer, limit=3)
    assert [e.summary for e in newest.entries] == ["arrived meanwhile"]
    with pytest.raises(audit.AuditError):
        audit.page(ws.pk, audit.Filters(), before="not-a-cursor")
    with pytest.raises(audit.AuditError):
        audit.page(ws.pk, audit.Filters(), limit=audit.MAX_PAGE + 1)


def _csv(lines: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines))))


def test_the_csv_streams_the_filtered_entries_in_batches_and_neutralises_formulas(
    team: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, actor = team["ws"], team["actor"]
    monkeypatch.setattr(audit, "EXPORT_BATCH", 2)
    AuditEntry.objects.all().delete()
    for n in range(5):
        clock.freeze(dt.datetime(2026, 3, 10, 9, n, tzinfo=dt.UTC))
        accounts.record(ws.pk, actor, "post.update", "post", n, f'=HYPERLINK("http://evil","{n}")')
    accounts.record(ws.pk, actor, "channel.update", "channel", 1, "+7 999 call me")
    lines = audit.csv_lines(ws.pk, audit.parse_filters({"action": "post.*"}), language="en")
    assert not isinstance(lines, list)  # a generator: the trail is streamed, not built in memory
    rows = _csv(lines)
    header, body = rows[0], rows[1:]
    assert header[0] == "Time (Europe/Moscow)" and header[5] == "Action code"
    assert [r[7] for r in body] == ["4", "3", "2", "1", "0"]  # every batch, newest first
    assert all(r[8].startswith("'=HYPERLINK") for r in body)
    assert body[0][0] == "2026-03-10 12:04:00" and body[0][1] == "2026-03-10T09:04:00Z"
    assert body[0][2] == "Olga <olga@example.com>" and body[0][4] == "Changed a post"
    everything = _csv(audit.csv_lines(ws.pk, audit.Filters(), language="en"))
    assert everything[1][8] == "'+7 999 call me"


def test_the_csv_speaks_the_language_asked_for(team: dict[str, Any]) -> None:
    rows = _csv(audit.csv_lines(team["ws"].pk, audit.parse_filters({"action": "member.add"}), language="ru"))
    assert rows[0][2] == "Кто"
    assert rows[1][4] == "Добавлен участник"
    rows = _csv(audit.csv_lines(team["ws"].pk, audit.parse_filters({"action": "member.add"}), language="ko"))
    assert rows[0][2] == "수행자"


def test_a_client_deciding_through_a_review_link_is_named_on_the_entry(team: dict[str, Any]) -> None:
    ws = team["ws"]
    client = accounts.Actor(ws.pk, Role.CLIENT, label="client link (Board)")
    accounts.record(ws.pk, client, "post.review.approved", "post", 1, "client approved: x")
    found = audit.page(ws.pk, audit.parse_filters({"action": "post.review.approved"})).entries
    assert found[0].actor_kind == "person" and found[0].actor == "client link (Board)"
