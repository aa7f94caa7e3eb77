"""The week view opens where the week's posts are (or at now), and says how many posts are
scrolled out of view, in the person's language."""

from __future__ import annotations

import json
import re

from rupor.web import test_calendar
from rupor.web.calendar_views import hidden_post_labels, week_scroll_hour
from rupor.web.test_calendar import Cal, _client, _draft, _local, _schedule

cal = test_calendar.cal  # the calendar tests' Berlin workspace, frozen on Thursday 20 March 2025


def _scroll_hour(html: str) -> int:
    match = re.search(r'<tr data-scroll-here>\s*<th scope="row" class="cal-hour">(\d\d):00</th>', html)
    assert match, "no row to open at"
    return int(match.group(1))


def test_this_week_opens_at_its_first_post_before_eight(cal: Cal) -> None:
    _draft(cal.actor, cal.tg, "Early bird", _local(2025, 3, 17, 6, 15))  # Monday, before 08:00
    _schedule(cal.actor, cal.tg, "Lunch", _local(2025, 3, 21, 12, 0))
    html = _client(cal.owner, cal.ws).get("/calendar/?view=week&date=2025-03-20").content.decode()
    assert _scroll_hour(html) == 6


def test_this_week_without_early_posts_opens_at_now(cal: Cal) -> None:
    _schedule(cal.actor, cal.tg, "Evening", _local(2025, 3, 21, 19, 0))
    html = _client(cal.owner, cal.ws).get("/calendar/?view=week&date=2025-03-20").content.decode()
    assert _scroll_hour(html) == 10  # the frozen now: Thursday 10:00 in Berlin


def test_another_week_opens_at_its_first_post_or_at_eight(cal: Cal) -> None:
    _schedule(cal.actor, cal.tg, "Night owl", _local(2025, 4, 2, 5, 0))
    client = _client(cal.owner, cal.ws)
    assert _scroll_hour(client.get("/calendar/?view=week&date=2025-04-01").content.decode()) == 5
    assert _scroll_hour(client.get("/calendar/?view=week&date=2025-04-14").content.decode()) == 8


def test_week_scroll_hour_rules() -> None:
    assert week_scroll_hour([], None) == 8
    assert week_scroll_hour([14, 9], None) == 9
    assert week_scroll_hour([14, 9], 7) == 7
    assert week_scroll_hour([3], 22) == 3


def test_hidden_post_marks_have_plural_forms_in_russian() -> None:
    from django.utils import translation

    with translation.override("ru"):
        labels = json.loads(hidden_post_labels(5))
    assert labels["earlier"]["1"] == "Выше ещё 1 пост"
    assert labels["earlier"]["2"] == "Выше ещё 2 поста"
    assert labels["later"]["5"] == "Ниже ещё 5 постов"
    assert json.loads(hidden_post_labels(2))["earlier"]["2"] == "2 posts earlier"
