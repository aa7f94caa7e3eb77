"""Facet detection and TIDs, checked against the examples of the AT Protocol docs."""

from __future__ import annotations

from rupor.networks.bluesky import wire


def test_byte_offsets_count_utf8_bytes():
    # docs.bsky.app post-richtext: "✨ example mentioning @atproto.com to share the URL 👨‍❤️‍👨 https://en.wikipedia.org/wiki/CBOR."
    text = "✨ example mentioning @atproto.com to share the URL 👨‍❤️‍👨 https://en.wikipedia.org/wiki/CBOR."
    spans = wire.detect(text)
    facets = wire.facets(text, spans, {"atproto.com": "did:plc:ewvi7nxzyoun6zhxrhs64oiz"})
    assert facets[0]["index"] == {"byteStart": 23, "byteEnd": 35}
    assert facets[1]["index"] == {"byteStart": 74, "byteEnd": 108}
    assert facets[1]["features"][0]["uri"] == "https://en.wikipedia.org/wiki/CBOR"


def test_unresolved_mentions_stay_text_and_tags_drop_trailing_punctuation():
    text = "hi @nobody.example and #launch! #2024"
    facets = wire.facets(text, wire.detect(text), {})
    assert [f["features"][0] for f in facets] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "launch"}]


def test_tids_sort_by_time_and_round_trip():
    a = wire.tid(1_700_000_000_000_000, 5)
    b = wire.tid(1_700_000_000_000_001, 0)
    assert wire.is_tid(a) and wire.is_tid(b) and a < b
    assert wire.tid_time(a).year == 2023
    assert wire.parse_at_uri(wire.at_uri("did:plc:x", wire.POST, a)).rkey == a
