"""Two-factor sign-in in the browser's pages and the API: the second step (half signed in reaches
nothing), throttling, the profile's set-up and turning off, and a workspace's requirement."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from rupor.accounts import service as accounts
from rupor.accounts import twofactor
from rupor.accounts.models import AuthFailure, User, Workspace
from rupor.accounts.test_twofactor import code_for, turn_on
from rupor.core import clock
from rupor.planning import media as media_lib
from rupor.web.twofactor_views import PENDING_KEY

PASSWORD = "correct horse battery"
START = dt.datetime(2026, 3, 2, 9, 0, 10, tzinfo=dt.UTC)


@pytest.fixture
def ann(make_user: Any, make_workspace: Any) -> User:
    clock.freeze(START)
    user: User = make_user("ann@example.com")
    make_workspace("Acme", owner=user)
    return user


def _password_step(client: Client, email: str = "ann@example.com", nxt: str = "") -> Any:
    return client.post("/login/" + (f"?next={nxt}" if nxt else ""), {"username": email, "password": PASSWORD})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_without_two_factor_the_password_signs_in(ann: User) -> None:
    client = Client()
    response = _password_step(client)
    assert response.status_code == 302 and response["Location"] == "/"
    assert _signed_in(client)


def test_half_signed_in_reaches_nothing_until_the_code(ann: User) -> None:
    secret, _codes = turn_on(ann)
    client = Client()
    response = _password_step(client, nxt="/posts/")
    assert response.status_code == 302 and response["Location"] == "/login/two-factor/"
    assert not _signed_in(client)
    assert client.session[PENDING_KEY]["user"] == ann.pk
    for path in ("/", "/profile/", "/posts/", "/members/", "/profile/two-factor/"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer["Location"].startswith("/login/"), path
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/login/two-factor/")
    assert page.status_code == 200 and "ann@example.com" in page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0")

    wrong = "000000" if code_for(secret) != "000000" else "111111"
    refused = client.post("/login/two-factor/", {"code": wrong})
    assert refused.status_code == 400 and "That code is not right" in refused.content.decode()
    assert not _signed_in(client)
    assert AuthFailure.objects.filter(scope="2fa-account").count() == 1
    clock.advance(dt.timedelta(seconds=2))  # past the back-off of the wrong code
    done = client.post("/login/two-factor/", {"code": code_for(secret)})
    assert done.status_code == 302 and done["Location"] == "/posts/"
    assert _signed_in(client) and PENDING_KEY not in client.session
    assert not AuthFailure.objects.filter(scope="2fa-account").exists()
    assert client.get("/posts/").status_code == 200


def test_a_recovery_code_signs_in_once_with_a_warning(ann: User) -> None:
    _secret, codes = turn_on(ann)
    client = Client()
    _password_step(client)
    response = client.post("/login/two-factor/", {"code": codes[0]}, follow=True)
    assert _signed_in(client)
    assert "You signed in with a recovery code" in response.content.decode()
    other = Client()
    _password_step(other)
    again = other.post("/login/two-factor/", {"code": codes[0]})
    assert again.status_code == 400 and not _signed_in(other)


def test_the_second_step_is_throttled_like_the_password(ann: User) -> None:
    secret, _codes = turn_on(ann)
    client = Client()
    _password_step(client)
    wrong = "000000" if code_for(secret) != "000000" else "111111"
    for _ in range(5):
        clock.advance(dt.timedelta(seconds=40))  # past the device's own back-off each time
        assert client.post("/login/two-factor/", {"code": wrong}).status_code == 400
    clock.advance(dt.timedelta(seconds=1))
    throttled = client.post("/login/two-factor/", {"code": code_for(secret)})
    assert throttled.status_code == 429
    assert "Too many wrong codes" in throttled.content.decode()
    assert not _signed_in(client)
    # After the window the right code works (the password step was less than ten minutes ago).
    clock.advance(dt.timedelta(minutes=4))
    assert client.post("/login/two-factor/", {"code": code_for(secret)}).status_code == 302
    assert _signed_in(client)


def test_the_second_step_waits_ten_minutes_at_most(ann: User) -> None:
    secret, _codes = turn_on(ann)
    client = Client()
    _password_step(client)
    clock.advance(dt.timedelta(minutes=11))
    response = client.post("/login/two-factor/", {"code": code_for(secret)})
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert not _signed_in(client) and PENDING_KEY not in client.session
    assert client.get("/login/two-factor/")["Location"] == "/login/"


def test_a_password_change_between_the_steps_cancels_the_second(ann: User) -> None:
    secret, _codes = turn_on(ann)
    client = Client()
    _password_step(client)
    ann.set_password("another long passphrase")
    ann.save()
    response = client.post("/login/two-factor/", {"code": code_for(secret)})
    assert response["Location"] == "/login/" and not _signed_in(client)


def test_setting_it_up_on_the_profile(ann: User) -> None:
    client = Client()
    client.force_login(ann)
    profile = client.get("/profile/").content.decode()
    assert "Set up two-factor sign-in" in profile
    page = client.get("/profile/two-factor/")
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html
    setup = twofactor.begin(ann)
    assert setup.grouped in html
    refused = client.post("/profile/two-factor/", {"code": "12"})
    assert refused.status_code == 400 and "6-digit" in refused.content.decode()
    done = client.post("/profile/two-factor/", {"code": code_for(setup.secret)})
    assert done.status_code == 200 and done["Cache-Control"] == "no-store"
    codes_html = done.content.decode()
    assert codes_html.count("<li>") >= 10 and "shown only this once" in codes_html
    assert accounts.has_two_factor(ann.pk)
    profile = client.get("/profile/").content.decode()
    assert "10 unused recovery codes left" in profile
    assert client.get("/profile/two-factor/")["Location"] == "/profile/"


def test_turning_it_off_and_new_codes_need_the_password_or_a_code(ann: User) -> None:
    secret, old_codes = turn_on(ann)
    client = Client()
    client.force_login(ann)
    refused = client.post("/profile/two-factor/off/", {"off-proof": "wrong"})
    assert refused.status_code == 403
    assert "neither your password nor a current code" in refused.content.decode()
    assert accounts.has_two_factor(ann.pk)
    made = client.post("/profile/two-factor/recovery-codes/", {"codes-proof": code_for(secret)})
    assert made.status_code == 200 and made["Cache-Control"] == "no-store"
    assert "no longer work" in made.content.decode()
    assert twofactor.verify(ann, old_codes[0]) is None
    off = client.post("/profile/two-factor/off/", {"off-proof": PASSWORD})
    assert off.status_code == 302 and off["Location"] == "/profile/"
    assert not accounts.has_two_factor(ann.pk)


def test_wrong_proofs_are_throttled(ann: User) -> None:
    turn_on(ann)
    client = Client()
    client.force_login(ann)
    for _ in range(5):
        assert client.post("/profile/two-factor/off/", {"off-proof": "guess"}).status_code == 403
    throttled = client.post("/profile/two-factor/off/", {"off-proof": PASSWORD})
    assert throttled.status_code == 429 and accounts.has_two_factor(ann.pk)


def test_forms_need_the_csrf_token(ann: User) -> None:
    secret, _codes = turn_on(ann)
    client = Client(enforce_csrf_checks=True)
    client.force_login(ann)
    assert client.post("/profile/two-factor/off/", {"off-proof": PASSWORD}).status_code == 403
    assert client.post("/profile/two-factor/recovery-codes/", {"codes-proof": PASSWORD}).status_code == 403
    assert client.post("/settings/two-factor/", {"require_two_factor": "1"}).status_code == 403
    visitor = Client(enforce_csrf_checks=True)
    visitor.post("/login/", {"username": ann.email, "password": PASSWORD})
    assert visitor.post("/login/two-factor/", {"code": code_for(secret)}).status_code == 403
    assert accounts.has_two_factor(ann.pk)


def test_no_secret_reaches_the_logs(ann: User, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    client = Client()
    client.force_login(ann)
    client.get("/profile/two-factor/")
    setup = twofactor.begin(ann)
    first = code_for(setup.secret)
    codes_page = client.post("/profile/two-factor/", {"code": first}).content.decode()
    clock.advance(dt.timedelta(seconds=30))
    client.post("/logout/")
    _password_step(client)
    client.post("/login/two-factor/", {"code": "999999"})
    text = caplog.text
    assert setup.secret not in text and first not in text
    for line in codes_page.split("<li>")[1:]:
        assert line.split("</li>")[0] not in text


@pytest.fixture
def required(ann: User, make_user: Any, settings: Any, tmp_path: Any) -> dict[str, Any]:
    """Acme requires two-factor sign-in; Bob, a manager there, has not set it up."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    ws = Workspace.objects.get(name="Acme")
    owner = accounts.actor_for_user(ann, ws)
    assert owner is not None
    bob = make_user("bob@example.com")
    accounts.add_member(owner, bob.email, "manager")
    turn_on(ann)
    client = Client()
    client.force_login(ann)
    assert client.post("/settings/two-factor/", {"require_two_factor": "1"}).status_code == 302
    ws.refresh_from_db()
    assert ws.require_two_factor
    return {"ws": ws, "owner": owner, "bob": bob, "owner_client": client}


