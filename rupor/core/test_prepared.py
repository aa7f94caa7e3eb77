"""Queries compiled once and run with other values (``core/prepared.py``)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from rupor.core import prepared

pytestmark = pytest.mark.django_db

_BY_NAME = prepared.PreparedRow(
    Group,
    lambda pk, name: Group.objects.filter(name=name, pk__gte=pk).order_by("pk").values_list("pk", "name")[:1],
    (-123_456, "\x00placeholder"),
    ("id", "name"),
)


def test_a_prepared_row_runs_with_the_values_given_whatever_their_order_in_the_sql():
    first, second = Group.objects.create(name="first"), Group.objects.create(name="second")
    assert _BY_NAME.first(0, "second") == (second.pk, "second")
    assert _BY_NAME.first(0, "first") == (first.pk, "first")
    assert _BY_NAME.first(first.pk + 1, "first") is None  # the other value counts too
    assert _BY_NAME.first(0, "nobody") is None


def test_a_prepared_insert_writes_one_row_or_many():
    insert = prepared.PreparedInsert(Group, ("name",))
    insert.insert("one")
    insert.insert_many([("two",), ("three",), ('it\'s "quoted"; DROP TABLE x',)])
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(
        ["one", "two", "three", 'it\'s "quoted"; DROP TABLE x']
    )
