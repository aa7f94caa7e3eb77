"""The link-preview checker: fetch a page as the networks' crawlers do, read its tags, fetch its
picture, and say how each network will show the link (``cards``) and what to fix."""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from rupor.smo import cards as card_rules
from rupor.smo import fetch, metadata
from rupor.smo.cards import ERROR, INFO, WARNING, Card, ImageFacts, Problem

#: What an HTML page may be served as.
HTML_TYPES = ("text/html", "application/xhtml+xml")
#: The picture tags checked (each distinct address fetched once).
IMAGE_SOURCES = ("og:image", "twitter:image", "vk:image")
#: X's limit on twitter:image:alt.
X_ALT_MAX = 420
#: The card previews' picture width, and the largest picture decoded for one (16 megapixels:
#: 48 MB of pixels at most, in one request).
THUMB_WIDTH = 480
THUMB_MAX_PIXELS = 16_000_000


class CheckFailure(Exception):
    """The page could not be checked at all: ``code`` and a sentence that says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class LinkCheck:
    url: str
    final_url: str
    hops: tuple[fetch.Hop, ...]
    status: int
    content_type: str
    bytes_read: int
    truncated: bool
    meta: metadata.PageMeta
    images: tuple[ImageFacts, ...]
    cards: tuple[Card, ...]
    problems: tuple[Problem, ...] = field(default=())

    @property
    def level(self) -> str:
        levels = {p.level for p in self.problems} | {c.level for c in self.cards}
        for level in (ERROR, WARNING):
            if level in levels:
                return level
        return "ok"


def _page(url: str) -> fetch.Fetched:
    try:
        page = fetch.fetch(
            url,
            accept=fetch.PAGE_ACCEPT,
            keep=fetch.PAGE_READ_BYTES,
            whole=False,
            max_bytes=fetch.PAGE_MAX_BYTES,
        )
    except fetch.FetchFailure as exc:
        raise CheckFailure(exc.code, exc.message) from exc
    if page.status >= 400:
        hint = (
            _(
                " Some sites refuse crawlers they do not know: let facebookexternalhit, Twitterbot, TelegramBot, "
                "LinkedInBot and vkShare through."
            )
            if page.status in (401, 403, 429)
            else ""
        )
        raise CheckFailure(
            "http_status",
            _("%(url)s answered %(status)s %(reason)s: the networks show no card for it.")
            % {"url": page.url, "status": page.status, "reason": page.reason}
            + hint,
        )
    if page.status != 200:
        raise CheckFailure(
            "http_status",
            _("%(url)s answered %(status)s %(reason)s instead of the page.")
            % {"url": page.url, "status": page.status, "reason": page.reason},
        )
    if page.content_type and page.content_type not in HTML_TYPES:
        raise CheckFailure(
            "not_html",
            _(
                "%(url)s is %(type)s, not an HTML page: the networks build a card from a page's tags, "
                "so link the page that shows it."
            )
            % {"url": page.url, "type": page.content_type},
        )
    if page.truncated and not metadata.head_complete(page.body):
        raise CheckFailure(
            "too_big",
            _(
                "The page's head does not end within its first %(mb)s MB: crawlers stop reading "
                "before they reach the tags. Put the meta tags at the top of the head."
            )
            % {"mb": card_rules.mb(fetch.PAGE_READ_BYTES)},
        )
    return page


def _image(url: str) -> ImageFacts:
    try:
        got = fetch.fetch(
            url,
            accept=fetch.IMAGE_ACCEPT,
            keep=fetch.IMAGE_MAX_BYTES,
            whole=True,
            max_bytes=fetch.IMAGE_MAX_BYTES,
        )
    except fetch.FetchFailure as exc:
        if exc.code == "too_big":
            return ImageFacts(
                url=url,
                problem=_("The picture is larger than %(mb)s MB: too big for every network.")
                % {"mb": card_rules.mb(fetch.IMAGE_MAX_BYTES)},
            )
        return ImageFacts(url=url, problem=exc.message)
    facts = ImageFacts(
        url=url, final_url=got.url, status=got.status, content_type=got.content_type, bytes=len(got.body)
    )
    if got.status != 200:
        return _with(
            facts,
            _("The picture's address answered %(status)s %(reason)s.")
            % {"status": got.status, "reason": got.reason},
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(got.body)) as picture:  # the header only: nothing is decoded
                width, height = picture.size
                kind = (picture.format or "").lower()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        what = got.content_type or _("unknown")
        return _with(
            facts,
            _("The picture's address gives %(type)s, which is not a picture the networks read (SVG is not).")
            % {"type": what},
        )
    return ImageFacts(
        url=url,
        final_url=got.url,
        status=got.status,
        content_type=got.content_type,
        format="jpeg" if kind == "mpo" else kind,
        width=width,
        height=height,
        bytes=len(got.body),
        thumbnail=thumbnail(got.body, width, height),
    )


def thumbnail(body: bytes, width: int, height: int) -> str:
    """A JPEG of at most :data:`THUMB_WIDTH` pixels across as a data: URI, so the page shows the
    card's picture without loading anything from another site; "" for a picture too large to
    decode safely or one Pillow cannot read."""
    if width * height > THUMB_MAX_PIXELS:
        return ""
    try:
        with Image.open(io.BytesIO(body)) as picture:
            picture.draft("RGB", (THUMB_WIDTH, THUMB_WIDTH))
            small = picture.convert("RGB")
            small.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 4))
            out = io.BytesIO()
            small.save(out, "JPEG", quality=70)
    except (OSError, ValueError, Image.DecompressionBombError):
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _with(facts: ImageFacts, problem: str) -> ImageFacts:
    return ImageFacts(
        url=facts.url,
        final_url=facts.final_url,
        status=facts.status,
        content_type=facts.content_type,
        bytes=facts.bytes,
        problem=problem,
    )


def _page_problems(
    page: fetch.Fetched, meta: metadata.PageMeta, images: dict[str, ImageFacts]
) -> list[Problem]:
    out: list[Problem] = []
    if page.hops:
        out.append(
            Problem(
                INFO,
                "redirected",
                _("The address redirects %(n)s time(s) before the page: %(final)s.")
                % {"n": len(page.hops), "final": page.url},
                _("Share the final address: each hop costs time, and some apps give up."),
            )
        )
    if page.truncated:
        out.append(
            Problem(
                INFO,
                "page_large",
                _("The page is larger than %(mb)s MB; Rupor read its first %(mb)s MB, as crawlers do.")
                % {"mb": card_rules.mb(fetch.PAGE_READ_BYTES)},
                _("Keep the meta tags at the top of the head."),
            )
        )
    out += _url_problems(meta)
    out += _image_tag_problems(meta, images)
    for name in meta.repeated:
        out.append(
            Problem(
                INFO,
                "repeated_tag",
                _("%(tag)s is written more than once; networks differ on which one they take.")
                % {"tag": name},
                _("Keep one %(tag)s.") % {"tag": name},
            )
        )
    return out


def _url_problems(meta: metadata.PageMeta) -> list[Problem]:
    out: list[Problem] = []
    og_url = meta.tags.get("og:url", "")
    if not meta.canonical:
        out.append(
            Problem(
                INFO,
                "no_canonical",
                _("No canonical address: shares of the same page with different tags count apart."),
                _('Add <link rel="canonical" href="…"> naming the page\'s one address.'),
            )
        )
    if not og_url:
        out.append(
            Problem(
                INFO,
                "no_og_url",
                _("No og:url: networks key the card's likes and shares on the address as shared."),
                _('Add <meta property="og:url" content="…"> with the canonical address.'),
            )
        )
    elif meta.canonical and og_url.rstrip("/") != meta.canonical.rstrip("/"):
        out.append(
            Problem(
                WARNING,
                "og_url_differs",
                _("og:url (%(og)s) differs from the canonical address (%(canonical)s).")
                % {"og": og_url, "canonical": meta.canonical},
                _("Make them the same address."),
            )
        )
    if not meta.tags.get("og:site_name"):
        out.append(
            Problem(
                INFO,
                "no_site_name",
                _("No og:site_name: Telegram and Mastodon show the site's name above the title."),
                _('Add <meta property="og:site_name" content="…">.'),
            )
        )
    return out


def _image_tag_problems(meta: metadata.PageMeta, images: dict[str, ImageFacts]) -> list[Problem]:
    out: list[Problem] = []
    og = meta.image("og:image")
    if og is not None and not og.alt:
        out.append(
            Problem(
                WARNING,
                "no_image_alt",
                _("The picture has no description (og:image:alt): people using screen readers hear nothing."),
                _('Add <meta property="og:image:alt" content="…"> saying what the picture shows.'),
            )
        )
    x_alt = meta.tags.get("twitter:image:alt", "")
    if len(x_alt) > X_ALT_MAX:
        out.append(
            Problem(
                WARNING,
                "x_alt_long",
                _("twitter:image:alt has %(n)s characters; X takes %(max)s.")
                % {"n": len(x_alt), "max": X_ALT_MAX},
                _("Shorten it to %(max)s characters.") % {"max": X_ALT_MAX},
            )
        )
    if og is not None and og.width and og.height:
        facts = images.get(og.url)
        if facts is not None and facts.readable and (facts.width, facts.height) != (og.width, og.height):
            out.append(
                Problem(
                    WARNING,
                    "image_size_declared",
                    _("og:image:width and og:image:height say %(declared)s, but the picture is %(actual)s.")
                    % {
                        "declared": f"{og.width}\u00d7{og.height}",
                        "actual": f"{facts.width}\u00d7{facts.height}",
                    },
                    _(
                        "Write the picture's real size: networks lay the card out from it before they fetch it."
                    ),
                )
            )
    elif og is not None:
        out.append(
            Problem(
                INFO,
                "image_size_undeclared",
                _("og:image:width and og:image:height are missing: the first share may show no picture."),
                _("Add both, with the picture's size in pixels."),
            )
        )
    return out


def check(url: str) -> LinkCheck:
    """Check ``url`` (an absolute http(s) address). Raises :class:`CheckFailure`."""
    page = _page(url)
    meta = metadata.parse(metadata.decode(page.body, page.charset), page.url)
    images: dict[str, ImageFacts] = {}
    for source in IMAGE_SOURCES:
        tag = meta.image(source)
        if tag is not None and tag.url not in images and tag.url.startswith(("http://", "https://")):
            images[tag.url] = _image(tag.url)
    return LinkCheck(
        url=url,
        final_url=page.url,
        hops=page.hops,
        status=page.status,
        content_type=page.content_type,
        bytes_read=len(page.body),
        truncated=page.truncated,
        meta=meta,
        images=tuple(images.values()),
        cards=tuple(card_rules.cards(meta, images)),
        problems=tuple(_page_problems(page, meta, images)),
    )
