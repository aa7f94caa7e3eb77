"""How each network will show a link: its card, and what is missing or wrong, each with a fix.

Pure: the page's tags (:class:`~rupor.smo.metadata.PageMeta`) and the facts of its picture
(:class:`ImageFacts`) in, one :class:`Card` per network out, by the rules of
:data:`~rupor.smo.catalog.CARD_RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from rupor.smo.catalog import CARD_RULES, CardRule
from rupor.smo.metadata import ImageTag, PageMeta

#: How far a picture's shape may stray from the card's before the crop is worth a word.
RATIO_TOLERANCE = 0.05
#: X's summary card (a square thumbnail beside the text).
_X_SUMMARY_MIN = (144, 144)
X_CARD_TYPES = ("summary", "summary_large_image", "app", "player")

ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(frozen=True)
class Problem:
    """Something a card lacks or gets wrong: ``level`` error (the card breaks or loses its
    picture), warning (it shows, worse than it could) or info; what, and how to fix it."""

    level: str
    code: str
    message: str
    fix: str


@dataclass(frozen=True)
class ImageFacts:
    """What fetching the page's picture found (``problem``: why it could not be read)."""

    url: str
    final_url: str = ""
    status: int | None = None
    content_type: str = ""
    format: str = ""
    width: int | None = None
    height: int | None = None
    bytes: int | None = None
    problem: str = ""
    #: A small JPEG of the picture as a data: URI, for the page's card previews ("" if none).
    thumbnail: str = ""

    @property
    def readable(self) -> bool:
        return not self.problem and self.width is not None and self.height is not None


@dataclass(frozen=True)
class Card:
    network: str
    name: str
    title: str
    title_source: str
    shown_title: str
    description: str
    description_source: str
    shown_description: str
    site_name: str
    domain: str
    image_url: str
    image_source: str
    #: The picture as a small data: URI (from :class:`ImageFacts`), for previews; "" if none.
    image_thumbnail: str
    #: "large" (above the text), "small" (a thumbnail beside it) or "none".
    layout: str
    ratio: float
    ratio_label: str
    documented: bool
    note: str
    problems: tuple[Problem, ...]

    @property
    def level(self) -> str:
        """The worst problem's level, or "ok"."""
        levels = {p.level for p in self.problems}
        for level in (ERROR, WARNING):
            if level in levels:
                return level
        return "ok"


def cut(text: str, limit: int) -> str:
    """``text`` as a card shows it: whole, or cut at a word before ``limit`` with an ellipsis."""
    if limit <= 0 or len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit * 0.6:
        head = head[:space]
    return head.rstrip(" ,.;:—-") + "…"


def mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")


def _size(value: tuple[int, int]) -> str:
    return f"{value[0]}\u00d7{value[1]}"


def domain_of(meta: PageMeta) -> str:
    host = urlsplit(meta.tags.get("og:url") or meta.page_url).hostname or ""
    return host.removeprefix("www.")


# -- text ------------------------------------------------------------------------------------


def _title_problems(rule: CardRule, title: str) -> list[Problem]:
    if not title:
        return [
            Problem(
                ERROR,
                "no_title",
                _("No title: %(network)s has nothing to show in bold.") % {"network": rule.name},
                _('Add <meta property="og:title" content="…"> (and a <title>) to the page\'s head.'),
            )
        ]
    if len(title) > rule.title_shown:
        return [
            Problem(
                WARNING,
                "title_long",
                _("The title has %(n)s characters; %(network)s shows about %(max)s: “%(shown)s”.")
                % {
                    "n": len(title),
                    "network": rule.name,
                    "max": rule.title_shown,
                    "shown": cut(title, rule.title_shown),
                },
                _("Put the words that matter within the first %(max)s characters, or shorten the title.")
                % {"max": rule.title_shown},
            )
        ]
    return []


def _description_problems(rule: CardRule, description: str) -> list[Problem]:
    if rule.description_shown <= 0:
        return []
    if not description:
        return [
            Problem(
                WARNING,
                "no_description",
                _("No description: %(network)s shows only the title.") % {"network": rule.name},
                _(
                    'Add <meta property="og:description" content="…">: one or two sentences on what the page gives.'
                ),
            )
        ]
    if len(description) > rule.description_shown:
        return [
            Problem(
                INFO,
                "description_long",
                _("The description has %(n)s characters; %(network)s shows about %(max)s.")
                % {"n": len(description), "network": rule.name, "max": rule.description_shown},
                _("Say the main thing within the first %(max)s characters.")
                % {"max": rule.description_shown},
            )
        ]
    return []


