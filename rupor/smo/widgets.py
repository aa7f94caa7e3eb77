"""Community widgets for the company's site, built from the workspace's connected channels.

Each network's own embed code, as its documentation gives it (sources in docs/smo.md), filled
with the channel's ids and handles: known from the channel (VK, OK and Facebook ids), read from
the newest post Rupor published there (a Telegram username and post, an X handle, a Mastodon or
Bluesky post), or typed by a person where neither tells. These widgets are the networks' own
scripts: they load from the network when the snippet runs on the site, never inside Rupor.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.utils.html import format_html
from django.utils.translation import gettext as _

from rupor.networks.graph.wire import VERSION as GRAPH_VERSION

TELEGRAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
POST_NUMBER = re.compile(r"^[0-9]{1,12}$")
X_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
LINKEDIN_URN = re.compile(r"^urn:li:(share|ugcPost|activity):[0-9]{1,30}$")
_AT_POST = re.compile(r"^at://([A-Za-z0-9:._%-]{1,253})/app\.bsky\.feed\.post/([A-Za-z0-9._~:-]{1,64})$")
_BSKY_URL = re.compile(
    r"^https://bsky\.app/profile/([A-Za-z0-9:._%-]{1,253})/post/([A-Za-z0-9._~:-]{1,64})/?$"
)
_MASTODON_POST = re.compile(r"^/@[A-Za-z0-9_]{1,30}(@[A-Za-z0-9.-]{1,253})?/[0-9]{1,30}/?$")
_FACEBOOK_LOCALES = {"en": "en_US", "ru": "ru_RU", "ko": "ko_KR"}

#: Every network a widget is offered for, in the order the page shows them.
WIDGET_NETWORKS = ("vk", "telegram", "ok", "facebook", "x", "linkedin", "bluesky", "mastodon")


@dataclass(frozen=True)
class ChannelFacts:
    """What a widget is built from: the channel, and its newest post Rupor published (if any)."""

    id: int
    network: str
    name: str
    remote_id: str
    post_remote_id: str = ""
    post_url: str = ""


@dataclass(frozen=True)
class Field:
    """A value a person may type for a widget (the channel does not tell it)."""

    name: str
    label: str
    value: str
    help: str
    error: str = ""


@dataclass(frozen=True)
class Widget:
    channel_id: int
    channel_name: str
    network: str
    kind: str
    title: str
    #: The code to paste; "" while a field it needs is empty or wrong.
    snippet: str
    #: Where its script loads from (the preview's placeholder names it).
    script_host: str
    docs: str
    fields: tuple[Field, ...] = field(default=())
    note: str = ""


def _given(overrides: Mapping[str, str], channel_id: int, name: str) -> str | None:
    value = overrides.get(f"{channel_id}-{name}")
    return None if value is None else value.strip()[:300]


def _field(
    overrides: Mapping[str, str],
    channel: ChannelFacts,
    name: str,
    found: str,
    check: Callable[[str], str | None],
    label: str,
    help_text: str,
) -> tuple[Field, str]:
    """The field's value (typed, else found) and the value to use ("" when empty or wrong)."""
    typed = _given(overrides, channel.id, name)
    value = found if typed is None else typed
    error = check(value) if value else ""
    return Field(name, label, value, help_text, error or ""), ("" if error or not value else value)


# -- what a post's address tells -------------------------------------------------------------


def _telegram_from_post(channel: ChannelFacts) -> tuple[str, str]:
    """(username, post number) from the newest post's t.me address, or the channel's @name."""
    name = channel.remote_id[1:] if channel.remote_id.startswith("@") else ""
    number = channel.post_remote_id.split(",", 1)[0].strip() if channel.post_remote_id else ""
    parts = urlsplit(channel.post_url)
    if parts.hostname in ("t.me", "telegram.me"):
        path = [p for p in parts.path.split("/") if p]
        if len(path) >= 2 and path[0] != "c":
            name, number = path[0], path[1]
    return (name if TELEGRAM_NAME.match(name) else ""), (number if POST_NUMBER.match(number) else "")


