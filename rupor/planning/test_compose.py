"""The compose action: one set of rules for the composer, the API and the plan import."""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.accounts.models import Workspace
from rupor.accounts.roles import Role
from rupor.accounts.service import Actor
from rupor.channels.models import Channel
from rupor.planning import compose, plan_io
from rupor.planning.models import Post
from rupor.planning.service import PostInput, VariantInput

pytestmark = pytest.mark.django_db

BAD_LINK = "javascript:alert(1)"
LATER = dt.datetime(2099, 3, 1, 10, 0)


@pytest.fixture
def world(make_workspace):
    ws = make_workspace("Compose")
    tg = Channel.objects.create(workspace=ws, network="telegram", name="Our Telegram", remote_id="@ours")
    return ws, tg


def _request(ws, channel, role=Role.MANAGER, intent=compose.Intent.SCHEDULE, link=""):
    return compose.ComposeRequest(
        Actor(ws.pk, role, label=role.value),
        PostInput(text="Hello", scheduled_at=LATER, variants=(VariantInput(channel.pk, link=link),)),
        intent=intent,
    )


def test_csv_import_refuses_the_link_the_composer_refuses(world):
    ws, tg = world
    refused = compose.compose(_request(ws, tg, link=BAD_LINK))
    assert refused.outcome == compose.Outcome.REFUSED and refused.reason == compose.Reason.UNFIT
    assert [r.field for r in refused.refusals] == ["variants[0].link"]
    message = refused.refusals[0].message.removeprefix("Our Telegram: ").rstrip(".")
    assert "is not an http(s) address" in message
    # Saving a draft with it is refused too (the service's own check).
    draft = compose.compose(_request(ws, tg, intent=compose.Intent.SAVE, link=BAD_LINK))
    assert not draft.ok and draft.refusals[0].field == "variants[0].link"

    csv = f"date,time,channels,text,link,status\n2099-03-01,10:00,Our Telegram,Hello,{BAD_LINK},scheduled\n"
    actor = Actor(ws.pk, Role.MANAGER, label="manager")
    for dry_run in (True, False):
        report = plan_io.import_plan(actor, "plan.csv", csv.encode(), dry_run=dry_run)
        assert not report.ok and report.created_ids == []
        assert [str(p) for p in report.problems] == [f"Row 2: Our Telegram: {message}"]
    assert not Post.objects.exists()


def test_a_good_link_is_imported_and_exported(world):
    ws, _tg = world
    csv = "date,time,channels,text,link\n,,Our Telegram,Read this,https://example.com/a\n"
    report = plan_io.import_plan(Actor(ws.pk, Role.MANAGER, label="m"), "plan.csv", csv.encode())
    assert report.ok and len(report.created_ids) == 1
    assert Post.objects.get().variants.get().link == "https://example.com/a"
    header, row = plan_io.export_rows(ws.pk)
    assert row[header.index("link")] == "https://example.com/a"


@pytest.mark.parametrize(
    ("mode", "role", "intent", "outcome"),
    [
        (Workspace.Approval.NONE, Role.MANAGER, compose.Intent.SCHEDULE, compose.Outcome.SCHEDULED),
        (Workspace.Approval.NONE, Role.MANAGER, compose.Intent.DRAFT, compose.Outcome.DRAFT),
        (Workspace.Approval.INTERNAL, Role.MANAGER, compose.Intent.SCHEDULE, compose.Outcome.SCHEDULED),
        (Workspace.Approval.INTERNAL, Role.EDITOR, compose.Intent.SUBMIT, compose.Outcome.SENT_FOR_APPROVAL),
        (Workspace.Approval.CLIENT, Role.MANAGER, compose.Intent.SCHEDULE, compose.Outcome.AWAITING_CLIENT),
        (Workspace.Approval.INTERNAL, Role.EDITOR, compose.Intent.SCHEDULE, compose.Outcome.REFUSED),
    ],
)
def test_the_button_and_the_approval_mode_decide_the_outcome(world, mode, role, intent, outcome):
    ws, tg = world
    ws.approval = mode
    ws.save()
    result = compose.compose(_request(ws, tg, role=role, intent=intent))
    assert result.outcome == outcome, result.refusals
    if outcome == compose.Outcome.REFUSED:
        assert result.status == 403 and result.post is None and not Post.objects.exists()


def test_a_post_without_channels_or_queue_slots_is_refused_before_anything_is_saved(world):
    ws, tg = world
    actor = Actor(ws.pk, Role.MANAGER, label="m")
    none = compose.compose(compose.ComposeRequest(actor, PostInput(text="x"), intent=compose.Intent.SCHEDULE))
    assert none.reason == compose.Reason.NO_CHANNELS
    queued = compose.compose(_request(ws, tg, intent=compose.Intent.QUEUE))
    assert queued.reason == compose.Reason.NO_QUEUE_SLOT and queued.status == 409
    assert not Post.objects.exists()
