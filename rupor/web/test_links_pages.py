"""The links page: the table with clicks by network, the conventions form for managers (read
only for analysts), and the CSV export; the composer's preview shows the links as published."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rupor.accounts.models import Membership
from rupor.accounts.roles import Role
from rupor.links import service as links
from rupor.links.models import LinkSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(make_workspace: Any, make_user: Any) -> tuple[Client, Any]:
    owner = make_user()
    ws = make_workspace(owner=owner)
    client = Client()
    client.force_login(owner)
    return client, ws


def test_links_page_lists_links_and_saves_conventions(owner_client: tuple[Client, Any]) -> None:
    client, ws = owner_client
    LinkSettings.objects.create(workspace=ws, utm_enabled=True, short_links=True)
    ref = links.VariantRef(ws.pk, 12, 120, 1, "vk", rubric="News")
    code = links.track(ref, text="https://shop.example/x", link=None, first_comment=None).text.rsplit(
        "/l/", 1
    )[1]
    Client().get(f"/l/{code}", HTTP_USER_AGENT="Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)")
    page = client.get("/analytics/links/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f"/l/{code}" in body and "utm_source=vk" in body
    assert 'id="links-networks"' in body and 'name="short_domain"' in body
    saved = client.post(
        "/analytics/links/settings/",
        {"utm_enabled": "1", "medium": "paid_social", "campaign_source": "fixed", "campaign": "Spring Sale"},
    )
    assert saved.status_code == 302
    conv = links.conventions(ws.pk)
    assert (conv.medium, conv.campaign, conv.short_links) == ("paid_social", "spring_sale", False)
    assert conv.newsletter_medium == "email"  # a form without the newsletter fields keeps the medium
    client.post(
        "/analytics/links/settings/",
        {
            "medium": "social",
            "campaign_source": "rubric",
            "newsletter_links": "1",
            "newsletter_medium": "newsletter",
        },
    )
    conv = links.conventions(ws.pk)
    assert (conv.newsletter_links, conv.newsletter_medium) == (True, "newsletter")
    assert 'name="newsletter_medium"' in client.get("/analytics/links/").content.decode()
    exported = client.get("/analytics/links/export.csv?days=0")
    assert exported.content.decode().splitlines()[1].startswith(code)


def test_an_analyst_reads_the_conventions_but_cannot_change_them(
    owner_client: tuple[Client, Any], make_user: Any
) -> None:
    _, ws = owner_client
    analyst = make_user()
    Membership.objects.create(workspace=ws, user=analyst, role=Role.ANALYST)
    client = Client()
    client.force_login(analyst)
    page = client.get("/analytics/links/")
    assert page.status_code == 200
    assert 'id="ls-readonly"' in page.content.decode()
    assert (
        client.post("/analytics/links/settings/", {"utm_enabled": "1", "medium": "social"}).status_code == 403
    )
    assert links.conventions(ws.pk).utm_enabled is False


def test_clicks_show_on_the_analytics_overview_and_on_the_post(owner_client: tuple[Client, Any]) -> None:
    from rupor.planning.models import Post

    client, ws = owner_client
    LinkSettings.objects.create(workspace=ws, short_links=True)
    post = Post.objects.create(workspace=ws, title="Launch", text="https://shop.example/launch")
    ref = links.VariantRef(ws.pk, post.pk, 5000, 1, "telegram")
    code = links.track(ref, text=post.text, link=None, first_comment=None).text.rsplit("/l/", 1)[1]
    chrome = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/124.0.0.0 Safari/537.36"
    )
    Client().get(f"/l/{code}", HTTP_USER_AGENT=chrome, REMOTE_ADDR="203.0.113.4")
    overview = client.get("/analytics/?days=7").content.decode()
    assert 'id="link-clicks"' in overview
    edit = client.get(f"/posts/{post.pk}/edit/").content.decode()
    assert 'id="post-links"' in edit and f"<code>{code}</code>" in edit
