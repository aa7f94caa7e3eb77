"""No 500s on odd input: every page of the web app (read from the URL resolver), for each role,
fed huge, negative and non-numeric values in every query parameter and form field it may read,
and impossible ids in its URL, answers a page, a form error, a 400 or a 404 — never a 5xx."""

from __future__ import annotations

import inspect

import pytest
from django import forms as djforms
from django.test import Client
from django.urls import reverse

from rupor.accounts.roles import Role, can
from rupor.web import forms as web_forms
from rupor.web import plan_views
from rupor.web.test_role_matrix import PUBLIC, Route, World, _client, _kwargs, routes, two  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"
ODD_VALUES = [HUGE, "-1", "abc", "1e400", "\uff10\uff11", "", "2024-13-45", "9999-12-31T23:59", "0001-01-01"]
#: Query parameters the web views read (besides form fields, which are collected from the forms).
QUERY_KEYS = [
    "status",
    "channel",
    "rubric",
    "author",
    "page",
    "view",
    "date",
    "start",
    "end",
    "month",
    "kind",
    "format",
    "scheduled_at",
    "next",
    "thumbnail",
    "post",
    "when",
    "days",
    "decision",
    "action",
    "remote_url",
    "workspace",
    "channels",
    "media",
    "preview",
    "token",
    "form",
    "delete",
    "color",
    "title",
    "text",
    "comment",
    # The audit trail's filters and pages, the notification list, the email preferences.
    "who",
    "object_type",
    "object_id",
    "from",
    "to",
    "q",
    "before",
    "after",
    "unread",
    "digest",
    "digest_hour",
    "timezone",
    "email_failed",
    # the SMO kit's form and checker
    "url",
    "networks",
    "style",
    "size",
    "colour",
    "mono_colour",
    "utm",
    "campaign",
    "language",
    "instance",
    "source",
    "by",
]
#: Pages whose POST destroys what later pages need: they go last.
LAST = ("delete", "remove", "revoke", "logout", "switch")


def _form_fields() -> set[str]:
    names: set[str] = set()
    for module in (web_forms, plan_views):
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, djforms.Form) and cls.__module__ == module.__name__:
                names.update(cls.base_fields)
    return names


def _ordered() -> list[Route]:
    return sorted(routes(), key=lambda r: any(word in r.name for word in LAST))


def _odd_data(world: World, value: str) -> dict[str, str]:
    channel = world.ids["channel_id"]
    data = dict.fromkeys([*QUERY_KEYS, *_form_fields()], value)
    for name in (
        "variant_text",
        "variant_link",
        "variant_media",
        "variant_media_follows",
        "variant_poll",
        "variant_poll_question",
        "variant_poll_option",
        "variant_first_comment",
        "variant_format",
    ):
        data[f"{name}_{channel}"] = value
    data[f"m{world.ids['membership_id']}-role"] = value
    return data


@pytest.mark.parametrize("role", list(Role))
def test_odd_query_and_form_values_never_answer_a_server_error(two: tuple[World, World], role: Role) -> None:  # noqa: F811 - the fixture imported above, as pytest hands it in
    world, _other = two
    client = _client(world, role)
    client.raise_request_exception = False
    problems = []
    for route in _ordered():
        perm = getattr(route.callback, "required_perm", None)
        if route.name == "web:logout" or (perm is not None and not can(role, perm)):
            continue  # refused before any input is read (test_role_matrix)
        url = reverse(route.name, kwargs=_kwargs(route, world))
        # Every value for the owner (who reaches every page); the commonest traps for the others.
        for value in ODD_VALUES if role == Role.OWNER else ODD_VALUES[:3]:
            data = _odd_data(world, value)
            for method in ("get", "post"):
                status = getattr(client, method)(url, data).status_code
                if status >= 500:
                    problems.append((route.name, method, value, status))
    assert not problems, problems


def test_impossible_ids_in_urls_are_not_found(two: tuple[World, World]) -> None:  # noqa: F811 - the fixture imported above, as pytest hands it in
    world, _other = two
    client = _client(world, Role.OWNER)
    client.raise_request_exception = False
    problems = []
    for route in _ordered():
        ints = [p for p in route.params if p.endswith("_id")]
        if not ints:
            continue
        for value in (HUGE, "9223372036854775808", "0"):
            kwargs = _kwargs(route, world)
            url = reverse(route.name, kwargs=kwargs)
            for param in ints:
                url = url.replace(f"/{kwargs[param]}/", f"/{value}/", 1)
            for method in ("get", "post"):
                status = getattr(client, method)(url, {}).status_code
                if status >= 500 or status == 200:
                    problems.append((route.name, method, url, status))
    assert not problems, problems


def test_every_public_page_survives_odd_tokens() -> None:
    client = Client(raise_request_exception=False)
    problems = []
    for route in routes():
        if route.name not in PUBLIC or not route.params:
            continue
        kwargs = {p: ("x" * 300 if p in ("token", "network", "path") else HUGE) for p in route.params}
        url = reverse(route.name, kwargs=kwargs)
        for method in ("get", "post"):
            status = getattr(client, method)(
                url, {"post": HUGE, "decision": "approve", "fingerprint": "x"}
            ).status_code
            if status >= 500:
                problems.append((route.name, method, status))
    assert not problems, problems