def _x_handle(channel: ChannelFacts) -> str:
    parts = urlsplit(channel.post_url)
    if parts.hostname in ("x.com", "twitter.com", "www.x.com"):
        path = [p for p in parts.path.split("/") if p]
        if path and X_HANDLE.match(path[0]) and path[0] != "i":
            return path[0]
    name = channel.name.removeprefix("@")
    return name if channel.name.startswith("@") and X_HANDLE.match(name) else ""


def bluesky_uri(value: str) -> str | None:
    """An AT-URI of a post from an AT-URI or a bsky.app post address; None if neither."""
    found = _AT_POST.match(value)
    if found:
        return value
    found = _BSKY_URL.match(value)
    return f"at://{found.group(1)}/app.bsky.feed.post/{found.group(2)}" if found else None


def mastodon_post(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname) and bool(_MASTODON_POST.match(parts.path))


# -- the checks of typed values --------------------------------------------------------------


def _check_telegram_name(value: str) -> str | None:
    value = value.removeprefix("@")
    return (
        None
        if TELEGRAM_NAME.match(value)
        else _("A public channel's username: 5 to 32 letters, digits or _.")
    )


def _check_number(value: str) -> str | None:
    return (
        None if POST_NUMBER.match(value) else _("The post's number: the digits at the end of its t.me link.")
    )


def _check_x(value: str) -> str | None:
    return (
        None if X_HANDLE.match(value.removeprefix("@")) else _("An X handle: up to 15 letters, digits or _.")
    )


def _check_mastodon(value: str) -> str | None:
    return (
        None
        if mastodon_post(value)
        else _("A post's address, such as https://mastodon.social/@name/1234567890.")
    )


def _check_bluesky(value: str) -> str | None:
    return None if bluesky_uri(value) else _("A post's bsky.app address or its at:// URI.")


def _check_linkedin(value: str) -> str | None:
    return None if LINKEDIN_URN.match(value) else _("A post's URN, such as urn:li:share:7100000000000000000.")


# -- the widgets -----------------------------------------------------------------------------


def _vk(channel: ChannelFacts, _o: Mapping[str, str], _lang: str) -> list[Widget]:
    gid = re.sub(r"^(-|club|public)", "", channel.remote_id.strip())
    snippet = ""
    if gid.isdigit():
        element = f"vk_groups_{gid}"
        snippet = format_html(
            '<script src="https://vk.com/js/api/openapi.js?169"></script>\n'
            '<div id="{}"></div>\n'
            '<script>VK.Widgets.Group("{}", {{mode: 4, wide: 1, width: "auto", height: 400}}, {});</script>\n',
            element,
            element,
            gid,
        )
    return [
        Widget(
            channel.id,
            channel.name,
            "vk",
            "community",
            _("VK community widget: the community's wall and a subscribe button"),
            snippet,
            "vk.com",
            "https://dev.vk.com/ru/widgets/community",
            note="" if snippet else _("The channel's id is not a VK community id."),
        )
    ]


def _ok(channel: ChannelFacts, _o: Mapping[str, str], _lang: str) -> list[Widget]:
    gid = channel.remote_id.strip()
    snippet = ""
    if gid.isdigit():
        element = f"ok_group_{gid}"
        snippet = format_html(
            '<div id="{}"></div>\n'
            '<script src="https://connect.ok.ru/connect.js"></script>\n'
            '<script>OK.CONNECT.insertGroupWidget("{}", "{}", \'{{"width":250,"height":335}}\');</script>\n',
            element,
            element,
            gid,
        )
    return [
        Widget(
            channel.id,
            channel.name,
            "ok",
            "community",
            _("OK group widget: the group with its members and a join button"),
            snippet,
            "connect.ok.ru",
            "https://apiok.ru/ext/group",
            note="" if snippet else _("The channel's id is not an OK group id."),
        )
    ]


