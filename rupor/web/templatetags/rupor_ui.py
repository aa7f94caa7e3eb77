"""Small template helpers of the web UI: icons, badges, network names."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from rupor.networks import registry, text

register = template.Library()

# Simple line icons drawn for Rupor (24x24, stroke currentColor).
_ICONS = {
    "gift": '<rect x="3" y="8" width="18" height="4"/><path d="M12 8v13M19 12v9H5v-9"/>'
    '<path d="M12 8S11 3 7.5 3a2.5 2.5 0 000 5M12 8s1-5 4.5-5a2.5 2.5 0 010 5"/>',
    "chart": '<path d="M3 3v18h18"/><path d="m7 14 4-4 3 3 5-6"/>',
    "activity": '<path d="M3 12h4l3-8 4 16 3-8h4"/>',
    "home": '<path d="M3 11l9-8 9 8"/><path d="M5 10v10h5v-6h4v6h5V10"/>',
    "edit": '<path d="M4 20h4L19 9l-4-4L4 16v4z"/><path d="M13.5 6.5l4 4"/>',
    "radio": '<circle cx="12" cy="12" r="2"/><path d="M16.2 7.8a6 6 0 010 8.4M7.8 16.2a6 6 0 010-8.4M19 5a10 10 0 010 14M5 19A10 10 0 015 5"/>',
    "users": '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20c0-3.6 2.9-6 6.5-6s6.5 2.4 6.5 6"/><path d="M16 4.5a3.5 3.5 0 010 7M18 14.3c2.1.7 3.5 2.7 3.5 5.7"/>',
    "key": '<circle cx="8" cy="15" r="4"/><path d="M11 12l9-9M17 6l3 3M15 8l2 2"/>',
    "settings": '<circle cx="12" cy="12" r="3"/><path d="M12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1L7 17M17 7l2.1-2.1"/>',
    "plus": '<path d="M12 5v14M5 12h14"/>',
    "check": '<path d="M5 12.5l4.5 4.5L19 7.5"/>',
    "alert": '<path d="M12 3l10 18H2L12 3z"/><path d="M12 10v5M12 18v.01"/>',
    "logout": '<path d="M15 4h4v16h-4"/><path d="M10 16l-4-4 4-4M6 12h10"/>',
    "lock": '<rect x="5" y="11" width="14" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/>',
    "moon": '<path d="M20 14.5A8 8 0 1 1 9.5 4a6.5 6.5 0 0 0 10.5 10.5z"/>',
    "globe": '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c2.5 2.7 3.8 5.7 3.8 9s-1.3 6.3-3.8 9c-2.5-2.7-3.8-5.7-3.8-9S9.5 5.7 12 3z"/>',
    "chevron": '<path d="M7 10l5 5 5-5"/>',
    "user": '<circle cx="12" cy="8" r="4"/><path d="M4 21c0-4.4 3.6-7 8-7s8 2.6 8 7"/>',
    "calendar": '<rect x="3" y="5" width="18" height="16" rx="2"/><path d="M3 10h18M8 3v4M16 3v4"/>',
    "clock": '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
    "trash": '<path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13"/>',
    "copy": '<rect x="8" y="8" width="12" height="12" rx="2"/><path d="M16 8V4H4v12h4"/>',
    "link": '<path d="M10 14a4 4 0 005.7 0l3-3a4 4 0 00-5.7-5.7l-1 1"/><path d="M14 10a4 4 0 00-5.7 0l-3 3a4 4 0 005.7 5.7l1-1"/>',
    "mail": '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M3 7l9 6 9-6"/>',
    "book": '<path d="M4 4h6a2 2 0 012 2v14a2 2 0 00-2-2H4zM20 4h-6a2 2 0 00-2 2v14a2 2 0 012-2h6z"/>',
    "refresh": '<path d="M20 11a8 8 0 10-2.3 5.7"/><path d="M20 4v7h-7"/>',
    "menu": '<path d="M4 6h16M4 12h16M4 18h16"/>',
    "image": '<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="9" cy="10" r="2"/><path d="M21 16l-5-5-9 9"/>',
    "layers": '<path d="M12 3l9 5-9 5-9-5 9-5z"/><path d="M3 13l9 5 9-5"/>',
    "bell": '<path d="M6 16V11a6 6 0 0112 0v5l2 2H4l2-2z"/><path d="M10 20.5a2 2 0 004 0"/>',
    "report": '<path d="M6 3h9l4 4v14H6z"/><path d="M14 3v5h5"/><path d="M9 17v-3M12 17v-6M15 17v-4"/>',
    "reply": '<path d="M4 5h16v11H9l-5 4V5z"/>',
    "repost": '<path d="M7 7h11l-3-3M17 17H6l3 3"/><path d="M18 7v5M6 17v-5"/>',
    "heart": '<path d="M12 20s-7-4.4-7-10a4 4 0 017-2.6A4 4 0 0119 10c0 5.6-7 10-7 10z"/>',
    "thumb": '<path d="M7 10v10H4V10z"/><path d="M7 10l4-7a2 2 0 013 2l-1 5h6a2 2 0 012 2.3l-1.2 6A2 2 0 0117.8 20H7"/>',
    "comment": '<path d="M4 5h16v11H9l-5 4z"/>',
    "send": '<path d="M21 3L3 11l7 3 3 7z"/><path d="M10 14L21 3"/>',
    "share": '<circle cx="18" cy="5" r="2.5"/><circle cx="6" cy="12" r="2.5"/><circle cx="18" cy="19" r="2.5"/><path d="M8.2 13.3l7.6 4.4M15.8 6.3l-7.6 4.4"/>',
    "eye": '<path d="M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z"/><circle cx="12" cy="12" r="3"/>',
}


@register.simple_tag
def icon(name: str, size: int = 18) -> SafeString:
    body = _ICONS.get(name, "")
    return format_html(
        '<svg class="icon" width="{}" height="{}" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
        'stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">{}</svg>',
        size,
        size,
        mark_safe(body),  # noqa: S308 - constant markup defined above
    )


@register.filter
def network_name(key: str) -> str:
    return registry.display_name(key)


@register.filter
def grouped(value: int) -> str:
    """A count with the language's thousands separators (4,096 / 4 096), as limit messages say it."""
    return text.number(int(value))


@register.filter
def network_abbr(key: str) -> str:
    return registry.abbreviation(key)


@register.filter
def initials(text: str) -> str:
    words = [w for w in str(text).replace("@", " ").replace(".", " ").split() if w]
    return "".join(w[0] for w in words[:2]).upper() or "?"


@register.filter
def get_item(mapping: dict[str, object], key: str) -> object:
    return mapping.get(key)


# Date shapes per language: Django's MONTH_DAY_FORMAT for Russian uses the nominative month
# ("26 Ноябрь"); a date needs the genitive ("26 ноября"), which is "E".
_DATE_SHAPES = {
    "en": {"day": "M j", "full": "M j, Y", "long": "l, F j, H:i"},
    "ru": {"day": "j E", "full": "j E Y", "long": "l, j E, H:i"},
    "ko": {"day": "n월 j일", "full": "Y년 n월 j일", "long": "n월 j일 l H:i"},
}


@register.filter(expects_localtime=True)
def local_date(value: object, shape: str = "day") -> str:
    from django.utils import formats, translation

    if not value:
        return ""
    language = (translation.get_language() or "en")[:2]
    fmt = _DATE_SHAPES.get(language, _DATE_SHAPES["en"]).get(shape, "M j")
    return formats.date_format(value, fmt)  # type: ignore[arg-type]  # a template value: a date or datetime, checked truthy above
