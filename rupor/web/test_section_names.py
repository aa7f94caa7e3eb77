"""The sidebar names sections, not states: «Публикации» / «게시», not «Публикуется» (is being published)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from rupor.accounts.roles import Role
from rupor.web import test_composer
from rupor.web.test_composer import World

world = test_composer.world  # the composer tests' workspace and members


@pytest.mark.parametrize(
    ("lang", "section", "state"), [("ru", "Публикации", "Публикуется"), ("ko", "게시", "게시 중")]
)
def test_publishing_section_is_named_as_a_section(world: World, lang: str, section: str, state: str) -> None:
    client = world.client(Role.OWNER)
    client.cookies["django_language"] = lang
    with translation.override("en"):  # the middleware switches this thread's language; leave it as it was
        page = client.get(reverse("web:dashboard")).content.decode()
        heading = client.get(reverse("web:publishing")).content.decode()
    link = re.search(r'<a[^>]*href="/publishing/"[^>]*>(.*?)</a>', page, re.S)
    assert link, "no sidebar link to the publishing page"
    assert section in link.group(1) and state not in link.group(1)
    assert f"<h1>{section}</h1>" in heading
    with translation.override(lang):  # the state keeps its own word
        assert translation.gettext("Publishing") == state
