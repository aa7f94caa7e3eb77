"""The typed request: what workspace_view hands a view, and the guard on reading it elsewhere."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from rupor.accounts.roles import Role
from rupor.web.base import workspace_request

pytestmark = pytest.mark.django_db


def test_a_workspace_page_gets_the_workspace_and_the_role_as_a_role(client, make_user, make_workspace):
    owner = make_user()
    workspace = make_workspace(owner=owner)
    client.force_login(owner)
    response = client.get("/members/")
    assert response.status_code == 200
    request = workspace_request(response.wsgi_request)
    assert request.workspace == workspace
    assert request.role is Role.OWNER
    assert request.user == owner


def test_reading_it_outside_a_workspace_page_is_a_programming_error():
    with pytest.raises(RuntimeError, match="workspace_view"):
        workspace_request(RequestFactory().get("/"))
