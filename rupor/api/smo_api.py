"""The SMO kit over the API: share-button snippets, the networks' community widgets for the
workspace's channels, and the link-preview check (``smo.service``; whoever writes content)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS
from rupor.smo import service as smo

router = Router(tags=["smo"])


class ShareIn(Schema):
    networks: list[str] = Field(
        default_factory=lambda: list(smo.ShareOptions().networks),
        description="Buttons, in any order: vk, telegram, ok, facebook, x, linkedin, bluesky, mastodon, web_share",
    )
    style: str = Field("icons_labels", description="icons, icons_labels or labels")
    size: str = Field("md", description="sm, md or lg")
    colour: str = Field("brand", description="brand (each network's colour) or mono (mono_colour)")
    mono_colour: str = Field("#1f2937", description="#rrggbb, for colour=mono")
    page: str = Field(
        "current",
        description="current: the page the buttons are on (read by the script); fixed: url and title",
    )
    url: str = Field("", description="The page shared, for page=fixed")
    title: str = Field("", description="Its title, for page=fixed (at most 200 characters)")
    utm: bool = Field(
        True, description="Tag the shared address: utm_source=network, utm_medium from the conventions"
    )
    campaign: str = Field("share_buttons", description="utm_campaign")
    language: str = Field("en", description="The buttons' language: en, ru or ko")
    instance: str = Field("mastodon.social", description="The Mastodon server the button offers first")


class ShareOut(Schema):
    snippet: str = Field(description="Self-contained HTML, CSS and script to paste into the site")
    links: dict[str, str] = Field(description="Each button's share address (page=fixed only)")
    tagged: dict[str, str] = Field(
        description="The address visitors from each network arrive at (page=fixed only)"
    )
    medium: str = Field(description="The utm_medium of the workspace's link conventions")


class WidgetFieldOut(Schema):
    name: str
    label: str
    value: str
    help: str
    error: str


class WidgetOut(Schema):
    channel_id: int
    channel_name: str
    network: str
    kind: str = Field(description="community, page, timeline, post or discussion")
    title: str
    snippet: str = Field(
        description="The network's embed code; empty while a field it needs is empty or wrong"
    )
    script_host: str = Field(description="Where the widget's script loads from")
    docs: str
    fields: list[WidgetFieldOut]
    note: str


class CheckIn(Schema):
    url: str = Field(description="The page to check: an absolute http(s) address")


class ProblemOut(Schema):
    level: str = Field(description="error, warning or info")
    code: str
    message: str
    fix: str


class HopOut(Schema):
    url: str
    status: int


class ImageOut(Schema):
    url: str
    final_url: str
    status: int | None
    content_type: str
    format: str
    width: int | None
    height: int | None
    bytes: int | None
    problem: str


class CardOut(Schema):
    network: str
    name: str
    level: str = Field(description="error, warning or ok")
    title: str
    title_source: str
    shown_title: str = Field(description="The title as the network shows it (cut)")
    description: str
    description_source: str
    shown_description: str
    site_name: str
    domain: str
    image_url: str
    image_source: str
    layout: str = Field(description="large, small or none: how the picture is shown")
    ratio_label: str
    documented: bool = Field(description="The figures come from the network's documentation")
    note: str
    problems: list[ProblemOut]


class MetaOut(Schema):
    page_url: str
    title: str
    description: str
    canonical: str
    lang: str
    tags: dict[str, str]


class CheckOut(Schema):
    url: str
    final_url: str
    hops: list[HopOut]
    status: int
    content_type: str
    bytes_read: int
    truncated: bool
    level: str = Field(description="The worst problem over the page and its cards: error, warning or ok")
    meta: MetaOut
    images: list[ImageOut]
    cards: list[CardOut]
    problems: list[ProblemOut]


@router.post(
    "/smo/share-buttons",
    response={200: ShareOut, **ERRORS},
    summary="Share buttons for the site, as a snippet",
)
def share_buttons(request: HttpRequest, payload: ShareIn) -> Any:
    who = _need(request, Perm.POSTS_EDIT)
    options = smo.parse_share_options(payload.dict(), language=payload.language)
    kit = smo.share_kit(who, options)
    return {"snippet": kit.snippet, "links": kit.links, "tagged": kit.tagged, "medium": kit.medium}


@router.get(
    "/smo/widgets",
    response={200: list[WidgetOut], **ERRORS},
    summary="The networks' community widgets for the workspace's channels",
)
def widgets(request: HttpRequest, language: str = "en") -> Any:
    who = _need(request, Perm.POSTS_EDIT)
    return [dataclasses.asdict(w) for w in smo.community_widgets(who, {}, language=language)]


@router.post(
    "/smo/link-check",
    response={200: CheckOut, **ERRORS},
    summary="How each network will show a link, and what to fix (422: cannot be read; 502: unreachable)",
)
def link_check(request: HttpRequest, payload: CheckIn) -> Any:
    who = _need(request, Perm.POSTS_EDIT)
    return smo.check_data(smo.check_link(who, payload.url))
