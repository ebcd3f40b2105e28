"""The results store on real SQLite files: API, transactions, schema, and one-line storage errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xeonfleet.store import StoreError, _to_pyformat, absolute_location, busy_timeout, open_store, require_existing
from tests.store_checks import DDL, check_transactions_roll_back_as_a_whole_and_nest



def _can_unshare_mounts() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-m", "true"], capture_output=True, check=False).returncode == 0


needs_mount_ns = pytest.mark.skipif(not _can_unshare_mounts(), reason="needs root and unshare -m")


def test_roundtrip_with_placeholders_and_returning_id(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "r.db")) as store:
        store.ensure_schema("runs", DDL)
        first = store.execute("INSERT INTO runs (name, value) VALUES (?, ?) RETURNING id", ("a", 1.5))
        second = store.execute("INSERT INTO runs (name, value) VALUES (?, ?) RETURNING id", ("b", 2.0))
        assert first[0][0] < second[0][0]
        assert store.execute("SELECT name, value FROM runs WHERE value > ? ORDER BY id", (1.0,)) == [
            ("a", 1.5), ("b", 2.0)]


def test_sqlite_url_and_env_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "sub" / "env.db"
    monkeypatch.setenv("XEONFLEET_DB", str(target))
    with open_store() as store:
        store.ensure_schema("runs", DDL)
        store.execute("INSERT INTO runs (name) VALUES (?)", ("x",))
    assert target.exists()
    with open_store(f"sqlite://{target}") as store:
        assert store.execute("SELECT name FROM runs") == [("x",)]


def test_transaction_rolls_back_as_a_whole_and_nests(tmp_path: Path) -> None:
    check_transactions_roll_back_as_a_whole_and_nest(open_store(str(tmp_path / "t.db")))


def test_ensure_schema_runs_changed_ddl_once(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s.db"))
    store.ensure_schema("runs", DDL)
    store.ensure_schema("runs", DDL)
    store.ensure_schema("runs", DDL + ";\nCREATE INDEX IF NOT EXISTS runs_name ON runs (name)")
    indexes = store.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'runs_name'")
    assert indexes == [("runs_name",)]
    assert store.execute("SELECT count(*) FROM xeonfleet_schemas") == [(1,)]


def test_placeholders_are_rewritten_outside_quotes_only() -> None:
    assert _to_pyformat("SELECT '?', ? FROM t WHERE n LIKE 'a%' AND m = ?") == (
        "SELECT '?', %s FROM t WHERE n LIKE 'a%%' AND m = %s")


def test_full_database_is_one_line_error(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "full.db"))
    store.ensure_schema("runs", DDL)
    store.execute("PRAGMA max_page_count = 8")  # SQLite's own SQLITE_FULL, the code a full disk gives
    with pytest.raises(StoreError) as err:
        for _ in range(200):
            store.execute("INSERT INTO runs (name) VALUES (?)", ("x" * 2000,))
    message = str(err.value)
    assert "\n" not in message and "disk full" in message and "XEONFLEET_DB" in message


def test_uncreatable_directory_is_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError) as err:
        open_store(str(blocker / "x.db"))
    assert "\n" not in str(err.value) and str(blocker / "x.db") in str(err.value)


def test_postgres_without_psycopg_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import psycopg` raise ImportError, as on a node without it.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StoreError, match=r"psycopg\[binary\]") as err:
        open_store("postgresql://bench:secret@db.example/results")
    assert "secret" not in str(err.value)


# The next two run a child Python in its own mount namespace, on a real tmpfs that is read-only or tiny.
CHILD = """
import sys
from xeonfleet.store import StoreError, open_store
try:
    store = open_store(sys.argv[1])
    store.ensure_schema("runs", "CREATE TABLE IF NOT EXISTS runs (id {pk}, name TEXT)")
    for _ in range(2000):
        store.execute("INSERT INTO runs (name) VALUES (?)", ("x" * 4000,))
except StoreError as exc:
    print(exc)
    sys.exit(3)
"""


def _run_in_mount(tmp_path: Path, mount_options: str) -> subprocess.CompletedProcess[str]:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = (f"mount -t tmpfs -o {mount_options} xeonfleet-test {mnt} && "
              f"exec {sys.executable} -c \"$CHILD\" {mnt}/results/x.db")
    env = {**os.environ, "CHILD": CHILD, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


@needs_mount_ns
def test_real_full_filesystem(tmp_path: Path) -> None:
    result = _run_in_mount(tmp_path, "size=256k")
    assert result.returncode == 3, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1 and "disk full" in result.stdout


@needs_mount_ns
def test_real_read_only_filesystem(tmp_path: Path) -> None:
    result = _run_in_mount(tmp_path, "ro,size=256k")
    assert result.returncode == 3, result.stderr
    line = result.stdout.strip()
    assert len(line.splitlines()) == 1 and ("read-only" in line or "cannot open" in line), line


def test_postgres_url_is_redacted_only_where_it_has_a_password() -> None:
    from xeonfleet.store import _redact

    assert _redact("postgresql://bob:secret@db:5432/x") == "postgresql://bob:***@db:5432/x"
    assert _redact("postgresql://bob@db/x") == "postgresql://bob@db/x"
    assert _redact("postgresql:///x?host=/run/pg") == "postgresql:///x?host=/run/pg"


def test_absolute_location_fixes_sqlite_paths_and_keeps_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert absolute_location("r/x.db") == absolute_location("sqlite://r/x.db") == str(tmp_path / "r/x.db")
    assert absolute_location("sqlite:///srv/x.db") == "/srv/x.db"
    assert absolute_location(":memory:") == ":memory:"
    assert absolute_location("postgresql://bob@db/xf") == "postgresql://bob@db/xf"


def test_read_only_commands_never_create_a_store(tmp_path: Path) -> None:
    missing = tmp_path / "no-dir" / "x.db"
    with pytest.raises(StoreError, match=r"^no results store at .*/no-dir/x\.db: run `xeonfleet audit INVENTORY`"):
        require_existing(str(missing))
    assert not missing.parent.exists()
    existing = tmp_path / "there.db"
    open_store(str(existing)).close()
    require_existing(str(existing))
    require_existing(f"sqlite://{existing}")
    require_existing(":memory:")


def test_busy_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XEONFLEET_DB_TIMEOUT", "2.5")
    assert busy_timeout() == 2.5
    monkeypatch.setenv("XEONFLEET_DB_TIMEOUT", "soon")
    with pytest.raises(StoreError, match=r"^\$XEONFLEET_DB_TIMEOUT must be a number of seconds, got 'soon'$"):
        busy_timeout()