def _x_card_problems(meta: PageMeta) -> list[Problem]:
    card = meta.tags.get("twitter:card", "")
    if not card:
        return [
            Problem(
                WARNING,
                "no_card_type",
                _("No twitter:card: X's documentation requires it, and without it X may show no card."),
                _('Add <meta name="twitter:card" content="summary_large_image">.'),
            )
        ]
    if card not in X_CARD_TYPES:
        return [
            Problem(
                ERROR,
                "bad_card_type",
                _("twitter:card is “%(card)s”, which X does not know.") % {"card": card},
                _("Use summary_large_image (a large picture) or summary (a square thumbnail)."),
            )
        ]
    return []


# -- the picture -----------------------------------------------------------------------------


def _image_tag(rule: CardRule, meta: PageMeta) -> ImageTag | None:
    for source in rule.image_from:
        found = meta.image(source)
        if found is not None:
            return found
    return None


def _geometry(
    rule: CardRule, meta: PageMeta
) -> tuple[tuple[int, int] | None, tuple[int, int] | None, float, str]:
    """(minimum, large-from, ratio, ratio label) for this network and page: X's summary card is
    a square thumbnail, not a large picture."""
    if rule.key == "x" and meta.tags.get("twitter:card") == "summary":
        return _X_SUMMARY_MIN, None, 1.0, "1:1"
    return rule.image_min, rule.image_large, rule.ratio, rule.ratio_label


def _size_problems(rule: CardRule, meta: PageMeta, image: ImageFacts) -> tuple[list[Problem], str]:
    """The picture's size against the network's figures, and the layout it gets. Where the
    network publishes no figures, what follows from common practice is a note, not a warning."""
    advice = WARNING if rule.documented else INFO
    assert image.width is not None and image.height is not None
    w, h = image.width, image.height
    minimum, large, ratio, ratio_label = _geometry(rule, meta)
    out: list[Problem] = []
    if minimum is not None and (w < minimum[0] or h < minimum[1]):
        out.append(
            Problem(
                ERROR,
                "image_too_small",
                _("The picture is %(size)s, below the %(min)s %(network)s needs: the card shows no picture.")
                % {"size": _size((w, h)), "min": _size(minimum), "network": rule.name},
                _("Use a picture of at least %(min)s; %(best)s is best.")
                % {"min": _size(minimum), "best": _size(rule.image_recommended)},
            )
        )
        return out, "none"
    # No large-from size: the network shows a thumbnail whatever the size (X's summary card).
    layout = "large" if large is not None and w >= large[0] and h >= large[1] else "small"
    if large is not None and layout == "small":
        out.append(
            Problem(
                advice,
                "image_small_layout",
                _("At %(size)s the picture shows as a small thumbnail beside the title, not large above it.")
                % {"size": _size((w, h))},
                _("Use at least %(large)s (best %(best)s) for the large card.")
                % {"large": _size(large), "best": _size(rule.image_recommended)},
            )
        )
    elif (
        layout == "large"
        and ratio != 1.0
        and (w < rule.image_recommended[0] or h < rule.image_recommended[1])
    ):
        out.append(
            Problem(
                INFO,
                "image_below_recommended",
                _("%(size)s works; %(best)s stays sharp on dense screens.")
                % {"size": _size((w, h)), "best": _size(rule.image_recommended)},
                _("Export the picture at %(best)s.") % {"best": _size(rule.image_recommended)},
            )
        )
    actual = w / h
    if layout == "large" and abs(actual - ratio) / ratio > RATIO_TOLERANCE:
        out.append(
            Problem(
                advice,
                "image_ratio",
                _(
                    "The picture is %(size)s (%(actual)s:1); %(network)s crops it to %(ratio)s, cutting its edges."
                )
                % {
                    "size": _size((w, h)),
                    "actual": f"{actual:.2f}",
                    "network": rule.name,
                    "ratio": ratio_label,
                },
                _("Crop it to %(ratio)s yourself (for example %(best)s), keeping text away from the edges.")
                % {"ratio": ratio_label, "best": _size(rule.image_recommended)},
            )
        )
    if rule.image_max_size is not None and (w > rule.image_max_size[0] or h > rule.image_max_size[1]):
        out.append(
            Problem(
                ERROR,
                "image_too_large",
                _("The picture is %(size)s; %(network)s takes at most %(max)s.")
                % {"size": _size((w, h)), "network": rule.name, "max": _size(rule.image_max_size)},
                _("Resize it to %(best)s.") % {"best": _size(rule.image_recommended)},
            )
        )
    return out, layout


