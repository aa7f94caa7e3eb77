"""A post's status in the API says what happened on its channels, with a filter for each."""

from __future__ import annotations

import pytest

from rupor.publishing.models import PublicationTarget, TargetState

pytestmark = pytest.mark.django_db


def _post(api, channels: list[int], states: list[str]) -> int:
    post = api.post("/posts", {"text": "hello", "variants": [{"channel_id": c} for c in channels]}).json()
    for variant, state in zip(post["variants"], states, strict=True):
        PublicationTarget.objects.filter(variant_id=variant["id"]).update(state=state)
    return int(post["id"])


def test_status_and_filter(make_workspace, api_for):
    api = api_for(make_workspace(), "owner")
    channels = [
        api.post(
            "/channels",
            {
                "network": "examplenet",
                "remote_id": f"acct-{i}",
                "credentials": {"token": "t"},
                "verify": False,
            },
        ).json()["id"]
        for i in range(3)
    ]
    published = _post(api, channels, [TargetState.PUBLISHED] * 3)
    partial = _post(api, channels, [TargetState.PUBLISHED, TargetState.FAILED, TargetState.CANCELLED])
    failed = _post(api, channels[:1], [TargetState.FAILED])
    unsure = _post(api, channels[:2], [TargetState.PUBLISHED, TargetState.UNCONFIRMED])
    draft = _post(api, channels[:1], [TargetState.DRAFT])

    body = api.get(f"/posts/{published}").json()
    assert (body["status"], body["plan_status"]) == ("published", "draft")
    assert api.get(f"/posts/{partial}").json()["status"] == "partially_published"
    assert api.get(f"/posts/{failed}").json()["status"] == "failed"
    assert api.get(f"/posts/{unsure}").json()["status"] == "needs_attention"
    assert api.get(f"/posts/{draft}").json()["status"] == "draft"

    def ids(status: str) -> set[int]:
        res = api.get(f"/posts?status={status}")
        assert res.status_code == 200, res.json()
        return {p["id"] for p in res.json()}

    assert ids("published") == {published}
    assert ids("partially_published") == {partial}
    assert ids("failed") == {failed}
    assert ids("needs_attention") == {unsure}
    assert ids("publishing") == set()
    # A plan status matches only posts whose publishing has not started.
    assert ids("draft") == {draft}
    assert api.get("/posts?status=nonsense").status_code == 422


def test_a_published_post_keeps_its_time_through_the_api(make_workspace, api_for):
    api = api_for(make_workspace(), "owner")
    channel = api.post(
        "/channels",
        {"network": "examplenet", "remote_id": "acct", "credentials": {"token": "t"}, "verify": False},
    ).json()["id"]
    post = api.post(
        "/posts",
        {"text": "hello", "scheduled_at": "2039-01-01T10:00:00+00:00", "variants": [{"channel_id": channel}]},
    ).json()
    PublicationTarget.objects.filter(variant_id=post["variants"][0]["id"]).update(state=TargetState.PUBLISHED)
    moved = api.patch(f"/posts/{post['id']}", {"scheduled_at": "2040-01-01T10:00:00+00:00"})
    assert moved.status_code == 409 and moved.json()["errors"][0]["field"] == "scheduled_at"
    assert api.patch(f"/posts/{post['id']}", {"publish_now": True}).status_code == 409
    assert api.get(f"/posts/{post['id']}").json()["scheduled_at"] == post["scheduled_at"]
