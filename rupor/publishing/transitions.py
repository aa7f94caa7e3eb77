"""The one way a publication target changes state.

Every change is one conditional write — ``UPDATE ... WHERE id = %(id)s AND state = %(from)s``
— and its :class:`TargetEvent`, made together, for a pair of states that
:data:`rupor.publishing.models.TRANSITIONS` allows. The engine's fast path composes a
:class:`Move` with its attempt's statements (on PostgreSQL one statement of data-modifying CTEs);
the ORM path (:func:`transition`, used under a row lock by the engine's other paths and by
people's actions) runs the same :class:`Move` and then saves the target's other fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from django.db import connection, transaction

from rupor.core import clock
from rupor.publishing.models import TRANSITIONS, PublicationTarget, TargetEvent

_T = PublicationTarget._meta.db_table
_EVENT = f"INSERT INTO {TargetEvent._meta.db_table} (target_id, at, from_state, to_state, cause, actor)"


class InvalidTransition(Exception):
    """A state change the table does not allow (a bug: nothing was written)."""


class StaleTarget(Exception):
    """The target was not in the state its holder read (a bug, or a write without the row lock):
    nothing was written."""


def check(from_state: str, to_state: str) -> None:
    if to_state not in TRANSITIONS.get(from_state, ()):
        raise InvalidTransition(f"a publication target cannot go from {from_state!r} to {to_state!r}")


@dataclass(frozen=True)
class Move:
    """One allowed change of state as SQL: the conditional update (plus ``set``, more
    ``col = %(param)s`` assignments, and ``where``, more ``AND ...`` conditions) and its event.

    Parameters: ``id``, ``from``, ``to``, ``at``, ``cause``, ``actor`` (see :meth:`params`) and
    whatever ``set`` and ``where`` name. The update returns ``id`` and ``returning``'s columns.
    """

    from_state: str
    to_state: str
    set: str = ""
    where: str = ""
    returning: str = ""

    def __post_init__(self) -> None:
        check(self.from_state, self.to_state)

    @cached_property
    def update(self) -> str:
        more = f", {self.set}" if self.set else ""
        cond = f" AND {self.where}" if self.where else ""
        back = f", {self.returning}" if self.returning else ""
        return (
            f"UPDATE {_T} SET state = %(to)s, updated_at = %(at)s{more} "  # noqa: S608 - constants only
            f"WHERE id = %(id)s AND state = %(from)s{cond} RETURNING id{back}"
        )

    @cached_property
    def event(self) -> str:
        """The event's insert, for the target ``%(id)s``."""
        return f"{_EVENT} VALUES (%(id)s, %(at)s, %(from)s, %(to)s, %(cause)s, %(actor)s)"

    def event_of(self, source: str) -> str:
        """The event's insert for the row a CTE named ``source`` moved."""
        return f"{_EVENT} SELECT id, %(at)s, %(from)s, %(to)s, %(cause)s, %(actor)s FROM {source}"  # noqa: S608 - table names from the models; values are bound parameters

    def params(
        self, target_id: int, at: dt.datetime, cause: str, actor: str = "", **more: Any
    ) -> dict[str, Any]:
        return {
            "id": target_id,
            "from": self.from_state,
            "to": self.to_state,
            "at": connection.ops.adapt_datetimefield_value(at),
            "cause": cause[:300],
            "actor": actor[:200],
            **more,
        }

    def statement(self, *, before: Sequence[str] = (), then: str = "") -> str:
        """The move as one statement (PostgreSQL): ``before`` statements first, then the update
        (``t``) and its event, then ``then``, which may read ``t`` and whose ``RETURNING`` is the
        statement's (without ``then``: the event's ``target_id``)."""
        ctes = [f"b{i} AS ({sql})" for i, sql in enumerate(before)] + [f"t AS ({self.update})"]
        if then:
            return f"WITH {', '.join(ctes)}, e AS ({self.event_of('t')}) {then}"
        return f"WITH {', '.join(ctes)} {self.event_of('t')} RETURNING target_id"

    def run(self, cursor: Any, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The update, then (when it matched) the event, in the caller's transaction; the
        update's row, or ``None`` when the target was not in ``from_state`` (nothing written)."""
        if connection.vendor == "postgresql":
            cursor.execute(self._one, params)
            row = cursor.fetchone()
            return None if row is None else tuple(row)
        return self.run_each(cursor, params)

    def run_each(self, cursor: Any, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """:meth:`run` as separate statements (any database; the caller's transaction)."""
        cursor.execute(self.update, params)
        row = cursor.fetchone()
        if row is not None:
            cursor.execute(self.event, params)
        return None if row is None else tuple(row)

    @cached_property
    def _one(self) -> str:
        return self.statement(then="SELECT * FROM t")


@cache
def _move(from_state: str, to_state: str) -> Move:
    return Move(str(from_state), str(to_state))


def transition(target: PublicationTarget, to_state: str, cause: str, actor: str = "") -> None:
    """Move a target the caller holds (locked, or otherwise its own) to ``to_state``: the
    conditional write and its event now, in the caller's transaction; the caller saves the
    target's other fields in the same transaction.

    Raises :class:`InvalidTransition` for a change the table does not allow and
    :class:`StaleTarget` when the stored state is not the one the caller read.
    """
    move = _move(target.state, to_state)
    now = clock.now()
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if move.run(cursor, move.params(target.pk, now, cause, actor)) is None:
            raise StaleTarget(f"publication target {target.pk} is no longer {target.state!r}")
    target.state = to_state
    target.updated_at = now
