"""Every page, signed in or not, names the app's icon, and the icon is there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders


@pytest.mark.django_db
def test_login_page_links_the_favicon_that_exists(client):
    page = client.get("/login/").content.decode()
    link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert link, "no favicon link on the sign-in page"
    path = finders.find(link.group(1).split("/static/", 1)[1])
    assert path and Path(path).read_text().startswith("<svg")
