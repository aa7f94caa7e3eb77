"""What the SMO kit knows about each network, as data: share links, icons and link cards.

Sources for every figure are in docs/smo.md. Networks publish few numbers about their link cards;
where one publishes none, the figure here is the common practice the docs name as such, and the
checker words it as advice ("warning"), never as the network's refusal ("error").
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# -- share buttons ---------------------------------------------------------------------------

#: The native Web Share API button's key (not a network: the visitor's device offers its apps).
WEB_SHARE = "web_share"


@dataclass(frozen=True)
class ShareTarget:
    """One share button: where it sends the visitor, with ``{url}`` and ``{title}`` to fill in
    (each URL-encoded); ``{text}`` is the title and the address together, for networks whose
    share link takes only text."""

    key: str
    name: str
    template: str
    #: The link needs the visitor's own server first (Mastodon): the snippet asks for it.
    needs_instance: bool = False

    def link(self, url: str, title: str, instance: str = "") -> str:
        text = f"{title} {url}".strip()
        return (
            self.template.replace("{instance}", instance)
            .replace("{url}", quote(url, safe=""))
            .replace("{title}", quote(title, safe=""))
            .replace("{text}", quote(text, safe=""))
        )


SHARE_TARGETS: dict[str, ShareTarget] = {
    t.key: t
    for t in (
        ShareTarget("vk", "VK", "https://vk.com/share.php?url={url}&title={title}"),
        ShareTarget("telegram", "Telegram", "https://t.me/share/url?url={url}&text={title}"),
        ShareTarget("ok", "OK", "https://connect.ok.ru/offer?url={url}&title={title}"),
        ShareTarget("facebook", "Facebook", "https://www.facebook.com/sharer/sharer.php?u={url}"),
        ShareTarget("x", "X", "https://twitter.com/intent/tweet?url={url}&text={title}"),
        ShareTarget("linkedin", "LinkedIn", "https://www.linkedin.com/sharing/share-offsite/?url={url}"),
        ShareTarget("bluesky", "Bluesky", "https://bsky.app/intent/compose?text={text}"),
        ShareTarget("mastodon", "Mastodon", "https://{instance}/share?text={text}", needs_instance=True),
    )
}
#: Every button the kit offers, in the order it shows them.
SHARE_KEYS: tuple[str, ...] = (*SHARE_TARGETS, WEB_SHARE)


@dataclass(frozen=True)
class Icon:
    """A 24x24 single-path mark and the brand's colour (``#rrggbb``)."""

    path: str
    colour: str
    guidelines: str


@functools.cache
def icons() -> dict[str, Icon]:
    """The marks of rupor/smo/icons.json (Simple Icons, CC0; tools/smo/extract_icons.py)."""
    raw = json.loads((Path(__file__).parent / "icons.json").read_text(encoding="utf-8"))
    return {
        key: Icon(str(v["path"]), "#" + str(v["hex"]).lower(), str(v.get("guidelines", "")))
        for key, v in raw.items()
    }


def icon_for(key: str) -> Icon:
    return icons().get(key) or icons()["share"]


# -- link cards ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardRule:
    """How a network builds the card of a shared link, and what it needs of the picture.

    ``title_from`` / ``description_from`` / ``image_from``: the tags it reads, first found wins
    (``title`` is the ``<title>`` element, ``description`` the standard meta description).
    ``title_shown`` / ``description_shown``: about how many characters its card shows before
    cutting (0: it shows no description). Sizes are (width, height) in pixels.
    """

    key: str
    name: str
    title_from: tuple[str, ...]
    description_from: tuple[str, ...]
    image_from: tuple[str, ...]
    title_shown: int
    description_shown: int
    #: Below this the network shows no picture at all (None: it states no minimum).
    image_min: tuple[int, int] | None
    #: From this size on the picture is shown large, above the title; smaller: a thumbnail beside it.
    image_large: tuple[int, int] | None
    image_recommended: tuple[int, int]
    #: The shape of the large picture (width / height); others are cropped to it.
    ratio: float
    ratio_label: str
    #: The largest file it takes (None: it states none, or it makes the file smaller itself).
    image_max_bytes: int | None
    image_types: frozenset[str]
    #: Whether the network states these figures (True) or they are common practice (False).
    documented: bool
    #: A tag this network needs beyond the common ones (X: twitter:card), or "".
    needs: str = ""
    #: The largest picture in pixels it takes (X: 4096x4096), or None.
    image_max_size: tuple[int, int] | None = None
    #: A note shown with the card (where the figures come from, what the network does).
    note: str | Promise = ""


