"""Template filters of the analytics pages."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat

register = template.Library()


@register.filter
def percent(value: float | None, digits: int = 0) -> str:
    """A share (0.1234) as a percentage in the page's locale ("12.3%" with ``digits`` = 1)."""
    if value is None:
        return "—"
    return f"{floatformat(value * 100, int(digits))}%"
