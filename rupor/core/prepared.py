"""Queries a hot path runs thousands of times a second, compiled by the ORM once.

Compiling a queryset to SQL costs about as much as running it on SQLite (a webhook delivery
paid it twice per request). :class:`PreparedRow` compiles a ``values_list`` query once per
database connection's vendor, with placeholder values, and afterwards only executes the SQL with
the real values; the ORM still writes the SQL (quoting, managers' filters, vendor differences)
and converts the columns (``from_db_value``). :class:`PreparedInsert` does the same for a
single-row INSERT. Only for queries whose shape never changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from django.db import connections, models
from django.db.models import Field, QuerySet


class PreparedRow:
    """``build(*placeholders)`` must return a ``values_list(...)`` queryset over fields of
    ``model``; :meth:`first` runs it with other values and returns the first row (or None).

    The placeholders must be values no caller passes (they locate each value in the compiled
    parameters, whatever order the ORM put them in).
    """

    def __init__(
        self,
        model: type[models.Model],
        build: Callable[..., QuerySet[Any]],
        placeholders: Sequence[object],
        fields: Sequence[str],
    ) -> None:
        self._build = build
        self._placeholders = tuple(placeholders)
        self._fields = [cast("Field[Any, Any]", model._meta.get_field(name)) for name in fields]
        self._compiled: dict[str, tuple[str, list[int | None], list[object]]] = {}

    def _compile(self, alias: str) -> tuple[str, list[int | None], list[object]]:
        qs = self._build(*self._placeholders).using(alias)
        sql, params = qs.query.get_compiler(alias).as_sql()
        slots: list[int | None] = []
        for p in params:
            matches = [i for i, ph in enumerate(self._placeholders) if p == ph and type(p) is type(ph)]
            slots.append(matches[0] if matches else None)
        return sql, slots, list(params)

    def first(self, *values: object, using: str = "default") -> tuple[Any, ...] | None:
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = self._compile(using)
        sql, slots, fixed = compiled
        params: list[Any] = [fixed[i] if slot is None else values[slot] for i, slot in enumerate(slots)]
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        converted = []
        for field, value in zip(self._fields, row, strict=True):
            from_db = getattr(field, "from_db_value", None)
            converted.append(from_db(value, None, connection) if from_db is not None else value)
        return tuple(converted)


class PreparedInsert:
    """One row into ``model``'s table with these fields, in autocommit: committed when it returns."""

    def __init__(self, model: type[models.Model], fields: Sequence[str]) -> None:
        self._table = model._meta.db_table
        self._fields = [cast("Field[Any, Any]", model._meta.get_field(name)) for name in fields]
        self._sql: dict[str, str] = {}

    def insert(self, *values: object, using: str = "default") -> None:
        self.insert_many([values], using=using)

    def insert_many(self, rows: Sequence[Sequence[object]], using: str = "default") -> None:
        """Several rows with one statement's round trips (``executemany``); the caller decides
        the transaction (autocommit: each row is committed on its own). A plain ``str``/``int``/
        ``bool``/``None`` for a text, number, boolean or foreign key field is passed as it is
        (what its ``get_db_prep_save`` would return), any other value through the field."""
        connection = connections[using]
        sql = self._sql.get(using)
        if sql is None:
            quote = connection.ops.quote_name
            columns = ", ".join(quote(str(f.column)) for f in self._fields)
            marks = ", ".join(["%s"] * len(self._fields))
            # Names from the model, quoted by the backend; the values go as parameters.
            sql = self._sql[using] = f"INSERT INTO {quote(self._table)} ({columns}) VALUES ({marks})"  # noqa: S608 - see above
        plain = [type(f) in _PLAIN_FIELDS for f in self._fields]
        params: list[list[Any]] = [
            [
                v if is_plain and type(v) in _PLAIN_VALUES else f.get_db_prep_save(v, connection)
                for f, is_plain, v in zip(self._fields, plain, values, strict=True)
            ]
            for values in rows
        ]
        with connection.cursor() as cursor:
            if len(params) == 1:
                cursor.execute(sql, params[0])
            else:
                cursor.executemany(sql, params)


