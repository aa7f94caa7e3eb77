"""The plan pages through Django's test client: mix meter, gaps and ideas; rubrics; queue slots;
the media library; import (preview, then confirm) and export; the client's review page through a
magic link. Roles are checked on the server, other workspaces' objects answer 404, and every
refusal of a service is shown where the person looks."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from rupor.accounts import service as accounts
from rupor.accounts.middleware import SESSION_KEY
from rupor.accounts.models import User, Workspace
from rupor.accounts.roles import Perm, Role, can
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.networks import registry
from rupor.planning import approvals, mix, slots
from rupor.planning import media as media_lib
from rupor.planning import service as planning
from rupor.planning.models import ClientLink, Media, Post, QueueSlot, Rubric

PASSWORD = "a-long-enough-passphrase-42"
NOW = dt.datetime(2030, 3, 1, 6, 0, tzinfo=dt.UTC)  # 09:00 in Moscow, a Friday


@pytest.fixture(autouse=True)
def _setup(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.RUPOR_HOME = tmp_path / "home"
    clock.freeze(NOW)


@dataclass
class World:
    ws: Workspace
    users: dict[Role, User]
    owner: accounts.Actor
    channel: Channel
    useful: Rubric
    offers: Rubric
    other: Workspace
    other_actor: accounts.Actor
    other_channel: Channel
    other_rubric: Rubric
    other_post: Post
    other_slot: int
    other_media: Media


def _connect(actor: accounts.Actor, name: str, remote_id: str) -> Channel:
    creds: dict[str, str] = {"bot_token": "123:abc"}
    if "telegram" in registry.available():
        creds = {f.name: "x" for f in registry.adapter("telegram").credential_fields if f.required} or creds
    return channels.connect(
        actor,
        channels.ChannelInput(network="telegram", name=name, remote_id=remote_id, credentials=creds),
        verify=False,
    )


def _png(color: str = "red", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def world(db: Any) -> World:
    users = {
        role: accounts.create_user(f"{role.value}@example.com", PASSWORD, name=role.value.title())
        for role in Role
    }
    ws = accounts.create_workspace("Alpha", users[Role.OWNER], timezone="Europe/Moscow")
    owner = accounts.actor_for_user(users[Role.OWNER], ws)
    assert owner is not None
    for role, user in users.items():
        if role is not Role.OWNER:
            accounts.add_member(owner, user.email, role.value)
    channel = _connect(owner, "Alpha news", "@alpha")
    Rubric.objects.filter(workspace=ws).delete()  # the defaults a workspace starts with
    useful = mix.create_rubric(owner, mix.RubricInput("Useful", "#2563eb", 60))
    offers = mix.create_rubric(owner, mix.RubricInput("Offers", "#dc2626", 20, is_selling=True))

    stranger = accounts.create_user("stranger@example.com", PASSWORD)
    other = accounts.create_workspace("Beta", stranger, timezone="UTC")
    other_actor = accounts.actor_for_user(stranger, other)
    assert other_actor is not None
    other_channel = _connect(other_actor, "Beta news", "@beta")
    Rubric.objects.filter(workspace=other).delete()
    other_rubric = mix.create_rubric(other_actor, mix.RubricInput("Secret rubric", "#000000", 10))
    other_post = planning.create_post(
        other_actor, planning.PostInput(text="Beta idea", variants=(planning.VariantInput(other_channel.pk),))
    )
    other_slot = slots.add_slot(other_actor, other_channel.pk, 0, dt.time(9)).id
    other_media = media_lib.save_media(other_actor, "beta.png", _png("blue"))
    return World(
        ws,
        users,
        owner,
        channel,
        useful,
        offers,
        other,
        other_actor,
        other_channel,
        other_rubric,
        other_post,
        other_slot,
        other_media,
    )


def _client(user: User, workspace: Workspace | None = None, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    if workspace is not None:
        session = client.session
        session[SESSION_KEY] = workspace.slug
        session.save()
    return client


def _post(
    actor: accounts.Actor,
    channel: Channel,
    *,
    when: str | None = None,
    rubric: Rubric | None = None,
    text: str = "Hello",
    status: str = "scheduled",
) -> Post:
    scheduled = dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC) if when else None
    return planning.create_post(
        actor,
        planning.PostInput(
            text=text,
            rubric_id=rubric.pk if rubric else None,
            scheduled_at=scheduled,
            status=status if scheduled else "draft",
            variants=(planning.VariantInput(channel.pk),),
        ),
    )


def _text(response: Any) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


# -- pages and who may see them ------------------------------------------------------------------

PAGES = ["web:plan", "web:plan_rubrics", "web:queue", "web:media", "web:plan_import"]


@pytest.mark.parametrize("role", list(Role))
def test_every_plan_page_checks_the_role(world: World, role: Role) -> None:
    client = _client(world.users[role], world.ws)
    for name in PAGES:
        response = client.get(reverse(name))
        assert response.status_code == (200 if can(role, Perm.POSTS_VIEW) else 403), (name, role)


def test_plan_pages_need_a_signed_in_user(db: Any) -> None:
    for name in PAGES:
        response = Client().get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))


@pytest.mark.parametrize("role", list(Role))
def test_writes_are_refused_without_the_permission_the_api_uses(world: World, role: Role) -> None:
    client = _client(world.users[role], world.ws)
    idea = _post(world.owner, world.channel)
    before = (
        Rubric.objects.count(),
        QueueSlot.objects.count(),
        Media.objects.count(),
        Post.objects.count(),
        ClientLink.objects.count(),
    )
    writes = [
        (
            reverse("web:plan_rubric_create"),
            {"new-name": "X", "new-color": "#111111", "new-target_share": 0},
            Perm.POSTS_PUBLISH,
        ),
        (
            reverse("web:plan_rubric_update", args=[world.useful.pk]),
            {f"r{world.useful.pk}-name": "Hacked"},
            Perm.POSTS_PUBLISH,
        ),
        (reverse("web:plan_rubric_delete", args=[world.offers.pk]), {}, Perm.POSTS_PUBLISH),
        (
            reverse("web:queue_slot_add", args=[world.channel.pk]),
            {f"c{world.channel.pk}-weekday": 1, f"c{world.channel.pk}-time": "10:00"},
            Perm.POSTS_PUBLISH,
        ),
        (reverse("web:plan_idea_queue", args=[idea.pk]), {}, Perm.POSTS_EDIT),
        (reverse("web:plan_client_link"), {"month": "2030-03", "days": 7}, Perm.POSTS_APPROVE),
        (reverse("web:media"), {"files": [io.BytesIO(_png())]}, Perm.POSTS_EDIT),
        (
            reverse("web:plan_import"),
            {"action": "preview", "file": io.BytesIO(b"channels,text\nAlpha news,Hi\n")},
            Perm.POSTS_EDIT,
        ),
    ]
    for url, data, perm in writes:
        response = client.post(url, data)
        if not can(role, perm):
            assert response.status_code == 403, (url, role, response.status_code)
    if not can(role, Perm.POSTS_EDIT):
        after = (
            Rubric.objects.count(),
            QueueSlot.objects.count(),
            Media.objects.count(),
            Post.objects.count(),
            ClientLink.objects.count(),
        )
        assert after == before
        assert Rubric.objects.get(pk=world.useful.pk).name == "Useful"
        assert Post.objects.get(pk=idea.pk).scheduled_at is None


# -- the plan: period, mix meter, gaps, ideas ------------------------------------------------------


def test_plan_shows_the_mix_the_selling_warning_and_gaps(world: World) -> None:
    for when in ("2030-03-02T09:00", "2030-03-03T09:00", "2030-03-04T09:00"):
        _post(world.owner, world.channel, when=when, rubric=world.offers)
    _post(world.owner, world.channel, when="2030-03-12T09:00", rubric=world.useful)
    page = _client(world.users[Role.MANAGER], world.ws).get(reverse("web:plan"))
    assert page.status_code == 200
    html = _text(page)
    assert "Europe/Moscow" in html
    assert "March 2030" in html
    assert "4 planned posts" in html
    # Offers: 3 of 4 posts = 75 %, over its 20 % target; the 80/20 warning speaks plainly.
    assert "Selling posts are 75 % of Alpha news\u2019s plan, above the 20 % target." in html
    assert "Offers is 75 % of the plan" not in html  # one selling rubric: the 80/20 warning says it once
    assert "width:75.0%" in html and "left:20%" in html
    # With two selling rubrics, the one over its own target is named as well.
    mix.create_rubric(world.owner, mix.RubricInput("Ads", "#111111", 10, is_selling=True))
    html = _text(_client(world.users[Role.MANAGER], world.ws).get(reverse("web:plan")))
    assert "above the 30 % target" in html and "Offers is 75 % of the plan, above its 20 % target." in html
    # 4 March 09:00 → 12 March 09:00 is longer than the 48 h default cadence.
    gap_text = "No post on Alpha news from Mar 4 to Mar 12 — longer than its cadence (a post every 2 days)."
    assert gap_text in html
    links = re.findall(r'href="(/posts/new/\?scheduled_at=[^"]+)"', page.content.decode())
    assert links, "every gap offers a prefilled New post link"
    assert "scheduled_at=2030-03-06T12%3A00" in links[0] and f"channel={world.channel.pk}" in links[0]


def test_plan_period_picker_and_its_errors(world: World) -> None:
    client = _client(world.users[Role.ANALYST], world.ws)
    html = _text(client.get(reverse("web:plan"), {"month": "2030-04"}))
    assert "April 2030" in html and "month=2030-03" in html and "month=2030-05" in html
    html = _text(client.get(reverse("web:plan"), {"start": "2030-03-10", "end": "2030-03-20"}))
    assert "Mar 10, 2030 \u2013 Mar 20, 2030" in html
    response = client.get(reverse("web:plan"), {"start": "2030-03-10", "end": "2030-03-01"})
    assert response.status_code == 400
    assert response.context["period"].errors == {"end": "The period ends before it starts."}
    assert 'id="p-end-err"' in response.content.decode()
    response = client.get(reverse("web:plan"), {"start": "tomorrow", "end": "2030-03-01"})
    assert response.status_code == 400 and "This is not a date (YYYY-MM-DD)." in _text(response)
    response = client.get(reverse("web:plan"), {"start": "2030-01-01", "end": "2031-12-31"})
    assert response.status_code == 400 and "at most 400 days" in _text(response)
    response = client.get(reverse("web:plan"), {"month": "2030-13"})
    assert response.status_code == 400 and "YYYY-MM" in _text(response)


def test_ideas_backlog_and_add_to_queue(world: World) -> None:
    idea = _post(world.owner, world.channel, text="An idea for spring")
    manager = _client(world.users[Role.MANAGER], world.ws)
    html = _text(manager.get(reverse("web:plan")))
    assert "An idea for spring" in html and "Add to queue" in html
    assert reverse("web:post_edit", args=[idea.pk]) in html
    # No slots yet: the service's reason is shown, nothing changes.
    response = manager.post(
        reverse("web:plan_idea_queue", args=[idea.pk]), {"next": "/plan/?month=2030-03"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/plan/?month=2030-03"
    assert "add queue slots first" in _text(response)
    assert Post.objects.get(pk=idea.pk).scheduled_at is None
    slots.add_slot(world.owner, world.channel.pk, 0, dt.time(10))  # Mondays 10:00 Moscow
    response = manager.post(reverse("web:plan_idea_queue", args=[idea.pk]), follow=True)
    post = Post.objects.get(pk=idea.pk)
    assert (
        post.scheduled_at == dt.datetime(2030, 3, 4, 7, 0, tzinfo=dt.UTC)
        and post.status == Post.Status.SCHEDULED
    )
    assert "takes the queue slot on 2030-03-04 10:00 (Europe/Moscow)" in _text(response)
    # An editor may queue an idea, which stays a draft; another workspace's post is a 404.
    second = _post(world.owner, world.channel, text="Second idea")
    _client(world.users[Role.EDITOR], world.ws).post(reverse("web:plan_idea_queue", args=[second.pk]))
    assert Post.objects.get(pk=second.pk).status == Post.Status.DRAFT
    assert Post.objects.get(pk=second.pk).scheduled_at is not None
    assert manager.post(reverse("web:plan_idea_queue", args=[world.other_post.pk])).status_code == 404
    assert Post.objects.get(pk=world.other_post.pk).scheduled_at is None


# -- rubrics -------------------------------------------------------------------------------------


def test_rubrics_add_edit_delete_with_errors_at_the_field(world: World) -> None:
    manager = _client(world.users[Role.MANAGER], world.ws)
    html = _text(manager.get(reverse("web:plan_rubrics")))
    assert "Useful" in html and "Offers" in html and "Secret rubric" not in html
    assert "Targets add up to 80 % (20 % left)" in html

    url = reverse("web:plan_rubric_create")
    response = manager.post(url, {"new-name": "useful", "new-color": "#00aa00", "new-target_share": 5})
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == ["There is already a rubric called 'useful'."]
    response = manager.post(url, {"new-name": "Fun", "new-color": "#00aa00", "new-target_share": 30})
    assert response.status_code == 400
    assert "add up to 110 %" in response.context["form"].errors["target_share"][0]
    assert "add up to 110 %" in _text(response)
    response = manager.post(url, {"new-name": "Fun", "new-color": "green", "new-target_share": 10})
    assert "#2563eb" in response.context["form"].errors["color"][0]
    response = manager.post(url, {"new-name": "", "new-color": "#00aa00"})
    assert response.context["form"].errors["name"] == ["A rubric needs a name."]
    response = manager.post(url, {"new-name": "Fun", "new-color": "#00aa00", "new-target_share": "ten"})
    assert response.status_code == 400 and response.context["form"].errors["target_share"]
    assert Rubric.objects.filter(workspace=world.ws).count() == 2

    response = manager.post(
        url, {"new-name": "Fun", "new-color": "#00AA00", "new-target_share": 20, "new-is_selling": ""}
    )
    assert response.status_code == 302
    fun = Rubric.objects.get(workspace=world.ws, name="Fun")
    assert (fun.color, fun.target_share, fun.is_selling) == ("#00aa00", 20, False)

    edit = reverse("web:plan_rubric_update", args=[fun.pk])
    response = manager.post(
        edit, {f"r{fun.pk}-name": "Fun", f"r{fun.pk}-color": "#00aa00", f"r{fun.pk}-target_share": 50}
    )
    assert response.status_code == 400
    row = next(r for r in response.context["rows"] if r["rubric"].pk == fun.pk)
    assert row["open"] and "add up to 130 %" in row["form"].errors["target_share"][0]
    response = manager.post(
        edit, {f"r{fun.pk}-name": "Offers", f"r{fun.pk}-color": "#00aa00", f"r{fun.pk}-target_share": 5}
    )
    row = next(r for r in response.context["rows"] if r["rubric"].pk == fun.pk)
    assert "already a rubric called 'Offers'" in row["form"].errors["name"][0]
    response = manager.post(
        edit,
        {
            f"r{fun.pk}-name": "Fun & games",
            f"r{fun.pk}-color": "#123456",
            f"r{fun.pk}-target_share": 15,
            f"r{fun.pk}-is_selling": "on",
        },
    )
    assert response.status_code == 302
    fun.refresh_from_db()
    assert (fun.name, fun.color, fun.target_share, fun.is_selling) == ("Fun & games", "#123456", 15, True)

    assert manager.post(reverse("web:plan_rubric_delete", args=[fun.pk])).status_code == 302
    assert not Rubric.objects.filter(pk=fun.pk).exists()
    # Another workspace's rubric is a 404 and stays as it was.
    other = world.other_rubric
    assert (
        manager.post(
            reverse("web:plan_rubric_update", args=[other.pk]), {f"r{other.pk}-name": "Mine"}
        ).status_code
        == 404
    )
    assert manager.post(reverse("web:plan_rubric_delete", args=[other.pk])).status_code == 404
    assert Rubric.objects.get(pk=other.pk).name == "Secret rubric"


def test_rubrics_read_only_for_editors(world: World) -> None:
    html = _text(_client(world.users[Role.EDITOR], world.ws).get(reverse("web:plan_rubrics")))
    assert "Useful" in html and "Add a rubric" not in html and "Delete rubric" not in html


# -- queue slots ---------------------------------------------------------------------------------


def test_queue_slots_add_remove_next_free_and_errors(world: World) -> None:
    manager = _client(world.users[Role.MANAGER], world.ws)
    html = _text(manager.get(reverse("web:queue")))
    assert "Alpha news" in html and "Beta news" not in html and "Add a slot to start the queue." in html
    prefix = f"c{world.channel.pk}"
    add = reverse("web:queue_slot_add", args=[world.channel.pk])
    assert manager.post(add, {f"{prefix}-weekday": 0, f"{prefix}-time": "10:00"}).status_code == 302
    assert manager.post(add, {f"{prefix}-weekday": 3, f"{prefix}-time": "18:30"}).status_code == 302
    response = manager.post(add, {f"{prefix}-weekday": 0, f"{prefix}-time": "10:00"})
    assert response.status_code == 400
    card = next(c for c in response.context["cards"] if c["channel"].pk == world.channel.pk)
    assert card["form"].errors["time"] == ["Alpha news already has a slot on Monday at 10:00."]
    response = manager.post(add, {f"{prefix}-weekday": 0, f"{prefix}-time": "25:00"})
    card = next(c for c in response.context["cards"] if c["channel"].pk == world.channel.pk)
    assert card["form"].errors["time"] == ["Write the time as HH:MM, e.g. 10:30."]
    response = manager.post(add, {f"{prefix}-weekday": 9, f"{prefix}-time": "10:00"})
    card = next(c for c in response.context["cards"] if c["channel"].pk == world.channel.pk)
    assert card["form"].errors["weekday"]
    assert QueueSlot.objects.filter(channel=world.channel).count() == 2

    page = manager.get(reverse("web:queue"))
    card = next(c for c in page.context["cards"] if c["channel"].pk == world.channel.pk)
    local = [w.astimezone(dt.timezone(dt.timedelta(hours=3))).strftime("%a %d %H:%M") for w in card["next"]]
    assert local == ["Mon 04 10:00", "Thu 07 18:30", "Mon 11 10:00", "Thu 14 18:30", "Mon 18 10:00"]
    html = _text(page)
    assert "Next free slots" in html and "Europe/Moscow" in html and "2 slots a week" in html
    # A planned post occupies its slot.
    _post(world.owner, world.channel, when="2030-03-04T07:00")
    card = next(
        c for c in manager.get(reverse("web:queue")).context["cards"] if c["channel"].pk == world.channel.pk
    )
    assert card["next"][0] == dt.datetime(2030, 3, 7, 15, 30, tzinfo=dt.UTC)

    slot = QueueSlot.objects.get(channel=world.channel, weekday=3)
    assert manager.post(reverse("web:queue_slot_delete", args=[slot.pk])).status_code == 302
    assert not QueueSlot.objects.filter(pk=slot.pk).exists()
    # Another workspace's channel and slot are 404s.
    other = world.other_channel.pk
    assert (
        manager.post(
            reverse("web:queue_slot_add", args=[other]), {f"c{other}-weekday": 1, f"c{other}-time": "10:00"}
        ).status_code
        == 404
    )
    assert manager.post(reverse("web:queue_slot_delete", args=[world.other_slot])).status_code == 404
    assert QueueSlot.objects.filter(pk=world.other_slot).exists()


def test_queue_next_slots_keep_wall_clock_time_across_dst(db: Any, make_user: Any) -> None:
    user = make_user()
    ws = accounts.create_workspace("Berlin", user, timezone="Europe/Berlin")
    actor = accounts.actor_for_user(user, ws)
    assert actor is not None
    channel = _connect(actor, "Berlin news", "@berlin")
    slots.add_slot(actor, channel.pk, 6, dt.time(10))  # Sundays 10:00; DST starts on 31 March 2030
    clock.freeze(dt.datetime(2030, 3, 20, 12, 0, tzinfo=dt.UTC))
    page = _client(user, ws).get(reverse("web:queue"))
    times = page.context["cards"][0]["next"]
    assert [t.hour for t in times] == [
        9,
        8,
        8,
        8,
        8,
    ]  # UTC: 10:00 CET on 24 March, then 10:00 CEST from the 31st
    assert _text(page).count("10:00") >= 6  # the weekly chip and five next slots, all 10:00 local


# -- the media library ---------------------------------------------------------------------------


def test_media_upload_good_bad_and_filter(world: World) -> None:
    editor = _client(world.users[Role.EDITOR], world.ws)
    html = _text(editor.get(reverse("web:media")))
    assert "The library is empty" in html and "beta.png" not in html
    good = io.BytesIO(_png("green", (800, 600)))
    good.name = "spring.png"
    fake = io.BytesIO(b"just some text pretending")
    fake.name = "notes.jpg"
    tiny = io.BytesIO(_png("red", (4, 4)))
    tiny.name = "tiny.png"
    response = editor.post(reverse("web:media"), {"files": [good, fake, tiny]})
    assert response.status_code == 400
    errors = response.context["errors"]
    assert errors == [
        "notes.jpg is not a picture or video Rupor can publish (JPEG, PNG, GIF, WebP, MP4, MOV, WebM).",
        "tiny.png is 4x4 px; a side must be at least 10 px.",
    ]
    html = _text(response)
    assert "notes.jpg is not a picture" in html and "1 file added to the library." in html
    media = Media.objects.get(workspace=world.ws)
    assert (media.original_name, media.width, media.height, media.kind) == ("spring.png", 800, 600, "photo")
    assert media.thumbnail.url in html and "800\u00d7600" in html
    # The same file again is recognised; a clean upload redirects.
    again = io.BytesIO(_png("green", (800, 600)))
    again.name = "copy.png"
    response = editor.post(reverse("web:media"), {"files": [again]}, follow=True)
    assert "1 file was already in the library." in _text(response)
    assert Media.objects.filter(workspace=world.ws).count() == 1
    assert editor.post(reverse("web:media"), {}).status_code == 400
    assert "spring.png" not in _text(editor.get(reverse("web:media"), {"kind": "video"}))
    assert "spring.png" in _text(editor.get(reverse("web:media"), {"kind": "photo"}))
    # Viewers without the upload permission see the library without the form.
    html = _text(_client(world.users[Role.ANALYST], world.ws).get(reverse("web:media")))
    assert "spring.png" in html and 'type="file"' not in html


# -- import and export ---------------------------------------------------------------------------

GOOD_CSV = (
    "date,time,channels,rubric,title,text,status\n"
    "2030-03-10,10:00,Alpha news,Useful,Tips,Five ways to brew,scheduled\n"
    ",,Alpha news,,,An idea without a date,draft\n"
)
BAD_CSV = (
    "date,time,channels,rubric,text,status\n"
    "2030-03-10,10:00,Alpha news,Useful,Fine row,draft\n"
    "2030-03-11,25:00,Alpha news,,Bad time,draft\n"
    "2030-03-12,10:00,Nowhere,,Unknown channel,draft\n"
    "2030-03-13,10:00,Alpha news,Missing,Unknown rubric,draft\n"
)


def _upload(client: Client, name: str, data: bytes) -> Any:
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(reverse("web:plan_import"), {"action": "preview", "file": handle})


def _stash_dir(settings: Any) -> Path:
    return Path(settings.RUPOR_HOME) / "tmp" / "plan-import"


def test_import_preview_then_confirm_creates_the_posts(world: World, settings: Any) -> None:
    manager = _client(world.users[Role.MANAGER], world.ws)
    before = Post.objects.count()
    response = _upload(manager, "march.csv", GOOD_CSV.encode())
    assert response.status_code == 200
    html = _text(response)
    assert "Preview of march.csv" in html and "Five ways to brew" in html and "An idea without a date" in html
    assert "2030-03-10" in html and "10:00" in html and "Import 2 posts" in html
    assert Post.objects.count() == before  # a preview creates nothing
    token = response.context["token"]
    stashed = list(_stash_dir(settings).iterdir())
    assert [p.name for p in stashed] == [f"{token}.csv"]
    assert stashed[0].stat().st_mode & 0o777 == 0o600
    # Confirming needs the token of this session's preview.
    response = manager.post(reverse("web:plan_import"), {"action": "confirm", "token": "x" * 32})
    assert response.status_code == 409 and Post.objects.count() == before
    response = manager.post(reverse("web:plan_import"), {"action": "confirm", "token": token}, follow=True)
    assert response.redirect_chain, (
        response.status_code,
        response.context.get("page_error"),
        response.context.get("preview"),
    )
    assert response.redirect_chain[-1][0] == reverse("web:posts")
    assert "Imported 2 posts from march.csv." in _text(response)
    assert Post.objects.count() == before + 2
    tips = Post.objects.get(workspace=world.ws, title="Tips")
    assert tips.scheduled_at == dt.datetime(2030, 3, 10, 7, 0, tzinfo=dt.UTC) and tips.rubric == world.useful
    assert not list(_stash_dir(settings).iterdir())
    # The preview is used once.
    response = manager.post(reverse("web:plan_import"), {"action": "confirm", "token": token})
    assert response.status_code == 409 and Post.objects.count() == before + 2


def test_import_xlsx_and_a_stale_preview(world: World, settings: Any) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in GOOD_CSV.strip().split("\n"):
        sheet.append(row.split(","))
    out = io.BytesIO()
    book.save(out)
    editor = _client(world.users[Role.EDITOR], world.ws)
    response = _upload(editor, "plan.xlsx", out.getvalue())
    # An editor may import drafts but not scheduled rows: every bad row is listed.
    assert response.status_code == 400
    assert [(p.row, p.message) for p in response.context["preview"]["problems"]] == [
        (2, "your role can import drafts but not scheduled posts"),
    ]
    manager = _client(world.users[Role.MANAGER], world.ws)
    response = _upload(manager, "plan.xlsx", out.getvalue())
    assert response.status_code == 200 and response.context["token"]
    clock.advance(dt.timedelta(hours=2))
    before = Post.objects.count()
    response = manager.post(
        reverse("web:plan_import"), {"action": "confirm", "token": response.context["token"]}
    )
    assert response.status_code == 409 and "upload the file again" in _text(response)
    assert Post.objects.count() == before
    assert not list(_stash_dir(settings).iterdir())


def test_a_broken_import_creates_nothing_and_lists_every_bad_row(world: World, settings: Any) -> None:
    manager = _client(world.users[Role.MANAGER], world.ws)
    before = Post.objects.count()
    response = _upload(manager, "bad.csv", BAD_CSV.encode())
    assert response.status_code == 400
    problems = [(p.row, p.message) for p in response.context["preview"]["problems"]]
    assert [row for row, _m in problems] == [3, 4, 5]
    html = _text(response)
    assert "3 rows have problems; nothing will be imported." in html
    assert "time '25:00' is not HH:MM (24-hour)" in html
    assert "channel 'Nowhere' does not exist in this workspace" in html
    assert "rubric 'Missing' does not exist in this workspace" in html
    assert "Fine row" in html  # the good rows are previewed too
    assert 'name="action" value="confirm"' not in html
    assert Post.objects.count() == before
    assert not _stash_dir(settings).exists() or not list(_stash_dir(settings).iterdir())
    # Files that cannot be read at all: the reason sits at the file field.
    for name, data, reason in [
        ("plan.txt", b"hello", "neither .csv nor .xlsx"),
        ("plan.xlsx", b"not a zip", "not a readable XLSX workbook"),
        ("plan.csv", b"date,colour\n1,2\n", "Unknown column(s): colour"),
        ("plan.csv", "channels,text\n".encode("cp1251") + "Привет".encode("cp1251"), "not UTF-8"),
    ]:
        response = _upload(manager, name, data)
        assert response.status_code == 400, name
        assert reason in response.context["form"].errors["file"][0], (name, response.context["form"].errors)
    assert manager.post(reverse("web:plan_import"), {"action": "preview"}).context["form"].errors["file"] == [
        "Choose a CSV or XLSX file."
    ]
    assert Post.objects.count() == before


def test_export_downloads_csv_and_xlsx(world: World) -> None:
    _post(world.owner, world.channel, when="2030-03-10T07:00", rubric=world.useful, text="Exported post")
    _post(world.owner, world.channel, when="2030-05-10T07:00", text="Later post")
    analyst = _client(world.users[Role.ANALYST], world.ws)
    response = analyst.get(reverse("web:plan_export"), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{world.ws.slug}-plan.csv"'
    body = response.content.decode("utf-8-sig")
    assert body.startswith("date,time,channels,rubric,title,text")
    assert "2030-03-10,10:00,Alpha news,Useful,,Exported post" in body and "Later post" in body
    assert "Beta idea" not in body
    response = analyst.get(
        reverse("web:plan_export"), {"format": "xlsx", "start": "2030-03-01", "end": "2030-03-31"}
    )
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    texts = [row[5] for row in sheet.iter_rows(values_only=True)]
    assert texts == ["text", "Exported post"]
    response = analyst.get(
        reverse("web:plan_export"), {"format": "csv", "start": "2030-03-31", "end": "2030-03-01"}, follow=True
    )
    assert "The export period is not valid" in _text(response)
    assert analyst.get(reverse("web:plan_export"), {"format": "pdf"}).status_code == 404
    client = _client(world.users[Role.MODERATOR], world.ws)
    assert client.get(reverse("web:plan_export"), {"format": "csv"}).status_code == 403


# -- client review ---------------------------------------------------------------------------------


def _client_mode(world: World) -> None:
    world.ws.approval = Workspace.Approval.CLIENT
    world.ws.save()


def _waiting(world: World, when: str, text: str) -> Post:
    post = _post(world.owner, world.channel, when=when, text=text)
    assert post.status == Post.Status.CLIENT_REVIEW
    return post


def _make_link(world: World, month: str = "2030-03") -> str:
    response = _client(world.users[Role.MANAGER], world.ws).post(
        reverse("web:plan_client_link"), {"month": month, "days": 7}
    )
    assert response.status_code == 201, response.context.get("link_error")
    url = response.context["new_link"]["url"]
    assert url.startswith("http://testserver/review/") and url in response.content.decode()
    return str(url).removeprefix("http://testserver")


def test_manager_creates_and_revokes_a_period_review_link(world: World) -> None:
    manager = _client(world.users[Role.MANAGER], world.ws)
    response = manager.post(reverse("web:plan_client_link"), {"month": "2030-03", "days": 7})
    assert response.status_code == 400
    assert "does not use client approval" in response.context["link_error"]
    _client_mode(world)
    _waiting(world, "2030-03-05T07:00", "Spring menu")
    assert "1 post in this period waits for the client." in _text(manager.get(reverse("web:plan")))
    response = manager.post(reverse("web:plan_client_link"), {"month": "2030-03", "days": 3})
    assert response.status_code == 201
    assert "It covers 1 post waiting for the client in this period." in _text(response)
    assert response.context["new_link"]["expires_at"] == NOW + dt.timedelta(days=3)
    assert manager.post(reverse("web:plan_client_link"), {"month": "2030-03", "days": 99}).status_code == 400
    # HTMX gets the card alone.
    response = manager.post(
        reverse("web:plan_client_link"), {"month": "2030-03", "days": 7}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and response.content.decode().lstrip().startswith(
        '<section class="card" id="client-links"'
    )
    link = ClientLink.objects.filter(workspace=world.ws).first()
    assert link is not None
    assert (
        _client(world.users[Role.EDITOR], world.ws)
        .post(reverse("web:plan_client_link_revoke", args=[link.pk]))
        .status_code
        == 403
    )
    assert manager.post(reverse("web:plan_client_link_revoke", args=[link.pk])).status_code == 302
    assert ClientLink.objects.get(pk=link.pk).revoked_at is not None
    beta_link = ClientLink.objects.create(
        workspace=world.other,
        token_hash="0" * 64,
        expires_at=NOW + dt.timedelta(days=1),
        period_start=NOW,
        period_end=NOW + dt.timedelta(days=1),
    )
    assert manager.post(reverse("web:plan_client_link_revoke", args=[beta_link.pk])).status_code == 404
    assert ClientLink.objects.get(pk=beta_link.pk).revoked_at is None


def test_client_approves_requests_changes_and_rejects_through_the_link(world: World) -> None:
    _client_mode(world)
    first = _waiting(world, "2030-03-05T07:00", "Spring menu is here")
    second = _waiting(world, "2030-03-06T07:00", "Meet our barista")
    third = _waiting(world, "2030-03-07T07:00", "Big sale")
    _post(world.owner, world.channel, text="Unrelated idea")  # not sent to the client
    url = _make_link(world)
    guest = Client(enforce_csrf_checks=True)
    page = guest.get(url)
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    assert "noindex" in page["X-Robots-Tag"]
    html = _text(page)
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert "Posts for Alpha" in html and "3 posts wait for your decision." in html
    assert "Spring menu is here" in html and "Unrelated idea" not in html
    assert "(Europe/Moscow)" in html and "10:00" in html
    assert 'class="sidebar"' not in html and "Sign out" not in html
    assert html.count('value="approve"') == 3
    csrf = guest.cookies["csrftoken"].value

    # CSRF is kept for anonymous visitors.
    assert guest.post(url, {"post": first.pk, "decision": "approve"}).status_code == 403
    assert Post.objects.get(pk=first.pk).status == Post.Status.CLIENT_REVIEW

    # Request changes needs a comment: the error sits at that post's comment field.
    response = guest.post(
        url, {"post": second.pk, "decision": "request_changes", "comment": "  ", "csrfmiddlewaretoken": csrf}
    )
    assert response.status_code == 400
    assert f'id="comment-{second.pk}-err"' in response.content.decode()
    assert "Say what should change: a comment is required." in _text(response)
    assert Post.objects.get(pk=second.pk).status == Post.Status.CLIENT_REVIEW

    response = guest.post(
        url, {"post": first.pk, "decision": "approve", "csrfmiddlewaretoken": csrf}, follow=True
    )
    assert "Thank you: the post is approved." in _text(response)
    assert Post.objects.get(pk=first.pk).status == Post.Status.SCHEDULED
    assert "You approved this post." in _text(response) and "2 posts wait for your decision." in _text(
        response
    )

    response = guest.post(
        url,
        {
            "post": second.pk,
            "decision": "request_changes",
            "comment": "Warmer photo, please",
            "csrfmiddlewaretoken": csrf,
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and response.content.decode().lstrip().startswith(
        '<div id="review-list"'
    )
    assert "the team will make the changes you asked for" in _text(response)
    assert Post.objects.get(pk=second.pk).status == Post.Status.CHANGES_REQUESTED

    response = guest.post(
        url, {"post": third.pk, "decision": "reject", "csrfmiddlewaretoken": csrf}, follow=True
    )
    assert Post.objects.get(pk=third.pk).status == Post.Status.REJECTED
    html = _text(response)
    assert "Thank you!" in html and "You have decided on every post." in html
    assert "Warmer photo, please" in html and "You rejected this post." in html
    assert 'value="approve"' not in html
    # A decided post cannot be decided again; a post the link does not cover is refused.
    response = guest.post(url, {"post": first.pk, "decision": "reject", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 400 and "not waiting for the client" in _text(response)
    response = guest.post(
        url, {"post": world.other_post.pk, "decision": "approve", "csrfmiddlewaretoken": csrf}
    )
    assert (
        response.status_code == 400 and Post.objects.get(pk=world.other_post.pk).status == Post.Status.DRAFT
    )
    # The link built by the service has no trailing slash; it works too.
    assert guest.get(url.rstrip("/")).status_code == 200


def test_expired_revoked_and_unknown_links_answer_a_clear_404(world: World) -> None:
    _client_mode(world)
    post = _waiting(world, "2030-03-05T07:00", "Spring menu")
    url = _make_link(world)
    for bad in ("/review/not-a-token/", "/review/" + "A" * 43 + "/"):
        response = Client().get(bad)
        assert response.status_code == 404
        assert "This review link has expired or was revoked" in _text(response)
        assert response["Referrer-Policy"] == "no-referrer"
    clock.advance(dt.timedelta(days=8))
    response = Client().get(url)
    assert response.status_code == 404 and "Ask the person who sent it to you for a new one." in _text(
        response
    )
    response = Client().post(url, {"post": post.pk, "decision": "approve"})
    assert response.status_code == 404
    assert Post.objects.get(pk=post.pk).status == Post.Status.CLIENT_REVIEW
    clock.freeze(NOW)
    link = ClientLink.objects.get(workspace=world.ws)
    approvals.revoke_client_link(world.owner, link.pk)
    assert Client().get(url).status_code == 404


def test_client_sees_the_posts_media_through_the_link_only(world: World) -> None:
    _client_mode(world)
    picture = media_lib.save_media(world.owner, "menu.png", _png("yellow", (120, 80)))
    post = planning.create_post(
        world.owner,
        planning.PostInput(
            text="With a picture",
            status="scheduled",
            scheduled_at=dt.datetime(2030, 3, 5, 7, tzinfo=dt.UTC),
            variants=(planning.VariantInput(world.channel.pk, media_ids=(picture.pk,)),),
        ),
    )
    assert post.status == Post.Status.CLIENT_REVIEW
    url = _make_link(world)
    token = url.strip("/").rsplit("/", 1)[1]
    guest = Client()
    html = guest.get(url).content.decode()
    media_url = reverse("web:client_review_media", args=[token, picture.pk])
    assert f"{media_url}?thumbnail=1" in html
    response = guest.get(media_url, {"thumbnail": "1"})
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    response = guest.get(media_url)
    with picture.file.open("rb") as original:
        assert response["Content-Type"] == "image/png" and response.getvalue() == original.read()
    # Media of posts the link does not cover, or of another workspace, are not served.
    assert (
        guest.get(reverse("web:client_review_media", args=[token, world.other_media.pk])).status_code == 404
    )
    stray = media_lib.save_media(world.owner, "stray.png", _png("black", (50, 50)))
    assert guest.get(reverse("web:client_review_media", args=[token, stray.pk])).status_code == 404
    assert guest.get(reverse("web:client_review_media", args=["x" * 43, picture.pk])).status_code == 404
