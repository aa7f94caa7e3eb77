"""Media can be deleted from the library (page and API) when no post uses it: the file, its
thumbnail and its record go, and the audit trail says who did it. While a post uses the file the
deletion is refused, naming the posts (published posts keep their media as the record of what
went out)."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from rupor.accounts import service as accounts
from rupor.accounts.models import AuditEntry
from rupor.channels.models import Channel
from rupor.planning import media as media_lib
from rupor.planning import service as planning
from rupor.planning.models import Media, Post

pytestmark = pytest.mark.django_db


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def world(make_user: Any, make_workspace: Any) -> Any:
    owner = make_user("owner@example.com")
    ws = make_workspace("Library", owner=owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    channel = Channel.objects.create(workspace=ws, network="telegram", name="Our Telegram", remote_id="@ours")
    return owner, ws, actor, channel


def _use(actor: Any, channel: Channel, media: Media, *, text: str, scheduled: bool) -> Post:
    when = dt.datetime(2099, 3, 1, 7, tzinfo=dt.UTC) if scheduled else None
    return planning.create_post(
        actor,
        planning.PostInput(
            text=text,
            status="scheduled" if scheduled else "draft",
            scheduled_at=when,
            variants=(planning.VariantInput(channel.pk, media_ids=(media.pk,)),),
        ),
    )


def test_an_unused_file_is_deleted_with_its_thumbnail_and_an_audit_record(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _owner, ws, actor, _channel = world
    item = media_lib.save_media(actor, "sunrise.png", _png((200, 30, 30)))
    names = [item.file.name, item.thumbnail.name]
    assert all(default_storage.exists(name) for name in names)
    with django_capture_on_commit_callbacks(execute=True):  # the files go once the deletion is committed
        media_lib.delete_media(actor, item.pk)
    assert not Media.objects.filter(pk=item.pk).exists()
    assert not any(default_storage.exists(name) for name in names)
    entry = AuditEntry.objects.get(workspace=ws, action="media.delete")
    assert (
        entry.object_id == str(item.pk)
        and "sunrise.png" in entry.summary
        and entry.actor_label == actor.label
    )


def test_a_file_a_post_uses_is_kept_and_the_refusal_names_the_posts(world: Any) -> None:
    _owner, _ws, actor, channel = world
    item = media_lib.save_media(actor, "menu.png", _png((1, 2, 3)))
    _use(actor, channel, item, text="Spring menu", scheduled=True)
    with pytest.raises(planning.PlanningError) as caught:
        media_lib.delete_media(actor, item.pk)
    assert caught.value.status == 409
    assert caught.value.message == (
        "menu.png is used by a post: “Spring menu” (Scheduled). Take it out of the post first; a published post keeps its media."
    )
    _use(actor, channel, item, text="Draft idea", scheduled=False)
    with pytest.raises(planning.PlanningError) as caught:
        media_lib.delete_media(actor, item.pk)
    assert "used by 2 posts" in caught.value.message and "“Draft idea” (Draft)" in caught.value.message
    assert Media.objects.filter(pk=item.pk).exists() and default_storage.exists(item.file.name)
    assert not AuditEntry.objects.filter(action="media.delete").exists()


def test_api_delete_roles_tenancy_and_refusal(
    world: Any, api_for: Any, make_user: Any, make_workspace: Any
) -> None:
    _owner, ws, actor, channel = world
    free = media_lib.save_media(actor, "free.png", _png((9, 9, 9)))
    used = media_lib.save_media(actor, "used.png", _png((8, 8, 8)))
    _use(actor, channel, used, text="Launch", scheduled=True)
    for role in ("client", "analyst"):
        response = api_for(ws, role).delete(f"/media/{free.pk}")
        assert response.status_code == 403, (role, response.content)
    stranger_ws = make_workspace("Other", owner=make_user("stranger@example.com"))
    assert api_for(stranger_ws, "owner").delete(f"/media/{free.pk}").status_code == 404
    editor = api_for(ws, "editor")
    response = editor.delete(f"/media/{used.pk}")
    assert response.status_code == 409 and "“Launch” (Scheduled)" in response.json()["detail"]
    assert editor.delete(f"/media/{free.pk}").status_code == 204
    assert editor.delete(f"/media/{free.pk}").status_code == 404
    assert list(Media.objects.filter(workspace=ws)) == [used]


def _page_text(response: Any) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def test_media_page_deletes_and_explains_a_refusal(world: Any) -> None:
    owner, ws, actor, channel = world
    free = media_lib.save_media(actor, "free.png", _png((9, 9, 9)))
    used = media_lib.save_media(actor, "used.png", _png((8, 8, 8)))
    _use(actor, channel, used, text="Launch", scheduled=True)
    browser = Client()
    browser.force_login(owner)
    page = _page_text(browser.get("/media/"))
    assert "Used in 1 post" in page and "Not used in any post" in page
    response = browser.post("/media/", {"delete": str(used.pk)})
    assert response.status_code == 409
    assert "used.png is used by a post: “Launch” (Scheduled)" in _page_text(response)
    response = browser.post("/media/", {"delete": str(free.pk)}, follow=True)
    assert response.status_code == 200 and "The file was deleted from the library." in _page_text(response)
    assert list(Media.objects.filter(workspace=ws)) == [used]
    for nonsense in ("abc", "99999999999999999999999", str(free.pk)):
        assert browser.post("/media/", {"delete": nonsense}).status_code == 404


def test_roles_without_editing_rights_cannot_delete_on_the_page(world: Any, make_user: Any) -> None:
    _owner, ws, actor, _channel = world
    item = media_lib.save_media(actor, "free.png", _png((9, 9, 9)))
    analyst = make_user("analyst@example.com")
    accounts.add_member(actor, analyst.email, "analyst")
    browser = Client()
    browser.force_login(analyst)
    page = browser.get("/media/")
    assert page.status_code == 200 and f'name="delete" value="{item.pk}"' not in page.content.decode()
    assert browser.post("/media/", {"delete": str(item.pk)}).status_code == 403
    assert Media.objects.filter(pk=item.pk, workspace=ws).exists()


def test_api_delete_with_a_huge_id_is_a_client_error(world: Any, api_for: Any) -> None:
    _owner, ws, _actor, _channel = world
    response = api_for(ws, "owner").delete("/media/99999999999999999999999")
    assert 400 <= response.status_code < 500
