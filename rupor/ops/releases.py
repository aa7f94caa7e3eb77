"""Upgrades without downtime: the previous release's code keeps running on the new schema.

During a rolling upgrade the new schema is in place while processes of the previous release
still run (a worker not yet restarted, a second web host). So migrations are *expand / contract*
(docs/upgrades.md, decision 0035): a release only adds (tables, nullable columns, columns with a
database default) and stops using what it will drop; a later release drops it, in a migration
marked as a contract step. Two checks hold a change to that, both against the previous release's
leaf migrations, recorded in ``rupor/migrations_release.txt``:

* :func:`static_problems` reads every migration newer than the release and refuses operations
  that break the previous release's code: dropping or renaming what its models have, a NOT NULL
  column without a database default, narrowing or retyping a column, and raw SQL that nobody
  marked (``expand_only = True`` after review, or ``contract_after_release = "X.Y.Z"``: a contract
  step, allowed once release X.Y.Z, which stopped using what it drops, is the previous release).
* :func:`old_code_problems` migrates a scratch database from the release to the head and runs
  the previous release's models (``loader.project_state(release leaves).apps``) against it:
  every table and column they select must be there, an update of all their columns must run, and
  every column they do not know must accept an insert without it (nullable or a default).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.operations import (
    AddField,
    AlterField,
    AlterModelTable,
    DeleteModel,
    RemoveField,
    RenameField,
    RenameModel,
    RunSQL,
    SeparateDatabaseAndState,
)
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState
from django.db.models import NOT_PROVIDED, F, Field

RELEASE_FILE = Path(__file__).resolve().parents[1] / "migrations_release.txt"
Key = tuple[str, str]


class ReleaseFileError(Exception):
    """``migrations_release.txt`` is missing or malformed."""


@dataclass(frozen=True)
class Release:
    version: str
    leaves: tuple[Key, ...]


@dataclass(frozen=True)
class Problem:
    migration: str  # "app.0007_name", or "app.Model" for a problem found by running old models
    message: str

    def __str__(self) -> str:
        return f"{self.migration}: {self.message}"


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.strip().split("."))
    except ValueError as exc:
        raise ReleaseFileError(f"{text!r} is not a release version like 1.2.0") from exc


def read_release(path: Path = RELEASE_FILE) -> Release:
    """The recorded release: ``release X.Y.Z`` and one ``app migration`` per line (``#`` comments)."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ReleaseFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    version = ""
    leaves: list[Key] = []
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if len(words) != 2:
            raise ReleaseFileError(f"{path.name} line {number}: expected 'release X.Y.Z' or 'app migration'")
        if words[0] == "release":
            _version(words[1])
            version = words[1]
        else:
            leaves.append((words[0], words[1]))
    if not version or not leaves:
        raise ReleaseFileError(f"{path.name} names no release version or no migrations")
    return Release(version, tuple(leaves))


def format_release(version: str, leaves: Iterable[Key]) -> str:
    _version(version)
    body = "\n".join(f"{app} {name}" for app, name in sorted(leaves))
    return (
        "# The leaf migrations of the last release: migrations after these must keep that release's\n"
        "# code working (rupor/ops/releases.py, docs/upgrades.md). Rewrite with\n"
        "# 'rupor release record X.Y.Z > rupor/migrations_release.txt' when a release is tagged.\n"
        f"release {version}\n{body}\n"
    )


def head_leaves(loader: MigrationLoader | None = None) -> list[Key]:
    loader = loader or MigrationLoader(None, ignore_no_migrations=True)
    return sorted(loader.graph.leaf_nodes())


def new_migrations(loader: MigrationLoader, release: Release) -> list[Key]:
    """Migrations of this code that the release did not have, in the order they apply."""
    unknown = [leaf for leaf in release.leaves if leaf not in loader.graph.nodes]
    if unknown:
        raise ReleaseFileError(
            f"the release names migrations this code does not have: {', '.join(f'{a}.{n}' for a, n in unknown)}"
        )
    released: set[Key] = set()
    for leaf in release.leaves:
        released.update(loader.graph.forwards_plan(leaf))
    ordered: list[Key] = []
    for leaf in head_leaves(loader):
        for key in loader.graph.forwards_plan(leaf):
            if key not in released and key not in ordered:
                ordered.append(key)
    return ordered


# -- the static check -----------------------------------------------------------------------------


def _database_operations(operations: Iterable[Operation]) -> Iterator[Operation]:
    """What touches the database: a state-only change (SeparateDatabaseAndState) does not."""
    for op in operations:
        if isinstance(op, SeparateDatabaseAndState):
            yield from _database_operations(op.database_operations)
        else:
            yield op


@dataclass(frozen=True)
class _Released:
    """The previous release's models, as its migrations left them."""

    state: ProjectState

    def model(self, app: str, model: str) -> Any:
        return self.state.models.get((app, model.lower()))

    def field(self, app: str, model: str, name: str) -> Field[Any, Any] | None:
        found = self.model(app, model)
        return None if found is None else found.fields.get(name)


def _column(name: str, field: Field[Any, Any]) -> str:
    return str(field.db_column or (f"{name}_id" if field.is_relation and field.many_to_one else name))


def _altered(app: str, op: AlterField, released: _Released) -> str | None:
    old = released.field(app, op.model_name, op.name)
    if old is None:
        return None
    new = op.field
    if _column(op.name, old) != _column(op.name, new):
        return f"renames the column of {op.model_name}.{op.name}, which the previous release uses"
    if old.null and not new.null and new.db_default is NOT_PROVIDED:
        return (
            f"makes {op.model_name}.{op.name} NOT NULL, while the previous release may write NULL "
            "(give it a db_default, or make it NOT NULL in the release after)"
        )
    if old.get_internal_type() != new.get_internal_type():
        return f"changes the type of {op.model_name}.{op.name}, which the previous release reads and writes"
    if old.max_length and new.max_length and new.max_length < old.max_length:
        return f"shortens {op.model_name}.{op.name}, which the previous release may fill to {old.max_length}"
    return None


def _operation_problem(app: str, op: Operation, released: _Released) -> str | None:
    if isinstance(op, AddField):
        field = op.field
        if (
            released.model(app, op.model_name) is not None
            and not field.many_to_many
            and not field.null
            and field.db_default is NOT_PROVIDED
            and not getattr(field, "generated", False)
        ):
            return (
                f"adds {op.model_name}.{op.name} as NOT NULL without a database default: the previous release "
                "inserts rows without it. Give it db_default=..., or null=True."
            )
        return None
    if isinstance(op, RemoveField):
        if released.field(app, op.model_name, op.name) is not None:
            return (
                f"drops {op.model_name}.{op.name}, which the previous release reads and writes: remove it from the "
                "model in one release (state only), drop the column in a later one (a contract step)"
            )
        return None
    if isinstance(op, RenameField):
        if released.field(app, op.model_name, op.old_name) is not None:
            return (
                f"renames {op.model_name}.{op.old_name}: add the new column, copy, and drop the old one later"
            )
        return None
    if isinstance(op, DeleteModel):
        if released.model(app, op.name) is not None:
            return (
                f"drops the table of {op.name}, which the previous release uses: drop it in a later release"
            )
        return None
    if isinstance(op, RenameModel):
        if released.model(app, op.old_name) is not None:
            return f"renames {op.old_name}, whose table the previous release uses"
        return None
    if isinstance(op, AlterModelTable):
        if released.model(app, op.name) is not None:
            return f"moves {op.name} to another table, while the previous release uses the old one"
        return None
    if isinstance(op, AlterField):
        return _altered(app, op, released)
    if isinstance(op, RunSQL):
        return (
            "runs raw SQL, which cannot be checked: after review, mark the migration expand_only = True "
            "(it keeps everything the previous release uses) or contract_after_release = 'X.Y.Z'"
        )
    return None


def _migration_problems(
    key: Key, migration: Migration, released: _Released, release: Release
) -> list[Problem]:
    name = f"{key[0]}.{key[1]}"
    contract_after = getattr(migration, "contract_after_release", None)
    if contract_after is not None and _version(release.version) < _version(str(contract_after)):
        return [
            Problem(
                name,
                f"is a contract step for after release {contract_after}, but the previous release is "
                f"{release.version}: it waits until {contract_after} is out",
            )
        ]
    problems = []
    for op in _database_operations(migration.operations):
        problem = _operation_problem(key[0], op, released)
        if problem is None:
            continue
        if isinstance(op, RunSQL) and (
            getattr(migration, "expand_only", False) or contract_after is not None
        ):
            continue
        problems.append(Problem(name, problem))
    return problems


def static_problems(release: Release, loader: MigrationLoader | None = None) -> list[Problem]:
    """Operations newer than ``release`` that would break its code (see the module's doc)."""
    loader = loader or MigrationLoader(None, ignore_no_migrations=True)
    released = _Released(loader.project_state(release.leaves))
    problems: list[Problem] = []
    for key in new_migrations(loader, release):
        problems.extend(_migration_problems(key, loader.graph.nodes[key], released, release))
    return problems


# -- the check that runs the previous release's models --------------------------------------------


def migrate(alias: str, targets: Iterable[Key]) -> None:
    """Migrate the database ``alias`` to exactly ``targets`` (forwards or backwards)."""
    executor = MigrationExecutor(connections[alias])
    executor.migrate(list(targets))


def _insert_problems(alias: str, model: Any) -> list[str]:
    """Columns the old model does not know, which an insert without them would violate."""
    connection = connections[alias]
    known = {f.column for f in model._meta.concrete_fields}
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, model._meta.db_table)
    return [
        f"{model._meta.db_table}.{column.name} is NOT NULL without a default: the previous release's inserts "
        "leave it out"
        for column in description
        if column.name not in known and not column.null_ok and column.default is None
    ]


