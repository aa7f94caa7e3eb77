"""The SMO kit for the company's site: what the web page, the API and the CLI call.

- :func:`share_kit`: share buttons as a self-contained snippet (:mod:`rupor.smo.share`), tagged
  with the workspace's UTM conventions (``links.service``).
- :func:`community_widgets`: the networks' own widgets for the workspace's channels
  (:mod:`rupor.smo.widgets`).
- :func:`check_link`: how each network will show a link, and what to fix (:mod:`rupor.smo.check`).

Whoever writes content may use the kit (``Perm.POSTS_EDIT``: owners, admins, managers, editors).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor
from rupor.channels import service as channels
from rupor.core.errors import DomainError
from rupor.core.urls import url_problem
from rupor.links import service as links
from rupor.publishing import service as publishing
from rupor.smo import share as share_mod
from rupor.smo import widgets as widget_mod
from rupor.smo.catalog import SHARE_KEYS, SHARE_TARGETS, WEB_SHARE
from rupor.smo.check import CheckFailure, LinkCheck, check
from rupor.smo.share import ShareOptions
from rupor.smo.widgets import ChannelFacts, Widget

__all__ = [
    "LinkCheck",
    "ShareKit",
    "ShareOptions",
    "SmoError",
    "Widget",
    "check_address",
    "check_data",
    "check_link",
    "community_widgets",
    "parse_share_options",
    "share_kit",
]

#: The longest title a share button passes on (Bluesky's whole post is 300 graphemes).
MAX_TITLE = 200
#: Fetch failures that are the far side's (the API answers 502); the others are the address's (422).
UPSTREAM = {"unreachable", "timeout"}


class SmoError(DomainError):
    """A refusal of the SMO kit; ``code`` says which (``invalid_url``, ``blocked``, ``timeout``…)."""

    def __init__(self, message: str, field: str | None = None, status: int = 400, code: str = "") -> None:
        super().__init__(message, field, status)
        self.code = code or "invalid"


def _require(actor: Actor) -> None:
    if not actor.can(Perm.POSTS_EDIT):
        raise SmoError(_("Your role does not allow this."), status=403, code="forbidden")


def clean_url(value: str, field: str = "url") -> str:
    """An address a person typed, stripped and checked (absolute http(s)); refused with a sentence."""
    url = (value or "").strip()
    if not url:
        raise SmoError(_("Give the page's address, starting with https://."), field, code="invalid_url")
    problem = url_problem(url)
    if problem:
        raise SmoError(problem, field, code="invalid_url")
    return url


# -- share buttons ---------------------------------------------------------------------------


def _choice(value: str | None, allowed: Iterable[str], default: str, field: str) -> str:
    if value is None or value == "":
        return default
    if value not in allowed:
        raise SmoError(
            _("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)}, field, code="invalid"
        )
    return value


def parse_share_options(data: Mapping[str, object], *, language: str = "en") -> ShareOptions:
    """Share options from a form, a query or a JSON body; each field checked, refusals name it.

    ``networks`` is a list or a comma-separated string of keys (``vk``, ``telegram``, ``ok``,
    ``facebook``, ``x``, ``linkedin``, ``bluesky``, ``mastodon``, ``web_share``)."""
    raw = data.get("networks")
    items = (
        raw.split(",")
        if isinstance(raw, str)
        else [str(v) for v in raw]
        if isinstance(raw, list | tuple)
        else []
    )
    chosen = [n.strip().lower() for n in items if str(n).strip()]
    unknown = [n for n in chosen if n not in SHARE_KEYS]
    if unknown:
        raise SmoError(
            _("Unknown button %(name)s; use: %(keys)s.")
            % {"name": repr(unknown[0][:40]), "keys": ", ".join(SHARE_KEYS)},
            "networks",
            code="invalid",
        )
    if raw is not None and not chosen:
        raise SmoError(_("Choose at least one button."), "networks", code="invalid")
    defaults = ShareOptions()
    networks = tuple(k for k in SHARE_KEYS if k in chosen) if chosen else defaults.networks

    def text(name: str) -> str | None:
        value = data.get(name)
        return None if value is None else str(value).strip()

    page = _choice(text("page"), share_mod.PAGES, defaults.page, "page")
    url = text("url") or ""
    title = text("title") or ""
    if page == "fixed":
        url = clean_url(url)
        if not title:
            raise SmoError(_("Give the page's title: the networks' share windows start with it."), "title")
    if len(title) > MAX_TITLE:
        raise SmoError(_("Keep the title within %(max)s characters.") % {"max": MAX_TITLE}, "title")
    mono = (text("mono_colour") or defaults.mono_colour).lower()
    if not share_mod.valid_colour(mono):
        raise SmoError(_("A colour is written #rrggbb, such as #1f2937."), "mono_colour")
    instance = (text("instance") or defaults.instance).lower()
    if not share_mod.valid_instance(instance):
        raise SmoError(_("Type a server name such as mastodon.social."), "instance")
    utm = data.get("utm")
    campaign = links.tag_slug(text("campaign") or "") if text("campaign") is not None else defaults.campaign
    return ShareOptions(
        networks=networks,
        style=_choice(text("style"), share_mod.STYLES, defaults.style, "style"),
        size=_choice(text("size"), tuple(share_mod.SIZES), defaults.size, "size"),
        colour=_choice(text("colour"), share_mod.COLOURS, defaults.colour, "colour"),
        mono_colour=mono,
        page=page,
        url=url,
        title=title,
        utm=defaults.utm if utm is None else str(utm).lower() in ("1", "true", "on", "yes"),
        campaign=campaign[:100],
        language=_choice(
            text("language"),
            share_mod.LANGUAGES,
            language if language in share_mod.LANGUAGES else "en",
            "language",
        ),
        instance=instance,
    )


@dataclass(frozen=True)
class ShareKit:
    options: ShareOptions
    snippet: str
    #: Each button's share address (a fixed page only; "current page" fills them on the site).
    links: dict[str, str]
    #: The address each network's visitors arrive at (tagged), a fixed page only.
    tagged: dict[str, str]
    medium: str


def share_kit(actor: Actor, options: ShareOptions) -> ShareKit:
    """The share buttons' snippet for ``options``, tagged by the workspace's conventions."""
    _require(actor)
    medium = links.conventions(actor.workspace_id).medium
    tagged: dict[str, str] = {}
    out_links: dict[str, str] = {}
    if options.page == "fixed":
        for key in options.networks:
            tagged[key] = (
                links.tag_for_network(
                    options.url, key, medium=medium, campaign=options.campaign, content="share_button"
                )
                if options.utm
                else options.url
            )
            if key in SHARE_TARGETS and not SHARE_TARGETS[key].needs_instance:
                out_links[key] = SHARE_TARGETS[key].link(tagged[key], options.title)
            elif key in SHARE_TARGETS:
                out_links[key] = SHARE_TARGETS[key].link(tagged[key], options.title, options.instance)
    snippet = share_mod.snippet(options, tagged, medium)
    return ShareKit(options=options, snippet=snippet, links=out_links, tagged=tagged, medium=medium)


def share_keys() -> tuple[str, ...]:
    return SHARE_KEYS


def share_names() -> dict[str, str]:
    names = {k: t.name for k, t in SHARE_TARGETS.items()}
    names[WEB_SHARE] = "Web Share"
    return names


# -- community widgets -----------------------------------------------------------------------


def community_widgets(actor: Actor, overrides: Mapping[str, str], *, language: str = "en") -> list[Widget]:
    """The widgets of the workspace's live channels, in the network order of the kit."""
    _require(actor)
    found = [
        c for c in channels.workspace_channels(actor.workspace_id) if c.network in widget_mod.WIDGET_NETWORKS
    ]
    found.sort(key=lambda c: (widget_mod.WIDGET_NETWORKS.index(c.network), c.name.lower()))
    out: list[Widget] = []
    with translation.override(language if language in share_mod.LANGUAGES else "en"):
        for ref in found:
            newest = publishing.published_posts(ref.id, limit=1)
            facts = ChannelFacts(
                id=ref.id,
                network=ref.network,
                name=ref.name,
                remote_id=ref.remote_id,
                post_remote_id=newest[0].remote_id if newest else "",
                post_url=newest[0].remote_url if newest else "",
            )
            out += widget_mod.widgets_for(facts, overrides, language)
    return out


# -- the link-preview checker ----------------------------------------------------------------


def check_link(actor: Actor, url: str) -> LinkCheck:
    """Fetch ``url`` as the networks do and say how each shows it. Refusals: 400 a malformed
    address, 422 one Rupor may not or cannot read (private, not a page, an error status, too big,
    redirect loops), 502 when its server is unreachable or too slow."""
    _require(actor)
    return check_address(url)


def check_address(url: str) -> LinkCheck:
    """:func:`check_link` without a workspace: for the operator's command line."""
    clean = clean_url(url)
    try:
        return check(clean)
    except CheckFailure as exc:
        raise SmoError(
            exc.message, "url", status=502 if exc.code in UPSTREAM else 422, code=exc.code
        ) from exc


def check_data(result: LinkCheck) -> dict[str, object]:
    """``result`` as plain data for the API and the CLI's JSON (the previews' thumbnails left out)."""
    data = dataclasses.asdict(result)
    for image in data["images"]:
        image.pop("thumbnail", None)
    for card in data["cards"]:
        card.pop("image_thumbnail", None)
    data["level"] = result.level
    for card, found in zip(data["cards"], result.cards, strict=True):
        card["level"] = found.level
    return data