class PreparedObjectInsert:
    """New ``model`` instances inserted with one ``executemany`` of an INSERT the ORM's field
    list wrote once: what ``bulk_create`` does, without compiling a statement of hundreds of
    rows every call (on a hot path that compile cost more than the insert). Every concrete field
    but an automatic primary key is written, each value prepared by its field (``pre_save``,
    ``get_db_prep_save``), as ``bulk_create`` prepares it. The primary keys are not read back
    and no signals are sent (``bulk_create`` sends none either). A row that breaks a unique
    constraint raises ``IntegrityError``, as ``bulk_create`` does; the caller decides the
    transaction."""

    def __init__(self, model: type[models.Model]) -> None:
        self._table = model._meta.db_table
        self._fields = [
            f
            for f in model._meta.concrete_fields
            if not (f.primary_key and getattr(f, "db_returning", False))
        ]
        self._sql: dict[str, str] = {}

    def _preparers(self, connection: Any) -> list[Callable[[models.Model], Any]]:
        """One function a field: the object's value as the database takes it. A text, number,
        boolean or foreign key field whose value is already a plain ``str``/``int``/``bool`` or
        ``None`` gives it as it is (what those fields' ``get_db_prep_save`` returns for it,
        without its calls); a date-time field prepares each distinct value once per call;
        any other field or value goes through the field's own ``pre_save`` and
        ``get_db_prep_save``."""
        out: list[Callable[[models.Model], Any]] = []
        for f in self._fields:
            full = _full_preparer(f, connection)
            if type(f) in _PLAIN_FIELDS:
                out.append(_plain_preparer(f.attname, full))
            elif type(f) is models.DateTimeField and not (f.auto_now or f.auto_now_add):
                out.append(_cached_preparer(f.attname, full))
            else:
                out.append(full)
        return out

    def insert(self, objs: Sequence[models.Model], using: str = "default") -> None:
        if not objs:
            return
        connection = connections[using]
        sql = self._sql.get(using)
        if sql is None:
            quote = connection.ops.quote_name
            columns = ", ".join(quote(str(f.column)) for f in self._fields)
            marks = ", ".join(["%s"] * len(self._fields))
            # Names from the model, quoted by the backend; the values go as parameters.
            sql = self._sql[using] = f"INSERT INTO {quote(self._table)} ({columns}) VALUES ({marks})"  # noqa: S608 - see above
        preparers = self._preparers(connection)
        params = [[prep(obj) for prep in preparers] for obj in objs]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
        for obj in objs:
            obj._state.adding = False
            obj._state.db = using


#: Fields whose ``get_db_prep_save`` returns a plain ``str``/``int``/``bool``/``None`` value as it is.
_PLAIN_FIELDS = frozenset(
    {
        models.CharField,
        models.TextField,
        models.URLField,
        models.EmailField,
        models.SlugField,
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveSmallIntegerField,
        models.PositiveBigIntegerField,
        models.BooleanField,
        models.ForeignKey,
    }
)
_PLAIN_VALUES = (str, int, bool, type(None))


def _full_preparer(field: Field[Any, Any], connection: Any) -> Callable[[models.Model], Any]:
    def prepare(obj: models.Model) -> object:
        return field.get_db_prep_save(field.pre_save(obj, True), connection)

    return prepare


def _plain_preparer(attname: str, full: Callable[[models.Model], Any]) -> Callable[[models.Model], Any]:
    def prepare(obj: models.Model) -> object:
        value = getattr(obj, attname)
        return value if type(value) in _PLAIN_VALUES else full(obj)

    return prepare


def _cached_preparer(attname: str, full: Callable[[models.Model], Any]) -> Callable[[models.Model], Any]:
    seen: dict[object, object] = {}  # the preparers live for one insert call

    def prepare(obj: models.Model) -> object:
        value = getattr(obj, attname)
        if value not in seen:
            seen[value] = full(obj)
        return seen[value]

    return prepare
