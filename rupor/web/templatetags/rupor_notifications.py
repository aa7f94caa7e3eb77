"""The email preferences card of the profile page: ``{% load rupor_notifications %}{% email_preferences_card %}``.

The profile page belongs to accounts; the card and its form (``notification_views.email_preferences``)
to notifications, so the card brings its own data: the person's preferences, or what they sent
when it was refused, with the reason.
"""

from __future__ import annotations

from typing import Any

from django import template

from rupor.notifications import service as notifications
from rupor.web import forms

register = template.Library()


@register.inclusion_tag("web/_email_preferences.html", takes_context=True)
def email_preferences_card(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    workspace = getattr(request, "workspace", None)
    prefs = notifications.email_preferences(
        request.user.pk, timezone=workspace.timezone if workspace is not None else "UTC"
    )
    # What a refused form sent (notification_views.POSTED_KEY), shown once with the reason.
    posted = request.session.pop("rupor_email_prefs_posted", None)
    if isinstance(posted, dict):
        emailed = set(posted.get("emailed") or ())
        digest, hour, timezone = (
            bool(posted.get("digest")),
            str(posted.get("digest_hour", "")),
            str(posted.get("timezone", "")),
        )
        error, field = str(posted.get("error", "")), str(posted.get("field", ""))
    else:
        emailed = {kind for kind, on in prefs.emailed.items() if on}
        digest, hour, timezone, error, field = prefs.digest, str(prefs.digest_hour), prefs.timezone, "", ""
    return {
        "csrf_token": context.get("csrf_token"),
        "events": [
            {
                "kind": kind,
                "label": label,
                "on": kind in emailed,
                "default": notifications.EMAIL_DEFAULTS[kind],
            }
            for kind, label in notifications.EVENTS.items()
        ],
        "digest": digest,
        "hours": [(h, f"{h:02d}:00") for h in range(24)],
        "digest_hour": hour,
        "timezone": timezone,
        "tz_names": forms.timezone_names(),
        "error": error,
        "error_field": field,
    }
