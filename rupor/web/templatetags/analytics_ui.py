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


@register.filter
def probability(value: float | None) -> str:
    """A probability as a percentage, never a rounded-off certainty ("> 99.9%", not "100.0%")."""
    if value is None:
        return "—"
    if value > 0.999:
        return f"> {floatformat(99.9, 1)}%"
    if value < 0.001:
        return f"< {floatformat(0.1, 1)}%"
    return percent(value, 1)


@register.filter
def pvalue(value: float | None) -> str:
    """A p-value to four decimals, and "< 0.0001" rather than a rounded-off zero."""
    if value is None:
        return "—"
    if value < 0.0001:
        return f"< {floatformat(0.0001, 4)}"
    return floatformat(value, 4)
