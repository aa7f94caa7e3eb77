"""Approvals, queue slots (DST included), rubrics, the mix meter, gaps and the ideas backlog."""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.accounts.models import AuditEntry, Workspace
from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.planning import approvals, slots
from rupor.planning import service as planning
from rupor.planning.models import Post
from rupor.planning.service import PlanningError
from rupor.publishing.models import PublicationTarget

pytestmark = pytest.mark.django_db

FUTURE = "2099-06-15T10:00:00"


def _channel(ws, network="telegram", name="TG", **extra):
    return Channel.objects.create(workspace=ws, network=network, name=name, remote_id=f"{name}-id", **extra)


def _draft(api, channel, **extra):
    body = {"text": "Hello", "variants": [{"channel_id": channel.pk}], "scheduled_at": FUTURE}
    body.update(extra)
    res = api.post("/posts", body)
    assert res.status_code == 201, res.content
    return res.json()["id"]


def _targets(post_id):
    return list(PublicationTarget.objects.filter(variant__post_id=post_id).values_list("state", flat=True))


# -- approvals ----------------------------------------------------------------------------


def test_internal_and_client_approval_through_a_magic_link(make_workspace, api_for):
    ws = make_workspace()
    ws.approval = Workspace.Approval.CLIENT
    ws.save()
    channel = _channel(ws)
    editor, manager, client = api_for(ws, "editor"), api_for(ws, "manager"), api_for(ws, "client")
    post_id = _draft(editor, channel)

    assert (
        editor.post(f"/posts/{post_id}/approve", {}).status_code == 403
    )  # not yet in review, and not a reviewer
    res = editor.post(f"/posts/{post_id}/submit", {"comment": "please check"})
    assert res.status_code == 200, res.content
    assert res.json()["status"] == "in_review"
    for who in (editor, client):
        res = who.post(f"/posts/{post_id}/approve", {})
        assert res.status_code == 403 and res.json()["detail"]
    res = manager.post(f"/posts/{post_id}/approve", {"comment": "fine"})
    assert res.json()["status"] == "client_review"
    assert _targets(post_id) == ["draft"]  # not scheduled before the client approves

    res = manager.post("/plan/client-links", {"post_id": post_id, "expires_in_hours": 48})
    assert res.status_code == 201, res.content
    url = res.json()["url"]
    assert "/review/" in url and res.json()["post_ids"] == [post_id]
    token = url.rsplit("/", 1)[1]
    link = approvals.find_client_link(token)
    assert link is not None and link.post_ids == (post_id,)
    assert approvals.find_client_link("nope") is None
    with pytest.raises(PlanningError) as exc:
        approvals.client_decide(token, "maybe")
    assert exc.value.field == "decision"
    post = approvals.client_decide(token, "approve", "Looks great")
    assert post.status == Post.Status.SCHEDULED
    assert _targets(post_id) == ["scheduled"]

    history = manager.get(f"/posts/{post_id}/reviews").json()
    assert [(r["stage"], r["decision"]) for r in history] == [
        ("internal", "submitted"),
        ("internal", "approved"),
        ("client", "approved"),
    ]
    assert history[2]["comment"] == "Looks great" and history[2]["actor"] == approvals.CLIENT_LABEL
    actions = set(AuditEntry.objects.filter(workspace=ws).values_list("action", flat=True))
    assert {"post.review.submitted", "post.review.approved", "post.review.link"} <= actions
    # A decided post cannot be decided again through the link.
    with pytest.raises(PlanningError) as exc:
        approvals.client_decide(token, "reject")
    assert exc.value.status == 409


