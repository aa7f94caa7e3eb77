"""What a page says about itself to the networks: Open Graph, Twitter Card and standard meta tags.

Parsed with selectolax (Lexbor, an HTML5 parser: tags are found the way a browser builds the
document, whatever the markup's quirks). Pure: bytes and the page's address in, a
:class:`PageMeta` out; nothing is fetched here.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

#: Where a <meta charset> may be found: browsers look in the first 1024 bytes.
_SNIFF_BYTES = 1024
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
#: The prefixes of the tags the networks read (lower case).
_PREFIXES = ("og:", "twitter:", "vk:", "article:", "fb:")
#: The structured properties of one og:image (they follow the og:image they describe).
_IMAGE_PROPS = {"url", "secure_url", "type", "width", "height", "alt"}


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def decode(body: bytes, header_charset: str | None) -> str:
    """The page's text: the charset the server named, else a ``<meta charset>`` in the first
    1024 bytes, else UTF-8 (what is not UTF-8 is replaced, never an error)."""
    for candidate in (header_charset, _sniff(body)):
        if candidate:
            try:
                codec = codecs.lookup(candidate.strip().strip("\"'"))
            except LookupError:
                continue
            return body.decode(codec.name, errors="replace")
    return body.decode("utf-8", errors="replace")


def _sniff(body: bytes) -> str | None:
    found = _META_CHARSET.search(body[:_SNIFF_BYTES])
    return found.group(1).decode("ascii", "replace") if found else None


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 7 else None


@dataclass(frozen=True)
class ImageTag:
    """A picture a page names (``og:image`` with the properties after it, ``twitter:image``,
    ``vk:image``): as written, and resolved against the page's address."""

    source: str
    written: str
    url: str
    width: int | None = None
    height: int | None = None
    alt: str = ""
    type: str = ""

    @property
    def absolute(self) -> bool:
        parts = urlsplit(self.written)
        return parts.scheme in ("http", "https") and bool(parts.netloc)


@dataclass(frozen=True)
class PageMeta:
    """Everything a network's card is built from. ``tags`` holds the first value of each
    ``og:``/``twitter:``/``vk:`` property (lower-case names); ``images`` every picture named, in
    the page's order."""

    page_url: str
    title: str = ""
    description: str = ""
    canonical: str = ""
    lang: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    images: tuple[ImageTag, ...] = ()
    #: Properties written more than once (the first counts; networks differ on which they take).
    repeated: tuple[str, ...] = ()

    def value(self, source: str) -> str:
        """The text of ``source``: ``title``, ``description`` or a tag name."""
        if source == "title":
            return self.title
        if source == "description":
            return self.description
        return self.tags.get(source, "")

    def image(self, source: str) -> ImageTag | None:
        return next((i for i in self.images if i.source == source), None)

    def first(self, sources: tuple[str, ...]) -> tuple[str, str]:
        """The first of ``sources`` the page has, as (source, text); ("", "") if none."""
        for source in sources:
            text = self.value(source)
            if text:
                return source, text
        return "", ""


def _image_source(name: str) -> str | None:
    if name in ("og:image", "og:image:url"):
        return "og:image"
    if name in ("twitter:image", "twitter:image:src"):
        return "twitter:image"
    if name == "vk:image":
        return "vk:image"
    return None


class _Images:
    """og:image and its structured properties, grouped as the Open Graph protocol says: each
    property describes the og:image before it."""

    def __init__(self, page_url: str) -> None:
        self.page_url = page_url
        self.items: list[dict[str, str]] = []

    def add(self, name: str, content: str) -> None:
        source = _image_source(name)
        if source is not None:
            self.items.append({"source": source, "written": content})
            return
        prefix, _, prop = name.rpartition(":")
        if prefix in ("og:image", "twitter:image") and prop in _IMAGE_PROPS:
            wanted = "og:image" if prefix == "og:image" else "twitter:image"
            current = next((i for i in reversed(self.items) if i["source"] == wanted), None)
            if current is not None and prop not in current:
                current[prop] = content

    def tags(self) -> tuple[ImageTag, ...]:
        out = []
        for item in self.items:
            written = item["written"].strip()
            if not written:
                continue
            out.append(
                ImageTag(
                    source=item["source"],
                    written=written,
                    url=urljoin(self.page_url, written),
                    width=_int(item.get("width", "")),
                    height=_int(item.get("height", "")),
                    alt=_norm(item.get("alt", "")),
                    type=item.get("type", "").strip().lower(),
                )
            )
        return tuple(out)


def parse(html: str, page_url: str) -> PageMeta:
    """The meta tags of ``html``, a page fetched from ``page_url`` (its final address)."""
    tree = LexborHTMLParser(html)
    tags: dict[str, str] = {}
    repeated: list[str] = []
    images = _Images(page_url)
    description = ""
    for node in tree.css("meta"):
        attrs = node.attributes
        name = (attrs.get("property") or attrs.get("name") or "").strip().lower()
        content = attrs.get("content")
        if not name or content is None:
            continue
        if name == "description" and not description:
            description = _norm(content)
        if not name.startswith(_PREFIXES):
            continue
        images.add(name, content)
        if name in tags:
            if name not in repeated and _image_source(name) is None:
                repeated.append(name)
            continue
        tags[name] = _norm(content)
    title_node = tree.css_first("title")
    html_node = tree.css_first("html")
    return PageMeta(
        page_url=page_url,
        title=_norm(title_node.text()) if title_node is not None else "",
        description=description,
        canonical=_canonical(tree, page_url),
        lang=((html_node.attributes.get("lang") or "") if html_node is not None else "").strip(),
        tags=tags,
        images=images.tags(),
        repeated=tuple(repeated),
    )


def _canonical(tree: LexborHTMLParser, page_url: str) -> str:
    for node in tree.css("link[rel]"):
        rels = (node.attributes.get("rel") or "").lower().split()
        href = (node.attributes.get("href") or "").strip()
        if "canonical" in rels and href:
            return urljoin(page_url, href)
    return ""


def head_complete(body: bytes) -> bool:
    """Whether the page's ``<head>`` ended within ``body`` (a page read only in part)."""
    lowered = body.lower()
    return b"</head" in lowered or b"<body" in lowered
