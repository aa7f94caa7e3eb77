"""People's actions on publication targets through the API, with roles and tenancy."""

from __future__ import annotations

import pytest

from rupor.publishing.models import PublicationTarget, TargetState

pytestmark = pytest.mark.django_db


def _target(api, state: str) -> int:
    channel = api.post(
        "/channels",
        {
            "network": "examplenet",
            "remote_id": f"acct-{state}",
            "credentials": {"token": "t"},
            "verify": False,
        },
    ).json()["id"]
    post = api.post("/posts", {"text": "hello", "variants": [{"channel_id": channel}]}).json()
    target_id = PublicationTarget.objects.get(variant_id=post["variants"][0]["id"]).pk
    PublicationTarget.objects.filter(pk=target_id).update(state=state, error_message="why")
    return target_id


def test_resolve_retry_and_publish_anyway(make_workspace, api_for):
    ws = make_workspace()
    api = api_for(ws, "manager")
    owner = api_for(ws, "owner")
    unconfirmed = _target(owner, TargetState.UNCONFIRMED)
    failed = _target(owner, TargetState.FAILED)
    missed = _target(owner, TargetState.MISSED)

    res = api.post(
        f"/targets/{unconfirmed}/resolve",
        {"resolution": "published", "remote_url": "https://example.com/p/1"},
    )
    assert res.status_code == 200 and res.json()["state"] == "published"
    again = api.post(f"/targets/{unconfirmed}/resolve", {"resolution": "republish"})
    assert again.status_code == 409 and again.json()["detail"]
    assert api.post(f"/targets/{unconfirmed}/resolve", {"resolution": "maybe"}).status_code == 422

    assert api.post("/targets/retry-failed", {}).json() == {"rescheduled": 1}
    assert PublicationTarget.objects.get(pk=failed).state == TargetState.SCHEDULED

    res = api.post(f"/targets/{missed}/publish-anyway", {})
    assert res.status_code == 200 and res.json()["state"] == "scheduled"

    history = api.get(f"/targets/{unconfirmed}").json()
    assert [e["to_state"] for e in history["events"]][-1] == "published"
    health = api.get("/health")
    assert health.status_code == 200 and "backlog" in health.json()


def test_roles_and_tenancy(make_workspace, api_for):
    a = api_for(make_workspace("A"), "owner")
    b = api_for(make_workspace("B"), "owner")
    theirs = _target(b, TargetState.UNCONFIRMED)
    assert a.get(f"/targets/{theirs}").status_code == 404
    assert a.post(f"/targets/{theirs}/resolve", {"resolution": "published"}).status_code == 404
    assert a.post(f"/targets/{theirs}/publish-anyway", {}).status_code == 404
    assert a.post("/targets/retry-failed", {"target_ids": [theirs]}).json() == {"rescheduled": 0}
    editor = api_for(b.workspace, "editor")
    assert editor.get(f"/targets/{theirs}").status_code == 200
    assert editor.post(f"/targets/{theirs}/resolve", {"resolution": "published"}).status_code == 403
    assert PublicationTarget.objects.get(pk=theirs).state == TargetState.UNCONFIRMED
