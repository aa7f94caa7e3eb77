"""Threads: parts typed in the composer, their checks against a network's limits, and the split
of an over-long text into posts that fit."""

from __future__ import annotations

from rupor.networks import registry
from rupor.networks.text import grapheme_length, weighted_length
from rupor.networks.thread import MAX_PARTS, join_parts, parse_parts, split_for, split_text, thread_problems


def test_parts_are_blocks_between_lines_of_dashes() -> None:
    typed = "Second post\n---\n\nThird post\nwith two lines\n  ----  \n\n---\n"
    assert parse_parts(typed) == ["Second post", "Third post\nwith two lines"]
    assert parse_parts(join_parts(["a", "b --- c"])) == ["a", "b --- c"]  # dashes inside a line stay
    assert parse_parts("") == []


def test_a_long_text_splits_at_sentence_ends_into_posts_that_fit() -> None:
    sentences = [f"Sentence number {n} tells a little more about our spring menu." for n in range(12)]
    text = " ".join(sentences)
    parts = split_text(text, weighted_length, 280)
    assert len(parts) > 1
    assert all(weighted_length(p) <= 280 for p in parts)
    assert all(p.endswith(".") for p in parts)  # cut between sentences, none broken
    assert " ".join(parts) == text  # nothing lost, nothing added


def test_a_sentence_longer_than_a_post_splits_between_words_and_a_huge_word_inside() -> None:
    words = " ".join(f"word{n}" for n in range(100))
    parts = split_text(words, len, 50)
    assert all(len(p) <= 50 for p in parts) and " ".join(parts) == words
    assert split_text("x" * 120, len, 50) == ["x" * 50, "x" * 50, "x" * 20]
    assert split_text("   ", len, 50) == []


def test_paragraphs_stay_apart_and_a_short_text_is_one_post() -> None:
    assert split_text("One.\n\nTwo.", len, 100) == ["One.\n\nTwo."]
    assert split_text("First paragraph here.\n\nSecond one.", len, 25) == [
        "First paragraph here.",
        "Second one.",
    ]


def test_split_counts_in_the_networks_unit() -> None:
    emoji = "👩‍👩‍👧 " * 200  # one grapheme each on Bluesky, many code points
    parts = split_for(registry.adapter("bluesky"), emoji)
    assert all(grapheme_length(p) <= 300 for p in parts) and len(parts) == 2
    hangul = "안녕하세요 " * 60  # weighted 2 each on X
    x_parts = split_for(registry.adapter("x"), hangul)
    assert all(weighted_length(p) <= 280 for p in x_parts) and len(x_parts) == 3


def test_thread_problems_name_each_bad_part() -> None:
    x = registry.adapter("x")
    assert thread_problems(x, {"thread": ["fine", "also fine"]}, None) == []
    problems = thread_problems(x, {"thread": ["ok", "", "字" * 141]}, None)
    assert [p.field for p in problems] == ["options.thread[1]", "options.thread[2]"]
    assert "Post 3 of the thread is empty" in problems[0].message
    assert "Post 4 of the thread has 282; X allows 280" in problems[1].message
    too_many = thread_problems(x, {"thread": ["p"] * (MAX_PARTS + 1)}, None)
    assert [p.field for p in too_many] == ["options.thread"]
    assert thread_problems(x, {"thread": "not a list"}, None)[0].field == "options.thread"
    assert (
        "cannot post threads" in thread_problems(registry.adapter("vk"), {"thread": ["a"]}, None)[0].message
    )
    bluesky = registry.adapter("bluesky")
    assert thread_problems(bluesky, {"thread": ["👍" * 300]}, None) == []
    assert thread_problems(bluesky, {"thread": ["👍" * 301]}, None)[0].field == "options.thread[0]"
