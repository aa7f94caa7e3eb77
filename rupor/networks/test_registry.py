"""The registry is the one place a network's key, name and short mark are written."""

from __future__ import annotations

from django.template import Context, Template

from rupor.api.schemas import ChannelIn
from rupor.networks import registry


def test_every_network_has_a_name_and_a_short_mark() -> None:
    assert set(registry.ABBREVIATIONS) == set(registry.DISPLAY_NAMES)
    assert {"vk", "telegram", "ok"} <= set(registry.DISPLAY_NAMES)
    assert registry.display_name("vk") == "VKontakte" and registry.abbreviation("telegram") == "TG"
    assert registry.display_name("myspace") == "myspace" and registry.abbreviation("myspace") == "MY"


def test_the_web_and_the_api_read_the_registry() -> None:
    rendered = Template("{% load rupor_ui %}{{ k|network_name }}/{{ k|network_abbr }}").render(
        Context({"k": "ok"})
    )
    assert rendered == "Odnoklassniki/OK"
    enum = ChannelIn.model_json_schema()["properties"]["network"]["enum"]
    assert enum == list(registry.DISPLAY_NAMES)