def test_members_without_it_are_sent_to_set_it_up_first(required: dict[str, Any], api_for: Any) -> None:
    bob: User = required["bob"]
    client = Client()
    client.force_login(bob)
    for path in ("/", "/posts/", "/members/", "/settings/", "/notifications/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/profile/two-factor/", path
    assert client.post("/posts/new/", {"text": "hello"})["Location"] == "/profile/two-factor/"
    htmx = client.get("/posts/", headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == "/profile/two-factor/"
    page = client.get("/profile/two-factor/", follow=True).content.decode()
    assert "Acme requires two-factor sign-in" in page
    assert client.get("/profile/").status_code == 200
    # The API refuses the session; API keys are not people and work as before.
    refused = client.get("/api/v1/posts")
    assert refused.status_code == 403 and "two-factor" in refused.json()["detail"]
    assert api_for(required["ws"], "manager").get("/posts").status_code == 200
    # Files of the workspace are not served to the session either.
    owner = required["owner"]
    picture = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(picture, "PNG")
    media = media_lib.save_media(owner, "dot.png", picture.getvalue())
    assert client.get(f"/media/{media.file.name}").status_code == 404
    # Once set up, everything is open.
    setup = twofactor.begin(bob)
    client.post("/profile/two-factor/", {"code": code_for(setup.secret)})
    assert client.get("/posts/").status_code == 200
    assert client.get("/api/v1/posts").status_code == 200
    assert client.get("/api/v1/me").json()["two_factor"] is True
    assert client.get(f"/media/{media.file.name}").status_code == 200


def test_members_page_and_api_show_who_has_it(required: dict[str, Any], api_for: Any) -> None:
    html = required["owner_client"].get("/members/").content.decode()
    assert "Not set up yet" in html and "requires two-factor sign-in" in html
    members = {m["email"]: m["two_factor"] for m in api_for(required["ws"], "manager").get("/members").json()}
    assert members == {"ann@example.com": True, "bob@example.com": False}
    me = api_for(required["ws"], "analyst").get("/me").json()
    assert me["workspace"]["require_two_factor"] is True and me["two_factor"] is None


def test_the_requirement_through_the_api(required: dict[str, Any], api_for: Any) -> None:
    def put(role: str, value: Any) -> Any:
        api = api_for(required["ws"], role)
        return api.client.put(
            "/api/v1/workspace/two-factor",
            json.dumps({"required": value}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {api.key}"},
        )

    assert put("admin", False).status_code == 403
    assert put("owner", "maybe").status_code == 422
    answer = put("owner", False)
    assert answer.status_code == 200 and answer.json()["require_two_factor"] is False
    assert not accounts.two_factor_required(required["ws"].pk)


def test_an_owner_without_it_cannot_require_it(ann: User, make_user: Any) -> None:
    client = Client()
    client.force_login(ann)
    response = client.post("/settings/two-factor/", {"require_two_factor": "1"}, follow=True)
    assert "Turn on two-factor sign-in for yourself first" in response.content.decode()
    assert not Workspace.objects.get(name="Acme").require_two_factor
