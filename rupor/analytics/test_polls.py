"""Keyword polls counted from comments, and native results kept per post."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from rupor.analytics import polls

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class C:
    author: str
    text: str
    minutes: int

    @property
    def at(self) -> dt.datetime:
        return T0 + dt.timedelta(minutes=self.minutes)


@pytest.mark.parametrize(
    ("text", "multiple", "vote"),
    [
        ("2", False, (1,)),
        ("#2!", False, (1,)),
        ("I pick 1", False, (0,)),
        ("1 or 2", False, None),  # one answer only
        ("1, 3", True, (0, 2)),
        ("3 3", True, (2,)),
        ("4", False, None),  # no such option
        ("12", False, None),  # a number, not an option
        ("great post", False, None),
        ("", False, None),
    ],
)
def test_vote_of(text, multiple, vote):
    assert polls.vote_of(text, 3, multiple=multiple) == vote


def test_one_vote_per_author_latest_valid_wins_late_ignored():
    comments = [
        C("ann", "1", 1),
        C("ann", "2", 5),  # changed her mind: 2
        C("bob", "2", 2),
        C("bob", "2", 3),  # a duplicate counts once
        C("cat", "3", 4),
        C("cat", "nice!", 6),  # not a vote: her 3 stands
        C("dan", "1", 90),  # after the closing time
        C("", "1", 2),  # no author: not counted
        C("eve", "7", 3),  # out of range
    ]
    count = polls.count_keyword_votes(comments, 3, closes_at=T0 + dt.timedelta(minutes=60))
    assert count.votes == (0, 2, 1)
    assert count.voters == 3


def test_a_late_change_does_not_undo_an_earlier_vote():
    comments = [C("ann", "1", 10), C("ann", "2", 120)]
    count = polls.count_keyword_votes(comments, 2, closes_at=T0 + dt.timedelta(minutes=60))
    assert count.votes == (1, 0)


def test_multiple_answers_count_each_choice_once_per_voter():
    comments = [C("ann", "1, 2", 1), C("bob", "2", 2), C("ann", "2 and 3", 3)]
    count = polls.count_keyword_votes(comments, 3, multiple=True)
    assert count.votes == (0, 2, 1)
    assert count.voters == 2
