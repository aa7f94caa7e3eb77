"""The meta-tag parser: Open Graph's structured image properties, name= and property=, repeats,
relative addresses, charsets."""

from __future__ import annotations

from rupor.smo import metadata


def test_image_properties_belong_to_the_image_before_them() -> None:
    html = (
        '<meta property="og:image" content="/a.jpg"><meta property="og:image:width" content="1200">'
        '<meta property="og:image:height" content="630"><meta property="og:image:alt" content=" A  cup ">'
        '<meta property="og:image" content="https://cdn.example/b.png"><meta property="og:image:type" content="image/png">'
        '<meta name="twitter:image" content="https://cdn.example/t.jpg"><meta name="twitter:image:alt" content="T">'
    )
    meta = metadata.parse(html, "https://site.example/news/1")
    first, second, twitter = meta.images
    assert (first.url, first.width, first.height, first.alt, first.absolute) == (
        "https://site.example/a.jpg",
        1200,
        630,
        "A cup",
        False,
    )
    assert (second.url, second.type, second.width, second.absolute) == (
        "https://cdn.example/b.png",
        "image/png",
        None,
        True,
    )
    assert (twitter.source, twitter.alt) == ("twitter:image", "T")
    assert meta.image("og:image") is first
    assert meta.tags["og:image"] == "/a.jpg"


def test_title_description_canonical_and_repeats() -> None:
    html = (
        "<html lang=ko><head><title>\n  Hello\n  world </title>"
        '<meta name="description" content="Plain"><meta name="og:title" content="By name">'
        '<meta property="og:title" content="Again"><link rel="Canonical" href="/c"></head></html>'
    )
    meta = metadata.parse(html, "https://site.example/x")
    assert (meta.title, meta.description, meta.lang) == ("Hello world", "Plain", "ko")
    assert meta.tags["og:title"] == "By name" and meta.repeated == ("og:title",)
    assert meta.canonical == "https://site.example/c"
    assert meta.first(("twitter:title", "og:title", "title")) == ("og:title", "By name")
    assert meta.first(("twitter:title",)) == ("", "")


def test_charset_from_the_header_the_page_or_utf8() -> None:
    cyrillic = "Меню".encode("cp1251")
    assert metadata.decode(cyrillic, "windows-1251") == "Меню"
    assert metadata.decode(b'<meta charset="windows-1251">' + cyrillic, None).endswith("Меню")
    assert metadata.decode("Меню".encode(), "no-such-charset") == "Меню"
    assert "\ufffd" in metadata.decode(b"\xff\xfe broken", None)


def test_where_the_head_ends() -> None:
    assert metadata.head_complete(b"<html><HEAD><title>x</title></Head>")
    assert metadata.head_complete(b"<html><title>x</title><body>")
    assert not metadata.head_complete(b"<html><head><title>x</title><!-- xxxx")
