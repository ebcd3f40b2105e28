"""The store's versioned migrations on real SQLite files: a store made by the version-1 code (before
Alembic) is upgraded by a writer with its rows kept; readers never upgrade and name the command that does."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

import pytest

from xeonfleet.store import StoreError, open_store
from tests.store_checks import (
    NEWEST_REVISION,
    check_version_1_store_upgraded,
    insert_run,
    table_names,
    version_1_statements,
)


def _version_1_store(path: Path, components: tuple[str, ...] = ("audit", "bench")) -> Path:
    """A SQLite file exactly as the version-1 code left it (its own connection, no xeonfleet code)."""
    with sqlite3.connect(path) as conn:
        for statement in version_1_statements("sqlite", components):
            conn.execute(statement)
    return path


def _snapshot(path: Path) -> list[tuple]:
    """Every table's definition and rows, read without xeonfleet."""
    with sqlite3.connect(path) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return [(name, conn.execute(f"SELECT * FROM {name}").fetchall()) for name in tables]


def test_the_migrations_ship_inside_the_package() -> None:
    migrations = resources.files("xeonfleet") / "migrations"
    assert (migrations / "env.py").is_file()
    assert sorted(p.name for p in (migrations / "versions").iterdir() if p.name.endswith(".py"))[-1].startswith(
        NEWEST_REVISION)


def test_a_fresh_store_is_created_at_the_newest_revision(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "new.db")) as store:
        assert store.execute("SELECT version_num FROM alembic_version") == [(NEWEST_REVISION,)]
        assert {"audit_runs", "audit_nodes", "audit_findings", "bench_runs", "bench_hosts", "bench_results",
                "bench_samples", "bench_unavailable"} <= table_names(store)
        assert "xeonfleet_schemas" not in table_names(store)


def test_a_version_1_store_is_upgraded_by_a_writer_with_its_rows(tmp_path: Path) -> None:
    path = _version_1_store(tmp_path / "v1.db")
    with open_store(str(path)) as store:
        check_version_1_store_upgraded(store)
    with open_store(str(path)) as again:  # at the newest revision: opening changes nothing
        assert again.execute("SELECT count(*) FROM audit_runs") == [(3,)]


def test_an_audit_only_version_1_store_gets_the_bench_tables(tmp_path: Path) -> None:
    path = _version_1_store(tmp_path / "audit-only.db", ("audit",))
    with open_store(str(path)) as store:
        assert store.execute("SELECT count(*) FROM audit_findings") == [(2,)]
        assert store.execute("SELECT count(*) FROM bench_runs") == [(0,)]
        assert store.execute("SELECT version_num FROM alembic_version") == [(NEWEST_REVISION,)]


def test_a_reader_refuses_a_version_1_store_and_names_the_command_that_upgrades_it(tmp_path: Path) -> None:
    path = _version_1_store(tmp_path / "v1.db")
    before = _snapshot(path)
    with pytest.raises(StoreError, match=r"^results store .*v1\.db has schema revision from before versioned "
                                         r"migrations, this xeonfleet reads 0002; run `xeonfleet audit INVENTORY` "
                                         r"or `xeonfleet bench run INVENTORY` once to upgrade it$"):
        open_store(str(path), read_only=True)
    assert _snapshot(path) == before
    open_store(str(path)).close()
    with open_store(str(path), read_only=True) as reader:
        assert reader.execute("SELECT count(*) FROM audit_runs") == [(2,)]


def test_a_reader_creates_the_tables_of_a_blank_store(tmp_path: Path) -> None:
    """An empty file has nothing to upgrade: the report then says "no runs" instead of "no such table"."""
    blank = tmp_path / "blank.db"
    blank.write_bytes(b"")
    with open_store(str(blank), read_only=True) as reader:
        assert reader.execute("SELECT count(*) FROM bench_runs") == [(0,)]


def test_a_store_from_a_newer_xeonfleet_is_refused_by_everyone(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    with open_store(str(path)) as store:
        insert_run(store, "kept")
        store.execute("UPDATE alembic_version SET version_num = '9999'")
    for read_only in (False, True):
        with pytest.raises(StoreError, match=r"^results store .*newer\.db has schema revision 9999, newer than this "
                                             r"xeonfleet knows \(its newest is 0002\); upgrade xeonfleet$"):
            open_store(str(path), read_only=read_only)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT inventory FROM audit_runs").fetchall() == [("kept",)]


def test_a_writer_locked_out_leaves_the_version_1_store_as_it_was(tmp_path: Path) -> None:
    path = _version_1_store(tmp_path / "v1.db")
    before = _snapshot(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("XEONFLEET_DB_TIMEOUT", "0.2")
            with pytest.raises(StoreError, match="still locked after 0s by another writer"):
                open_store(str(path))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _snapshot(path) == before


def test_an_upgrade_that_fails_half_way_changes_nothing(tmp_path: Path) -> None:
    """The upgrade commits as a whole: here 0001 creates the bench tables, then fails on an index name
    the store already uses, so the tables it created are gone again and no revision is recorded."""
    path = _version_1_store(tmp_path / "v1.db", ("audit",))
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE INDEX bench_samples_series ON audit_runs (id)")
    before = _snapshot(path)
    with pytest.raises(StoreError, match=r"^results store .*v1\.db: index bench_samples_series already exists$"):
        open_store(str(path))
    assert _snapshot(path) == before


def test_head_revision_is_the_newest_migration():
    # A store at HEAD_REVISION opens without importing Alembic: the constant must follow the migrations.
    from xeonfleet.store import HEAD_REVISION, _scripts

    assert _scripts().get_current_head() == HEAD_REVISION