def _image_problems(
    rule: CardRule, meta: PageMeta, tag: ImageTag | None, image: ImageFacts | None
) -> tuple[list[Problem], str]:
    if tag is None:
        return [
            Problem(
                WARNING,
                "no_image",
                _("No picture: %(network)s shows a card without one.") % {"network": rule.name},
                _('Add <meta property="og:image" content="https://…"> naming a %(best)s picture.')
                % {"best": _size(rule.image_recommended)},
            )
        ], "none"
    out: list[Problem] = []
    if not tag.absolute:
        out.append(
            Problem(
                ERROR,
                "image_relative",
                _("%(tag)s is a relative address (“%(written)s”); networks need a full one.")
                % {"tag": tag.source, "written": tag.written},
                _("Write it in full: %(url)s") % {"url": tag.url},
            )
        )
    if image is None or image.url != tag.url:
        return out, "large" if not out else "none"
    if not image.readable:
        out.append(
            Problem(
                ERROR,
                "image_unreadable",
                image.problem,
                _("Make the picture's address answer with the picture."),
            )
        )
        return out, "none"
    if image.format and image.format not in rule.image_types:
        out.append(
            Problem(
                ERROR,
                "image_type",
                _("%(network)s does not show %(format)s pictures.")
                % {"network": rule.name, "format": image.format.upper()},
                _("Save the picture as JPEG or PNG."),
            )
        )
        return out, "none"
    if rule.image_max_bytes is not None and image.bytes is not None and image.bytes > rule.image_max_bytes:
        out.append(
            Problem(
                ERROR,
                "image_heavy",
                _("The picture weighs %(size)s MB; %(network)s takes at most %(max)s MB.")
                % {"size": mb(image.bytes), "network": rule.name, "max": mb(rule.image_max_bytes)},
                _("Compress it (JPEG at quality 80 to 85 usually does) or make it smaller."),
            )
        )
        return out, "none"
    sized, layout = _size_problems(rule, meta, image)
    return out + sized, layout if not any(p.level == ERROR for p in out) else "none"


def card_for(rule: CardRule, meta: PageMeta, image: ImageFacts | None) -> Card:
    """The card ``rule``'s network builds from ``meta``, and its problems."""
    title_source, title = meta.first(rule.title_from)
    description_source, description = meta.first(rule.description_from)
    problems = _title_problems(rule, title) + _description_problems(rule, description)
    if rule.needs == "twitter:card":
        problems += _x_card_problems(meta)
    tag = _image_tag(rule, meta)
    image_problems, layout = _image_problems(rule, meta, tag, image)
    problems += image_problems
    return Card(
        network=rule.key,
        name=rule.name,
        title=title,
        title_source=title_source,
        shown_title=cut(title, rule.title_shown),
        description=description,
        description_source=description_source,
        shown_description=cut(description, rule.description_shown) if rule.description_shown else "",
        site_name=meta.tags.get("og:site_name", ""),
        domain=domain_of(meta),
        image_url=tag.url if tag is not None and layout != "none" else "",
        image_source=tag.source if tag is not None else "",
        image_thumbnail=image.thumbnail if image is not None and layout != "none" else "",
        layout=layout,
        ratio=rule.ratio if rule.key != "x" or meta.tags.get("twitter:card") != "summary" else 1.0,
        ratio_label=rule.ratio_label,
        documented=rule.documented,
        note=str(rule.note),
        problems=tuple(problems),
    )


def cards(meta: PageMeta, images: dict[str, ImageFacts]) -> list[Card]:
    """Every network's card; ``images``: the facts of each picture fetched, by its address."""
    out = []
    for rule in CARD_RULES.values():
        tag = _image_tag(rule, meta)
        out.append(card_for(rule, meta, images.get(tag.url) if tag is not None else None))
    return out
