"""Expand / contract: the previous release's code keeps running on the new schema.

The static rules are tested on hand-made migrations against the recorded release's models; the
real migrations since that release must pass both checks, the second one by migrating a scratch
database (SQLite, or PostgreSQL when the tests run on it) from the release to the head and
running the release's models against it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.apps.registry import Apps
from django.db import connection, connections, migrations, models
from django.db.migrations.loader import MigrationLoader

from rupor.ops import releases
from rupor.ops.releases import Problem, Release

RELEASE = releases.read_release()


@pytest.fixture(scope="module")
def released():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return releases._Released(loader.project_state(RELEASE.leaves))


def problems(released, *operations, release: Release = RELEASE, **attrs) -> list[str]:
    migration = type("Migration", (migrations.Migration,), attrs)("0099_test", "channels")
    migration.operations = list(operations)
    return [
        p.message
        for p in releases._migration_problems(("channels", "0099_test"), migration, released, release)
    ]


def test_adding_is_fine_dropping_or_renaming_what_the_release_uses_is_not(released):
    assert problems(released, migrations.AddField("channel", "note", models.TextField(null=True))) == []
    assert (
        problems(released, migrations.AddField("channel", "flag", models.BooleanField(db_default=False)))
        == []
    )
    assert (
        problems(
            released,
            migrations.CreateModel(
                "Fresh", [("id", models.BigAutoField(primary_key=True)), ("x", models.TextField())]
            ),
            migrations.AddField("fresh", "y", models.TextField()),  # a model the release does not know
        )
        == []
    )
    (required,) = problems(
        released, migrations.AddField("channel", "flag", models.BooleanField(default=False))
    )
    assert "NOT NULL without a database default" in required
    (dropped,) = problems(released, migrations.RemoveField("channel", "status_message"))
    assert "drops channel.status_message" in dropped
    assert problems(released, migrations.RenameField("channel", "name", "title"))
    assert problems(released, migrations.DeleteModel("Channel"))
    assert problems(released, migrations.RenameModel("Channel", "Account"))
    assert problems(released, migrations.AlterModelTable("channel", "accounts_elsewhere"))


def test_a_state_only_removal_is_the_expand_step(released):
    state_only = migrations.SeparateDatabaseAndState(
        state_operations=[migrations.RemoveField("channel", "color")]
    )
    assert problems(released, state_only) == []
    for_real = migrations.SeparateDatabaseAndState(
        database_operations=[migrations.RemoveField("channel", "color")]
    )
    assert problems(released, for_real)


def test_altering_a_column_the_release_writes(released):
    same: models.CharField[str, str] = models.CharField(max_length=300, blank=True, default="")
    assert problems(released, migrations.AlterField("channel", "status_message", same)) == []
    wider: models.CharField[str, str] = models.CharField(max_length=600, blank=True, default="")
    assert problems(released, migrations.AlterField("channel", "status_message", wider)) == []
    (shorter,) = problems(
        released,
        migrations.AlterField("channel", "status_message", models.CharField(max_length=10, default="")),
    )
    assert "shortens" in shorter
    (not_null,) = problems(
        released, migrations.AlterField("channel", "cadence_hours", models.PositiveIntegerField())
    )
    assert "NOT NULL" in not_null
    assert (
        problems(
            released,
            migrations.AlterField("channel", "cadence_hours", models.PositiveIntegerField(db_default=0)),
        )
        == []
    )
    (retyped,) = problems(
        released, migrations.AlterField("channel", "status_message", models.TextField(default=""))
    )
    assert "type" in retyped
    (moved,) = problems(
        released,
        migrations.AlterField("channel", "status_message", models.CharField(max_length=300, db_column="msg")),
    )
    assert "renames the column" in moved


def test_raw_sql_needs_a_mark_and_a_contract_step_waits_for_its_release(released):
    drop = migrations.RunSQL("ALTER TABLE channels_channel DROP COLUMN color", migrations.RunSQL.noop)
    assert problems(released, drop)
    assert problems(released, drop, expand_only=True) == []
    (waiting,) = problems(released, drop, contract_after_release="0.2.0")
    assert "waits until 0.2.0" in waiting
    assert (
        problems(released, drop, release=Release("0.2.0", RELEASE.leaves), contract_after_release="0.2.0")
        == []
    )
    # A contract step still may not drop what the previous release uses.
    assert problems(
        released,
        migrations.RemoveField("channel", "color"),
        release=Release("0.2.0", RELEASE.leaves),
        contract_after_release="0.2.0",
    )


def test_the_migrations_since_the_release_are_expand_only():
    found = releases.static_problems(RELEASE)
    assert found == [], "\n".join(map(str, found))
    loader = MigrationLoader(None, ignore_no_migrations=True)
    assert ("ops", "0001_initial") in releases.new_migrations(loader, RELEASE)
    assert not set(RELEASE.leaves) & set(releases.new_migrations(loader, RELEASE))


def test_the_release_file(tmp_path):
    path = tmp_path / "release.txt"
    path.write_text(
        releases.format_release("1.2.0", [("channels", "0002_job_errors"), ("accounts", "0001_initial")])
    )
    assert releases.read_release(path) == Release(
        "1.2.0", (("accounts", "0001_initial"), ("channels", "0002_job_errors"))
    )
    for bad, message in (
        ("release 1.x\naccounts 0001_initial\n", "not a release version"),
        ("accounts 0001_initial\n", "no release version"),
        ("release 1.0.0\naccounts 0001 extra\n", "line 2"),
    ):
        path.write_text(bad)
        with pytest.raises(releases.ReleaseFileError, match=message):
            releases.read_release(path)
    with pytest.raises(releases.ReleaseFileError, match="does not have"):
        releases.new_migrations(
            MigrationLoader(None, ignore_no_migrations=True), Release("1.0.0", (("accounts", "9999_future"),))
        )
    with pytest.raises(releases.ReleaseFileError, match="cannot read"):
        releases.read_release(Path(tmp_path / "missing.txt"))


# -- running the release's models ---------------------------------------------------------------


@pytest.mark.django_db
def test_old_models_meet_a_missing_column_and_a_required_new_one():
    """A table changed under an old model: a column it selects is gone, and a NOT NULL column it
    does not know has no default. Both are found (the DDL is rolled back with the test)."""
    probe_apps = Apps()

    class Probe(models.Model):
        kept = models.TextField()
        dropped = models.TextField()

        class Meta:
            app_label = "ops"
            db_table = "ops_release_probe"
            apps = probe_apps

        def __str__(self) -> str:
            return self.kept

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE ops_release_probe (id integer PRIMARY KEY, kept text NOT NULL, required text NOT NULL, "
            "optional text NULL, defaulted text NOT NULL DEFAULT 'x')"
        )
    tables = {"ops_release_probe"}
    found = releases._model_problems("default", Probe, tables)
    assert any(p.startswith("reading it fails") for p in found), found
    assert any(p.startswith("writing it fails") for p in found), found
    assert [p for p in found if "NOT NULL without a default" in p] == [
        "ops_release_probe.required is NOT NULL without a default: the previous release's inserts leave it out"
    ]
    assert releases._model_problems("default", Probe, set()) == ["its table ops_release_probe is gone"]


@contextmanager
def _scratch() -> Iterator[str]:
    """An empty scratch database of the tests' vendor, as a connection alias."""
    if connection.vendor != "postgresql":
        with releases.scratch_sqlite() as alias:
            yield alias
        return
    import psycopg

    s = connection.settings_dict
    name = f"rupor_backup_release_{uuid.uuid4().hex[:8]}"
    params = {
        "host": s["HOST"] or "127.0.0.1",
        "port": s["PORT"] or 5432,
        "user": s["USER"],
        "password": s["PASSWORD"],
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    alias = "release_check"
    connections.settings[alias] = connections.configure_settings({"default": {}, alias: {**s, "NAME": name}})[
        alias
    ]
    try:
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_the_previous_release_runs_on_the_new_schema(django_db_blocker):
    with django_db_blocker.unblock(), _scratch() as alias:
        found = releases.upgrade_problems(alias, RELEASE)
        assert found == [], "\n".join(map(str, found))
        # The check can fail: drop a column the release's Channel selects, and it says so.
        with connections[alias].cursor() as cursor:
            cursor.execute("ALTER TABLE channels_channel DROP COLUMN status_message")
        broken = releases.old_code_problems(alias, RELEASE)
        assert [p.migration for p in broken] == ["channels.Channel"] * len(broken) and broken
        assert any("status_message" in p.message for p in broken)
        assert isinstance(broken[0], Problem)