def _facebook(channel: ChannelFacts, _o: Mapping[str, str], lang: str) -> list[Widget]:
    page = f"https://www.facebook.com/{channel.remote_id.strip()}"
    snippet = format_html(
        '<div id="fb-root"></div>\n'
        '<script async defer crossorigin="anonymous" src="{}"></script>\n'
        '<div class="fb-page" data-href="{}" data-tabs="timeline" data-width="340" data-height="500" '
        'data-small-header="false" data-adapt-container-width="true" data-hide-cover="false" '
        'data-show-facepile="true"><blockquote cite="{}" class="fb-xfbml-parse-ignore">'
        '<a href="{}">{}</a></blockquote></div>\n',
        f"https://connect.facebook.net/{_FACEBOOK_LOCALES.get(lang, 'en_US')}/sdk.js#xfbml=1&version={GRAPH_VERSION}",
        page,
        page,
        page,
        channel.name,
    )
    return [
        Widget(
            channel.id,
            channel.name,
            "facebook",
            "page",
            _("Facebook Page plugin: the Page's timeline with Follow and Share"),
            snippet,
            "connect.facebook.net",
            "https://developers.facebook.com/docs/plugins/page-plugin",
        )
    ]


def _x(channel: ChannelFacts, overrides: Mapping[str, str], _lang: str) -> list[Widget]:
    handle_field, handle = _field(
        overrides,
        channel,
        "handle",
        _x_handle(channel),
        _check_x,
        _("X handle"),
        _("The account's @handle (it is read from the newest post Rupor published there)."),
    )
    handle = handle.removeprefix("@")
    snippet = (
        format_html(
            '<a class="twitter-timeline" data-height="500" href="https://twitter.com/{}">{}</a>\n'
            '<script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>\n',
            handle,
            _("Posts by @%(handle)s") % {"handle": handle},
        )
        if handle
        else ""
    )
    return [
        Widget(
            channel.id,
            channel.name,
            "x",
            "timeline",
            _("X profile timeline: the account's latest posts"),
            snippet,
            "platform.twitter.com",
            "https://developer.x.com/en/docs/x-for-websites/timelines/guides/profile-timeline",
            (handle_field,),
        )
    ]


def _telegram(channel: ChannelFacts, overrides: Mapping[str, str], _lang: str) -> list[Widget]:
    found_name, found_number = _telegram_from_post(channel)
    name_field, name = _field(
        overrides,
        channel,
        "username",
        found_name,
        _check_telegram_name,
        _("Channel username"),
        _("A public channel's @username: widgets show public channels only."),
    )
    number_field, number = _field(
        overrides,
        channel,
        "post",
        found_number,
        _check_number,
        _("Post number"),
        _("The number at the end of the post's t.me link (the newest post Rupor published is filled in)."),
    )
    name = name.removeprefix("@")
    script = "https://telegram.org/js/telegram-widget.js?22"
    post = (
        format_html(
            '<script async src="{}" data-telegram-post="{}/{}" data-width="100%"></script>\n',
            script,
            name,
            number,
        )
        if name and number
        else ""
    )
    discussion = (
        format_html(
            '<script async src="{}" data-telegram-discussion="{}" data-comments-limit="5" data-colorful="1"></script>\n',
            script,
            name,
        )
        if name
        else ""
    )
    return [
        Widget(
            channel.id,
            channel.name,
            "telegram",
            "post",
            _("Telegram post widget: one post of the channel"),
            post,
            "telegram.org",
            "https://core.telegram.org/widgets/post",
            (name_field, number_field),
        ),
        Widget(
            channel.id,
            channel.name,
            "telegram",
            "discussion",
            _("Telegram discussion widget: the channel's comments under the post that links this page"),
            discussion,
            "telegram.org",
            "https://core.telegram.org/widgets/discussion",
            (name_field,),
            note=_(
                'It finds the post by the page\'s address: the page needs <link rel="canonical" href="…">.'
            ),
        ),
    ]