def test_client_link_expires_and_period_links(make_workspace, api_for):
    ws = make_workspace()
    ws.approval = Workspace.Approval.CLIENT
    ws.save()
    channel = _channel(ws)
    manager = api_for(ws, "manager")
    ids = [_draft(manager, channel, scheduled_at=f"2099-06-1{d}T10:00:00") for d in (1, 2)]
    for post_id in ids:
        assert manager.post(f"/posts/{post_id}/submit", {}).status_code == 200
        assert manager.post(f"/posts/{post_id}/approve", {}).json()["status"] == "client_review"
    res = manager.post("/plan/client-links", {"start": "2099-06-01T00:00:00", "end": "2099-07-01T00:00:00"})
    token = res.json()["url"].rsplit("/", 1)[1]
    assert sorted(res.json()["post_ids"]) == sorted(ids)
    with pytest.raises(PlanningError):
        approvals.client_decide(token, "approve")  # a period link needs the post
    post = approvals.client_decide(token, "request_changes", "Other photo, please", post_id=ids[0])
    assert post.status == Post.Status.CHANGES_REQUESTED
    with pytest.raises(PlanningError) as exc:
        approvals.client_decide(token, "request_changes", "", post_id=ids[1])
    assert exc.value.field == "comment"
    clock.advance(dt.timedelta(days=8))
    assert approvals.find_client_link(token) is None
    with pytest.raises(PlanningError) as exc:
        approvals.client_decide(token, "approve", post_id=ids[1])
    assert exc.value.status == 404


