"""Telegram's HTML formatting: parse entities exactly as the Bot API does, and escape text.

The Bot API counts the 4096/1024 limits on the plain text that remains *after* entity
parsing, in UTF-16 code units, and refuses malformed markup with
``400 Bad Request: can't parse entities: ...``. Both the adapter (to measure and check a post
before sending) and the emulator (to behave like the server) use :func:`parse_html`. The
rules and error texts follow TDLib's ``parse_html`` (td/telegram/MessageEntity.cpp).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rupor.networks.text import utf16_length

#: tag -> entity type (``None``: handled specially)
_TAGS: dict[str, str | None] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": None,
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class EntityParseError(ValueError):
    """Malformed markup; ``str(error)`` is TDLib's message (without the "can't parse entities" prefix)."""


@dataclass
class _Open:
    tag: str
    start: int  # UTF-16 offset in the result
    byte_pos: int
    attrs: dict[str, str] = field(default_factory=dict)


def escape(text: str) -> str:
    """Escape plain text for ``parse_mode=HTML`` (the only characters Telegram needs escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode ``&...;`` at ``pos``; ``None`` when it is not one Telegram supports (kept literally)."""
    end = pos + 1
    n = len(text)
    if end < n and text[end] == "#":
        end += 1
        value = 0
        if end < n and text[end] in "xX":
            end += 1
            digits_start = end
            while end < n and text[end] in "0123456789abcdefABCDEF":
                end += 1
            value = int(text[digits_start:end], 16) if end > digits_start else 0
        else:
            digits_start = end
            while end < n and text[end].isdigit() and text[end].isascii():
                end += 1
            value = int(text[digits_start:end]) if end > digits_start else 0
        if value == 0 or value >= 0x10FFFF or end - pos >= 10 or 0xD800 <= value <= 0xDFFF:
            return None
        char = chr(value)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        if name not in _NAMED:
            return None
        char = _NAMED[name]
    if end < n and text[end] == ";":
        end += 1
    return char, end


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:  # noqa: C901 - a parser: one branch per tag and entity Telegram documents
    """Return (plain text, MessageEntity dicts) or raise :class:`EntityParseError`."""
    out: list[str] = []
    utf16 = 0
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                utf16 += utf16_length(decoded[0])
                i = decoded[1]
                continue
        if c != "<":
            out.append(c)
            utf16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":  # end tag
            i += 1
            name_start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            end_name = text[name_start:i].lower()
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            i += 1
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            opened = stack.pop()
            if end_name and end_name != opened.tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{opened.tag}>", found "</{end_name}>"'
                )
            _close(opened, utf16, entities, stack)
            continue
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag = text[begin + 1 : i].lower()
        if tag not in _TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        attrs: dict[str, str] = {}
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[i] == ">":
                i += 1
                break
            attr_start = i
            while i < n and not text[i].isspace() and text[i] not in "=>":
                i += 1
            attr = text[attr_start:i].lower()
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[i] != "=":
                if attr == "expandable" and tag == "blockquote":  # a valueless attribute is allowed here
                    attrs[attr] = ""
                    continue
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            value_chars: list[str] = []
            if text[i] in "'\"":
                quote = text[i]
                i += 1
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded = _decode_entity(text, i)
                        if decoded is not None:
                            value_chars.append(decoded[0])
                            i = decoded[1]
                            continue
                    value_chars.append(text[i])
                    i += 1
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                i += 1
            else:
                token_start = i
                while i < n and (text[i].isalnum() or text[i] in ".-"):
                    i += 1
                value_chars.append(text[token_start:i].lower())
                if i < n and not text[i].isspace() and text[i] != ">":
                    raise EntityParseError(
                        f"Unexpected end of name token at byte offset {_byte_offset(text, token_start)}"
                    )
            attrs[attr] = "".join(value_chars)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
            )
        if tag == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {_byte_offset(text, begin)}'
            )
        stack.append(_Open(tag, utf16, _byte_offset(text, begin), attrs))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    plain = "".join(out)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return plain, entities


def _close(opened: _Open, utf16_end: int, entities: list[dict[str, Any]], stack: list[_Open]) -> None:
    length = utf16_end - opened.start
    if length <= 0:
        return
    entity: dict[str, Any] = {"offset": opened.start, "length": length}
    tag = opened.tag
    if tag == "a":
        url = opened.attrs.get("href", "")
        if not url:
            return
        entity.update(type="text_link", url=url)
    elif tag == "code" and stack and stack[-1].tag == "pre":
        language = opened.attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].attrs["language"] = language[len("language-") :]
        return  # merged into the enclosing pre
    elif tag == "pre":
        entity["type"] = "pre"
        if opened.attrs.get("language"):
            entity["language"] = opened.attrs["language"]
    elif tag == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in opened.attrs else "blockquote"
    elif tag == "tg-emoji":
        entity.update(type="custom_emoji", custom_emoji_id=opened.attrs["emoji-id"])
    else:
        entity["type"] = _TAGS[tag]
    entities.append(entity)