def _model_problems(alias: str, model: Any, tables: set[str]) -> list[str]:
    table = model._meta.db_table
    if table not in tables:
        return [f"its table {table} is gone"]
    manager = model._default_manager.db_manager(alias)
    problems = []
    try:
        with transaction.atomic(using=alias):
            list(manager.all()[:1])  # selects every column the old code knows
    except DatabaseError as exc:
        problems.append(f"reading it fails: {exc}".strip())
    columns = {f.name: F(f.name) for f in model._meta.concrete_fields if not f.primary_key}
    if columns:
        try:
            with transaction.atomic(using=alias):
                manager.filter(pk__isnull=True).update(**columns)  # writes every column (no row)
        except DatabaseError as exc:
            problems.append(f"writing it fails: {exc}".strip())
    return problems + _insert_problems(alias, model)


def old_code_problems(alias: str, release: Release) -> list[Problem]:
    """Run the release's models against the database ``alias`` (already at the new head)."""
    connection = connections[alias]
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    old_apps = loader.project_state(release.leaves).apps
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    problems: list[Problem] = []
    for model in old_apps.get_models(include_auto_created=True):
        if not model._meta.managed or model._meta.proxy:
            continue
        label = f"{model._meta.app_label}.{model.__name__}"
        problems.extend(Problem(label, text) for text in _model_problems(alias, model, tables))
    return problems


@contextmanager
def scratch_sqlite(alias: str = "release_check") -> Iterator[str]:
    """A throwaway SQLite database under ``alias`` for :func:`upgrade_problems`."""
    with tempfile.TemporaryDirectory(prefix="rupor-release-check-") as folder:
        configured = connections.configure_settings(
            {
                "default": {},
                alias: {"ENGINE": "django.db.backends.sqlite3", "NAME": f"{folder}/check.sqlite3"},
            }
        )
        connections.settings[alias] = configured[alias]
        try:
            yield alias
        finally:
            connections[alias].close()
            del connections[alias]
            del connections.settings[alias]


def upgrade_problems(alias: str, release: Release) -> list[Problem]:
    """Migrate the empty database ``alias`` to the release, then to the head, then run the
    release's models against it."""
    migrate(alias, release.leaves)
    migrate(alias, head_leaves())
    return old_code_problems(alias, release)