def test_client_account_reviews_and_other_roles_cannot(make_workspace, api_for):
    ws = make_workspace()
    ws.approval = Workspace.Approval.CLIENT
    ws.save()
    channel = _channel(ws)
    manager, client, editor = api_for(ws, "manager"), api_for(ws, "client"), api_for(ws, "editor")
    post_id = _draft(manager, channel)
    manager.post(f"/posts/{post_id}/submit", {})
    manager.post(f"/posts/{post_id}/approve", {})
    assert editor.post(f"/posts/{post_id}/client-review", {"decision": "approve"}).status_code == 403
    assert manager.post(f"/posts/{post_id}/client-review", {"decision": "approve"}).status_code == 403
    assert client.post("/posts", {"text": "x"}).status_code == 403  # clients never write posts
    assert client.post(f"/posts/{post_id}/submit", {}).status_code == 403
    bad = client.post(f"/posts/{post_id}/client-review", {"decision": "perhaps"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "decision"
    res = client.post(f"/posts/{post_id}/client-review", {"decision": "reject", "comment": "Off-brand"})
    assert res.status_code == 200 and res.json()["status"] == "rejected"


def test_reviewers_request_changes_with_comment_and_reject(make_workspace, api_for):
    ws = make_workspace()
    ws.approval = Workspace.Approval.INTERNAL
    ws.save()
    channel = _channel(ws)
    editor, manager = api_for(ws, "editor"), api_for(ws, "manager")
    post_id = _draft(editor, channel)
    editor.post(f"/posts/{post_id}/submit", {})
    res = manager.post(f"/posts/{post_id}/request-changes", {"comment": ""})
    assert res.status_code == 400 and res.json()["errors"][0]["field"] == "comment"
    res = manager.post(f"/posts/{post_id}/request-changes", {"comment": "Shorter, please"})
    assert res.json()["status"] == "changes_requested"
    assert editor.post(f"/posts/{post_id}/submit", {}).json()["status"] == "in_review"
    res = manager.post(f"/posts/{post_id}/approve", {})
    assert res.json()["status"] == "scheduled"  # internal mode: approval schedules a post with a future time
    assert _targets(post_id) == ["scheduled"]
    # Another workspace sees nothing.
    other = api_for(make_workspace("Other"), "owner")
    assert other.post(f"/posts/{post_id}/reject", {}).status_code == 404
    assert other.get(f"/posts/{post_id}/reviews").status_code == 404


def test_scheduling_in_an_approval_workspace(make_workspace, api_for):
    ws = make_workspace()
    ws.approval = Workspace.Approval.INTERNAL
    ws.save()
    channel = _channel(ws)
    manager = api_for(ws, "manager")
    # A reviewer scheduling a post approves it by doing so (recorded).
    res = manager.post(
        "/posts",
        {
            "text": "Hi",
            "status": "scheduled",
            "scheduled_at": FUTURE,
            "variants": [{"channel_id": channel.pk}],
        },
    )
    assert res.status_code == 201 and res.json()["status"] == "scheduled"
    post_id = res.json()["id"]
    assert [r["decision"] for r in manager.get(f"/posts/{post_id}/reviews").json()] == ["approved"]
    # Client mode: the manager's scheduling is the internal approval; the client still decides.
    ws.approval = Workspace.Approval.CLIENT
    ws.save()
    res = manager.post(
        "/posts",
        {
            "text": "Hi",
            "status": "scheduled",
            "scheduled_at": FUTURE,
            "variants": [{"channel_id": channel.pk}],
        },
    )
    assert res.json()["status"] == "client_review"
    assert _targets(res.json()["id"]) == ["draft"]
    # Changing the content of a client-approved post sends it back to the client.
    token = approvals.client_link_for(
        Actor(ws.pk, Role.MANAGER, label="m"), post_id=res.json()["id"]
    ).url.rsplit("/", 1)[1]
    approvals.client_decide(token, "approve")
    changed = manager.patch(f"/posts/{res.json()['id']}", {"text": "Changed"})
    assert changed.json()["status"] == "client_review"
    # No approval mode: submitting makes no sense and says so.
    ws.approval = Workspace.Approval.NONE
    ws.save()
    draft = _draft(manager, channel)
    res = manager.post(f"/posts/{draft}/submit", {})
    assert res.status_code == 409 and "no approval" in res.json()["detail"]


def _waiting_for_client(ws, editor, manager, channel):
    post_id = _draft(editor, channel)
    assert editor.post(f"/posts/{post_id}/submit", {}).status_code == 200
    assert manager.post(f"/posts/{post_id}/approve", {}).json()["status"] == "client_review"
    token = approvals.client_link_for(Actor(ws.pk, Role.MANAGER, label="m"), post_id=post_id).url.rsplit(
        "/", 1
    )[1]
    return post_id, token


def _client_workspace(make_workspace):
    ws = make_workspace()
    ws.approval = Workspace.Approval.CLIENT
    ws.save()
    return ws


@pytest.mark.parametrize("change", [{"text": "Sneaky"}, {"title": "New title"}, "link"])
def test_an_editor_change_while_the_client_reviews_sends_the_post_back(make_workspace, api_for, change):
    """Approved means approved: the client never approves content the reviewer did not see."""
    ws = _client_workspace(make_workspace)
    channel = _channel(ws)
    editor, manager = api_for(ws, "editor"), api_for(ws, "manager")
    post_id, token = _waiting_for_client(ws, editor, manager, channel)
    body = (
        change
        if isinstance(change, dict)
        else {"variants": [{"channel_id": channel.pk, "link": "https://example.com/x"}]}
    )
    res = editor.patch(f"/posts/{post_id}", body)
    assert res.status_code == 200, res.content
    assert res.json()["status"] == "in_review"
    with pytest.raises(PlanningError) as exc:
        approvals.client_decide(token, "approve")
    assert exc.value.status == 409
    assert Post.objects.get(pk=post_id).status == Post.Status.IN_REVIEW
    assert _targets(post_id) == ["draft"]
    history = [
        (r["stage"], r["decision"], r["comment"]) for r in manager.get(f"/posts/{post_id}/reviews").json()
    ]
    assert history[-1][:2] == ("internal", "submitted") and "waiting for the client" in history[-1][2]
    # The reviewer approves the new content; the client then approves what they are shown.
    assert manager.post(f"/posts/{post_id}/approve", {}).json()["status"] == "client_review"
    assert approvals.client_decide(token, "approve").status == Post.Status.SCHEDULED


def test_saving_unchanged_content_keeps_the_client_review(make_workspace, api_for):
    ws = _client_workspace(make_workspace)
    channel = _channel(ws)
    editor, manager = api_for(ws, "editor"), api_for(ws, "manager")
    post_id, token = _waiting_for_client(ws, editor, manager, channel)
    res = editor.patch(f"/posts/{post_id}", {"text": "Hello", "notes": "internal note"})
    assert res.json()["status"] == "client_review"
    assert approvals.client_decide(token, "approve").status == Post.Status.SCHEDULED


def test_a_reviewer_change_while_the_client_reviews_is_their_approval_again(make_workspace, api_for):
    ws = _client_workspace(make_workspace)
    channel = _channel(ws)
    editor, manager = api_for(ws, "editor"), api_for(ws, "manager")
    post_id, _token = _waiting_for_client(ws, editor, manager, channel)
    res = manager.patch(f"/posts/{post_id}", {"text": "Better"})
    assert res.json()["status"] == "client_review"
    decisions = [(r["decision"], r["comment"]) for r in manager.get(f"/posts/{post_id}/reviews").json()]
    assert decisions[-1][0] == "approved" and "changed it" in decisions[-1][1]


def test_the_client_cannot_approve_content_that_changed_after_they_looked(make_workspace, api_for):
    ws = _client_workspace(make_workspace)
    channel = _channel(ws)
    editor, manager, client = api_for(ws, "editor"), api_for(ws, "manager"), api_for(ws, "client")
    post_id, token = _waiting_for_client(ws, editor, manager, channel)
    seen = client.get(f"/posts/{post_id}").json()["content_fingerprint"]
    assert seen
    # While the client reads, a reviewer changes the text (it stays with the client).
    assert (
        manager.patch(f"/posts/{post_id}", {"text": "Changed meanwhile"}).json()["status"] == "client_review"
    )
    res = client.post(f"/posts/{post_id}/client-review", {"decision": "approve", "fingerprint": seen})
    assert res.status_code == 409 and "changed after you opened it" in res.json()["detail"]
    with pytest.raises(PlanningError) as exc:
        approvals.client_decide(token, "approve", seen=seen)
    assert exc.value.status == 409
    assert Post.objects.get(pk=post_id).status == Post.Status.CLIENT_REVIEW
    fresh = client.get(f"/posts/{post_id}").json()["content_fingerprint"]
    res = client.post(f"/posts/{post_id}/client-review", {"decision": "approve", "fingerprint": fresh})
    assert res.status_code == 200 and res.json()["plan_status"] == "scheduled"


def test_a_reviewer_cannot_approve_content_that_changed_after_they_looked(make_workspace, api_for):
    ws = make_workspace()
    ws.approval = Workspace.Approval.INTERNAL
    ws.save()
    channel = _channel(ws)
    editor, manager = api_for(ws, "editor"), api_for(ws, "manager")
    post_id = _draft(editor, channel)
    editor.post(f"/posts/{post_id}/submit", {})
    seen = manager.get(f"/posts/{post_id}").json()["content_fingerprint"]
    editor.patch(f"/posts/{post_id}", {"text": "Edited after submitting"})
    res = manager.post(f"/posts/{post_id}/approve", {"fingerprint": seen})
    assert res.status_code == 409
    assert Post.objects.get(pk=post_id).status == Post.Status.IN_REVIEW


@pytest.mark.parametrize(
    "status", ["approved", "client_review", "in_review", "changes_requested", "rejected"]
)
def test_an_edit_never_sets_a_review_status(make_workspace, api_for, status):
    """Without this, an editor could mark their own post approved and skip every reviewer."""
    ws = _client_workspace(make_workspace)
    channel = _channel(ws)
    editor = api_for(ws, "editor")
    post_id = _draft(editor, channel)
    for role, code in ((Role.EDITOR, 403), (Role.MANAGER, 409)):
        assert api_for(ws, role.value).patch(f"/posts/{post_id}", {"status": status}).status_code in (
            403,
            409,
            422,
        )
        with pytest.raises(PlanningError) as exc:
            planning.update_post(
                Actor(ws.pk, role, label=role.value), post_id, planning.PostInput(status=status), {"status"}
            )
        assert exc.value.status == code and exc.value.field == "status"
    assert Post.objects.get(pk=post_id).status == Post.Status.DRAFT


# -- queue slots --------------------------------------------------------------------------


def test_queue_slots_keep_local_time_across_dst(make_workspace, api_for):
    ws = make_workspace(timezone="Europe/Berlin")
    channel = _channel(ws)
    manager = api_for(ws, "manager")
    res = manager.post("/queue/slots", {"channel_id": channel.pk, "weekday": "monday", "time": "10:00"})
    assert res.status_code == 201, res.content
    assert (
        manager.post("/queue/slots", {"channel_id": channel.pk, "weekday": 0, "time": "10:00"}).status_code
        == 409
    )
    clock.freeze(dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC))  # Friday, winter time (UTC+1)
    nxt = manager.get("/queue/next", channel_id=channel.pk).json()
    assert nxt["at"].startswith("2026-03-23T09:00:00") and nxt["at_local"].startswith(
        "2026-03-23T10:00:00+01:00"
    )
    clock.freeze(dt.datetime(2026, 3, 27, 12, 0, tzinfo=dt.UTC))  # clocks go forward on Sunday 29 March
    nxt = manager.get("/queue/next", channel_id=channel.pk).json()
    assert nxt["at"].startswith("2026-03-30T08:00:00") and nxt["at_local"].startswith(
        "2026-03-30T10:00:00+02:00"
    )
    # A slot inside the spring-forward gap moves forward by the gap.
    assert slots.slot_instant(dt.date(2026, 3, 29), dt.time(2, 30), "Europe/Berlin") == dt.datetime(
        2026, 3, 29, 1, 30, tzinfo=dt.UTC
    )
    # And back in autumn: 10:00 local is 09:00 UTC again.
    assert slots.slot_instant(dt.date(2026, 11, 2), dt.time(10, 0), "Europe/Berlin") == dt.datetime(
        2026, 11, 2, 9, 0, tzinfo=dt.UTC
    )


def test_add_to_queue_takes_the_next_free_slot(make_workspace, api_for):
    ws = make_workspace(timezone="Europe/Moscow")
    tg, vk = _channel(ws), _channel(ws, "vk", "VK")
    manager, editor = api_for(ws, "manager"), api_for(ws, "editor")
    clock.freeze(dt.datetime(2030, 1, 7, 5, 0, tzinfo=dt.UTC))  # Monday 08:00 Moscow
    for day, time in ((0, "09:00"), (0, "18:00")):
        assert (
            manager.post("/queue/slots", {"channel_id": tg.pk, "weekday": day, "time": time}).status_code
            == 201
        )
    assert (
        manager.post("/queue/slots", {"channel_id": vk.pk, "weekday": 1, "time": "12:00"}).status_code == 201
    )
    assert (
        editor.post("/queue/slots", {"channel_id": vk.pk, "weekday": 2, "time": "12:00"}).status_code == 403
    )
    first = manager.post(
        "/posts", {"text": "One", "variants": [{"channel_id": tg.pk}, {"channel_id": vk.pk}]}
    ).json()["id"]
    res = manager.post(f"/posts/{first}/queue", {})
    assert res.status_code == 200, res.content
    assert res.json()["status"] == "scheduled" and res.json()["scheduled_at_local"].startswith(
        "2030-01-07T09:00:00+03:00"
    )
    second = manager.post("/posts", {"text": "Two", "variants": [{"channel_id": tg.pk}]}).json()["id"]
    assert (
        manager.post(f"/posts/{second}/queue", {})
        .json()["scheduled_at_local"]
        .startswith("2030-01-07T18:00:00")
    )
    assert manager.get("/queue/next", channel_id=vk.pk).json()["at_local"].startswith("2030-01-08T12:00:00")
    # An editor queues a draft: it gets the time but stays a draft.
    third = editor.post("/posts", {"text": "Three", "variants": [{"channel_id": vk.pk}]}).json()["id"]
    res = editor.post(f"/posts/{third}/queue", {})
    assert res.json()["status"] == "draft" and res.json()["scheduled_at_local"].startswith(
        "2030-01-08T12:00:00"
    )
    listing = manager.get("/queue/slots", channel_id=tg.pk).json()
    assert [(s["weekday"], s["time"]) for s in listing] == [(0, "09:00"), (0, "18:00")]
    assert manager.delete(f"/queue/slots/{listing[0]['id']}").status_code == 204
    lonely = _channel(ws, "ok", "OK")
    res = manager.get("/queue/next", channel_id=lonely.pk)
    assert res.status_code == 409 and res.json()["errors"][0]["field"] == "channel_id"
    other = api_for(make_workspace("Other"), "owner")
    assert other.get("/queue/next", channel_id=tg.pk).status_code == 404
    assert other.delete(f"/queue/slots/{listing[1]['id']}").status_code == 404


# -- rubrics, mix, gaps, ideas ------------------------------------------------------------


def test_rubric_crud_and_share_validation(make_workspace, api_for):
    ws = make_workspace()
    manager, editor = api_for(ws, "manager"), api_for(ws, "editor")
    rubrics = {r["name"]: r for r in manager.get("/plan/rubrics").json()}
    assert sum(r["target_share"] for r in rubrics.values()) == 100 and rubrics["Selling"]["is_selling"]
    res = manager.post("/plan/rubrics", {"name": "Cases", "target_share": 10})
    assert res.status_code == 400 and res.json()["errors"][0]["field"] == "target_share"
    assert manager.post("/plan/rubrics", {"name": "Selling"}).status_code == 409
    assert manager.post("/plan/rubrics", {"name": "X", "color": "red"}).status_code == 422
    assert editor.post("/plan/rubrics", {"name": "Cases"}).status_code == 403
    useful = rubrics["Useful"]
    res = manager.client.put(
        f"/api/v1/plan/rubrics/{useful['id']}",
        data='{"name": "Useful", "target_share": 30, "color": "#2563EB"}',
        content_type="application/json",
        headers=manager._headers(),
    )
    assert res.status_code == 200 and res.json()["target_share"] == 30
    created = manager.post("/plan/rubrics", {"name": "Cases", "target_share": 10})
    assert created.status_code == 201, created.content
    assert manager.delete(f"/plan/rubrics/{created.json()['id']}").status_code == 204
    other = api_for(make_workspace("Other"), "owner")
    assert other.delete(f"/plan/rubrics/{useful['id']}").status_code == 404


def test_mix_meter_warns_when_selling_exceeds_its_share(make_workspace, api_for):
    ws = make_workspace(timezone="UTC")
    channel = _channel(ws)
    manager = api_for(ws, "manager")
    rubrics = {r["name"]: r["id"] for r in manager.get("/plan/rubrics").json()}
    clock.freeze(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    for day, rubric in enumerate(["Selling", "Selling", "Useful", "Useful", "Useful"], start=1):
        _draft(manager, channel, scheduled_at=f"2030-01-0{day}T12:00:00", rubric_id=rubrics[rubric])
    report = manager.get("/plan/mix", start="2030-01-01T00:00:00", end="2030-01-31T00:00:00").json()
    mix = report["channels"][0]
    assert mix["total"] == 5 and mix["selling_share"] == 40.0 and mix["selling_target"] == 20
    shares = {r["name"]: r for r in mix["rubrics"]}
    assert shares["Selling"]["over_target"] and shares["Useful"]["share"] == 60.0
    assert any("Selling posts are 40 %" in w for w in mix["warnings"])
    balanced = manager.get(
        "/plan/mix", start="2030-01-03T00:00:00", end="2030-01-31T00:00:00", channel_id=channel.pk
    ).json()
    assert balanced["channels"][0]["warnings"] == []
    assert manager.get("/plan/mix", start="2030-02-01T00:00:00", end="2030-01-01T00:00:00").status_code == 400


def test_gaps_follow_the_channel_cadence(make_workspace, api_for):
    ws = make_workspace(timezone="UTC")
    daily = _channel(ws, cadence_hours=24)
    default = _channel(ws, "vk", "VK")
    manager = api_for(ws, "manager")
    clock.freeze(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    for day in ("02", "06"):
        _draft(manager, default, scheduled_at=f"2030-01-{day}T00:00:00")
        _draft(manager, daily, scheduled_at=f"2030-01-{day}T00:00:00")
    gaps = manager.get("/plan/gaps", start="2030-01-01T00:00:00", end="2030-01-08T00:00:00").json()
    by_channel: dict[int, list[tuple[str, float]]] = {}
    for gap in gaps:
        by_channel.setdefault(gap["channel_id"], []).append((gap["start"][:10], gap["hours"]))
    assert by_channel[default.pk] == [("2030-01-02", 96.0)]
    assert by_channel[daily.pk] == [("2030-01-02", 96.0), ("2030-01-06", 48.0)]
    assert "no post for 96 hours" in gaps[0]["message"]


def test_ideas_backlog_lists_undated_drafts(make_workspace, api_for):
    ws = make_workspace()
    channel = _channel(ws)
    manager = api_for(ws, "manager")
    idea = manager.post("/posts", {"text": "Someday", "variants": [{"channel_id": channel.pk}]}).json()["id"]
    _draft(manager, channel)
    assert [p["id"] for p in manager.get("/plan/ideas").json()] == [idea]


def test_the_review_page_refuses_an_approval_of_content_that_changed_since_it_was_shown(
    make_workspace, api_for
):
    import re

    from django.test import Client

    ws = _client_workspace(make_workspace)
    channel = _channel(ws)
    editor, manager = api_for(ws, "editor"), api_for(ws, "manager")
    post_id, token = _waiting_for_client(ws, editor, manager, channel)
    page = Client().get(f"/review/{token}/").content.decode()
    seen = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page)
    assert seen is not None
    manager.patch(f"/posts/{post_id}", {"text": "Changed while the client reads"})
    res = Client().post(f"/review/{token}/", {"post": post_id, "decision": "approve", "fingerprint": seen[1]})
    assert res.status_code == 400
    assert "changed after you opened it" in res.content.decode()
    assert Post.objects.get(pk=post_id).status == Post.Status.CLIENT_REVIEW
    fresh = re.search(r'name="fingerprint" value="([0-9a-f]+)"', res.content.decode())
    assert fresh is not None and fresh[1] != seen[1]
    res = Client().post(
        f"/review/{token}/", {"post": post_id, "decision": "approve", "fingerprint": fresh[1]}
    )
    assert res.status_code == 302
    assert Post.objects.get(pk=post_id).status == Post.Status.SCHEDULED


def test_the_composer_review_panel_refuses_a_stale_approval(make_workspace, make_user, api_for, settings):
    import re

    from django.test import Client

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from rupor.accounts import service as accounts
    from rupor.accounts.middleware import SESSION_KEY

    boss = make_user("boss@example.com")
    ws = make_workspace(owner=boss)
    ws.approval = Workspace.Approval.INTERNAL
    ws.save()
    reviewer = make_user("reviewer@example.com")
    boss_actor = accounts.actor_for_user(boss, ws)
    assert boss_actor is not None
    accounts.add_member(boss_actor, reviewer.email, "manager")
    channel = _channel(ws)
    editor = api_for(ws, "editor")
    post_id = _draft(editor, channel)
    editor.post(f"/posts/{post_id}/submit", {})
    client = Client()
    client.force_login(reviewer)
    session = client.session
    session[SESSION_KEY] = ws.slug
    session.save()
    page = client.get(f"/posts/{post_id}/edit/").content.decode()
    seen = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page)
    assert seen is not None
    editor.patch(f"/posts/{post_id}", {"text": "Edited after the reviewer opened it"})
    res = client.post(
        f"/posts/{post_id}/review/", {"decision": "approve", "fingerprint": seen[1]}, HTTP_HX_REQUEST="true"
    )
    assert res.status_code == 422 and "changed after you opened it" in res.content.decode()
    assert Post.objects.get(pk=post_id).status == Post.Status.IN_REVIEW