_MB = 1024 * 1024
_WEB_TYPES = frozenset({"jpeg", "png", "gif", "webp"})
_OG_TITLE = ("og:title", "title")
_OG_DESCRIPTION = ("og:description", "description")

CARD_RULES: dict[str, CardRule] = {
    r.key: r
    for r in (
        CardRule(
            "vk",
            "VK",
            _OG_TITLE,
            _OG_DESCRIPTION,
            ("vk:image", "og:image"),
            title_shown=80,
            description_shown=0,
            image_min=None,
            image_large=(537, 240),
            image_recommended=(1074, 480),
            ratio=537 / 240,
            ratio_label="2.24:1",
            image_max_bytes=None,
            image_types=frozenset({"jpeg", "png", "gif"}),
            documented=False,
            note=_(
                "VK shows the picture large at 537\u00d7240 and more; twice that stays sharp on dense screens."
            ),
        ),
        CardRule(
            "telegram",
            "Telegram",
            ("og:title", "twitter:title", "title"),
            ("og:description", "twitter:description", "description"),
            ("og:image", "twitter:image"),
            title_shown=100,
            description_shown=200,
            image_min=None,
            image_large=(600, 315),
            image_recommended=(1200, 630),
            ratio=1.91,
            ratio_label="1.91:1",
            image_max_bytes=None,
            image_types=_WEB_TYPES,
            documented=False,
            note=_("Telegram shows og:site_name above the title; a small picture becomes a thumbnail."),
        ),
        CardRule(
            "ok",
            "OK",
            _OG_TITLE,
            _OG_DESCRIPTION,
            ("og:image",),
            title_shown=80,
            description_shown=150,
            image_min=None,
            image_large=(600, 315),
            image_recommended=(1200, 630),
            ratio=1.91,
            ratio_label="1.91:1",
            image_max_bytes=None,
            image_types=frozenset({"jpeg", "png", "gif"}),
            documented=False,
        ),
        CardRule(
            "facebook",
            "Facebook",
            _OG_TITLE,
            _OG_DESCRIPTION,
            ("og:image",),
            title_shown=88,
            description_shown=0,
            image_min=(200, 200),
            image_large=(600, 315),
            image_recommended=(1200, 630),
            ratio=1.91,
            ratio_label="1.91:1",
            image_max_bytes=8 * _MB,
            image_types=_WEB_TYPES,
            documented=True,
        ),
        CardRule(
            "x",
            "X",
            ("twitter:title", "og:title", "title"),
            ("twitter:description", "og:description", "description"),
            ("twitter:image", "og:image"),
            title_shown=70,
            description_shown=0,
            image_min=(300, 157),
            image_large=(300, 157),
            image_recommended=(1200, 600),
            ratio=2.0,
            ratio_label="2:1",
            image_max_bytes=5 * _MB,
            image_types=_WEB_TYPES,
            documented=True,
            needs="twitter:card",
            image_max_size=(4096, 4096),
        ),
        CardRule(
            "linkedin",
            "LinkedIn",
            _OG_TITLE,
            _OG_DESCRIPTION,
            ("og:image",),
            title_shown=100,
            description_shown=0,
            image_min=(200, 200),
            image_large=(401, 210),
            image_recommended=(1200, 627),
            ratio=1.91,
            ratio_label="1.91:1",
            image_max_bytes=5 * _MB,
            image_types=frozenset({"jpeg", "png", "gif"}),
            documented=True,
            note=_("LinkedIn reads Open Graph only: twitter: tags are ignored."),
        ),
        CardRule(
            "bluesky",
            "Bluesky",
            _OG_TITLE,
            _OG_DESCRIPTION,
            ("og:image",),
            title_shown=90,
            description_shown=150,
            image_min=None,
            image_large=(600, 315),
            image_recommended=(1200, 630),
            ratio=1.91,
            ratio_label="1.91:1",
            image_max_bytes=None,
            image_types=_WEB_TYPES,
            documented=False,
            note=_(
                "The Bluesky app builds the card when the post is written and shrinks the picture to "
                "the 1,000,000 bytes a post may carry."
            ),
        ),
        CardRule(
            "mastodon",
            "Mastodon",
            _OG_TITLE,
            _OG_DESCRIPTION,
            ("og:image",),
            title_shown=90,
            description_shown=150,
            image_min=None,
            image_large=(400, 210),
            image_recommended=(1200, 630),
            ratio=1.91,
            ratio_label="1.91:1",
            image_max_bytes=2 * _MB,
            image_types=_WEB_TYPES,
            documented=True,
            note=_(
                "Each Mastodon server fetches the card itself; servers built without libvips refuse "
                "pictures over 2 MB (8 MB with it), so 2 MB is safe everywhere."
            ),
        ),
    )
}