def plain_length(html: str) -> int:
    """UTF-16 length of ``html`` after parsing (what Telegram's limits count)."""
    return utf16_length(parse_html(html)[0])


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "code": "Code",
    "pre": "Pre",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:  # noqa: C901 - a parser: one branch per MarkdownV2 entity
    """Parse ``parse_mode=MarkdownV2`` (TDLib's rules): escapes, nesting, reserved characters."""
    out: list[str] = []
    utf16 = 0
    stack: list[tuple[str, int, int]] = []  # (entity type, UTF-16 start, byte offset of the marker)
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0
    line_start = True
    quote_start: int | None = None
    pre_language = ""

    def emit(ch: str) -> None:
        nonlocal utf16
        out.append(ch)
        utf16 += 2 if ord(ch) > 0xFFFF else 1

    def close(kind: str, extra: dict[str, Any] | None = None) -> None:
        _kind, start, _pos = stack.pop()
        if utf16 > start:
            entities.append({"offset": start, "length": utf16 - start, "type": kind, **(extra or {})})

    while i < n:
        c = text[i]
        if c == "\n" and quote_start is not None:
            if utf16 > quote_start:
                entities.append({"offset": quote_start, "length": utf16 - quote_start, "type": "blockquote"})
            quote_start = None
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            emit(text[i + 1])
            i += 2
            line_start = False
            continue
        top = stack[-1][0] if stack else None
        if top in ("code", "pre"):
            marker = "```" if top == "pre" else "`"
            if text.startswith(marker, i):
                close(top, {"language": pre_language} if top == "pre" and pre_language else None)
                i += len(marker)
            else:
                emit(c)
                i += 1
            continue
        if c not in _MDV2_RESERVED:
            emit(c)
            line_start = c == "\n"
            i += 1
            continue
        pos = _byte_offset(text, i)
        if c == ">" and line_start:
            quote_start = utf16
            i += 1
            line_start = False
            continue
        line_start = False
        if text.startswith("```", i):
            stack.append(("pre", utf16, pos))
            i += 3
            pre_language = ""
            if i < n and text[i] != "\n":  # a language name up to the end of the line
                end = text.find("\n", i)
                pre_language = text[i : n if end < 0 else end].strip()
                i = n if end < 0 else end + 1
            elif i < n:
                i += 1
            continue
        token, kind = (
            ("__", "underline")
            if text.startswith("__", i)
            else ("||", "spoiler")
            if text.startswith("||", i)
            else (
                c,
                {"*": "bold", "_": "italic", "~": "strikethrough", "`": "code", "[": "text_link"}.get(c, ""),
            )
        )
        if c == "]" and top == "text_link":
            i += 1
            if i >= n or text[i] != "(":
                raise EntityParseError(f"Can't find end of a URL at byte offset {pos}")
            end = text.find(")", i)
            if end < 0:
                raise EntityParseError(f"Can't find end of a URL at byte offset {pos}")
            close("text_link", {"url": text[i + 1 : end].replace("\\)", ")").replace("\\\\", "\\")})
            i = end + 1
            continue
        if kind and kind != "text_link" and top == kind:
            close(kind)
            i += len(token)
            continue
        if kind and (kind == "text_link" or kind not in [k for k, _s, _p in stack]):
            stack.append((kind, utf16, pos))
            i += len(token)
            continue
        raise EntityParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
    if quote_start is not None and utf16 > quote_start:
        entities.append({"offset": quote_start, "length": utf16 - quote_start, "type": "blockquote"})
    if stack:
        kind, _start, pos = stack[-1]
        raise EntityParseError(f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset {pos}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy ``parse_mode=Markdown``: ``*bold*``, ``_italic_``, `` `code` ``, fenced pre, ``[text](url)``."""
    out: list[str] = []
    utf16 = 0
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0
    markers = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}
    while i < n:
        c = text[i]
        if c not in markers:
            out.append(c)
            utf16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue
        pos = _byte_offset(text, i)
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {pos}")
            body = text[i + 3 : end]
            out.append(body)
            entities.append({"offset": utf16, "length": utf16_length(body), "type": "pre"})
            utf16 += utf16_length(body)
            i = end + 3
            continue
        closing = "]" if c == "[" else c
        end = text.find(closing, i + 1)
        if end < 0:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {pos}")
        body = text[i + 1 : end]
        entity: dict[str, Any] = {"offset": utf16, "length": utf16_length(body), "type": markers[c]}
        i = end + 1
        if c == "[":
            if i < n and text[i] == "(" and text.find(")", i) > 0:
                close_at = text.find(")", i)
                entity["url"] = text[i + 1 : close_at]
                i = close_at + 1
            else:
                entity = {}
        out.append(body)
        if entity and entity["length"]:
            entities.append(entity)
        utf16 += utf16_length(body)
    return "".join(out), entities