def _mastodon(channel: ChannelFacts, overrides: Mapping[str, str], _lang: str) -> list[Widget]:
    found = channel.post_url if mastodon_post(channel.post_url) else ""
    post_field, post = _field(
        overrides,
        channel,
        "post",
        found,
        _check_mastodon,
        _("Post address"),
        _("Mastodon embeds single posts (the newest post Rupor published is filled in)."),
    )
    post = post.rstrip("/")
    host = urlsplit(post).hostname or ""
    snippet = (
        format_html(
            '<iframe src="{}/embed" class="mastodon-embed" style="max-width: 100%; border: 0" width="400" '
            'allowfullscreen="allowfullscreen" title="{}"></iframe>\n'
            '<script src="https://{}/embed.js" async="async"></script>\n',
            post,
            _("Post on Mastodon"),
            host,
        )
        if post
        else ""
    )
    return [
        Widget(
            channel.id,
            channel.name,
            "mastodon",
            "post",
            _("Mastodon post embed"),
            snippet,
            host or _("the post's server"),
            "https://docs.joinmastodon.org/methods/oembed/",
            (post_field,),
            note=_("Mastodon has no profile widget: embed posts, and link the profile."),
        )
    ]


def _bluesky(channel: ChannelFacts, overrides: Mapping[str, str], _lang: str) -> list[Widget]:
    found = channel.post_remote_id if bluesky_uri(channel.post_remote_id) else ""
    post_field, post = _field(
        overrides,
        channel,
        "post",
        found,
        _check_bluesky,
        _("Post"),
        _("Bluesky embeds single posts: its bsky.app address or at:// URI (the newest is filled in)."),
    )
    uri = bluesky_uri(post) or ""
    snippet = ""
    if uri:
        found_uri = _AT_POST.match(uri)
        assert found_uri is not None
        actor, rkey = found_uri.group(1), found_uri.group(2)
        snippet = format_html(
            '<blockquote class="bluesky-embed" data-bluesky-uri="{}" data-bluesky-embed-color-mode="system">'
            '<p><a href="https://bsky.app/profile/{}/post/{}">{}</a></p></blockquote>\n'
            '<script async src="https://embed.bsky.app/static/embed.js" charset="utf-8"></script>\n',
            uri,
            actor,
            rkey,
            _("A post by %(name)s on Bluesky") % {"name": channel.name},
        )
    return [
        Widget(
            channel.id,
            channel.name,
            "bluesky",
            "post",
            _("Bluesky post embed"),
            snippet,
            "embed.bsky.app",
            "https://docs.bsky.app/docs/advanced-guides/oembed",
            (post_field,),
            note=_("Bluesky has no profile widget: embed posts, and link the profile."),
        )
    ]


def _linkedin(channel: ChannelFacts, overrides: Mapping[str, str], _lang: str) -> list[Widget]:
    found = channel.post_remote_id if LINKEDIN_URN.match(channel.post_remote_id) else ""
    post_field, post = _field(
        overrides,
        channel,
        "post",
        found,
        _check_linkedin,
        _("Post URN"),
        _("LinkedIn embeds single posts (the newest post Rupor published is filled in)."),
    )
    snippet = (
        format_html(
            '<iframe src="https://www.linkedin.com/embed/feed/update/{}" height="600" width="504" '
            'style="max-width: 100%; border: 0" allowfullscreen title="{}"></iframe>\n',
            post,
            _("Post on LinkedIn"),
        )
        if post
        else ""
    )
    return [
        Widget(
            channel.id,
            channel.name,
            "linkedin",
            "post",
            _("LinkedIn post embed"),
            snippet,
            "www.linkedin.com",
            "https://www.linkedin.com/help/linkedin/answer/a563183",
            (post_field,),
            note=_("LinkedIn offers no Page widget: embed posts, and link the Page."),
        )
    ]


_BUILDERS: dict[str, Callable[[ChannelFacts, Mapping[str, str], str], list[Widget]]] = {
    "vk": _vk,
    "telegram": _telegram,
    "ok": _ok,
    "facebook": _facebook,
    "x": _x,
    "linkedin": _linkedin,
    "bluesky": _bluesky,
    "mastodon": _mastodon,
}


def widgets_for(channel: ChannelFacts, overrides: Mapping[str, str], language: str) -> list[Widget]:
    """The widgets of one channel (none for a network without one)."""
    builder = _BUILDERS.get(channel.network)
    return builder(channel, overrides, language) if builder is not None else []
