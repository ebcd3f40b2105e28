"""The results store on real SQLite files: API, transactions, schema, and one-line storage errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xeonfleet.store import StoreError, _redact, absolute_location, busy_timeout, default_location, open_store
from tests.store_checks import check_transactions_roll_back_as_a_whole_and_nest, insert_run


def _can_unshare_mounts() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-m", "true"], capture_output=True, check=False).returncode == 0


needs_mount_ns = pytest.mark.skipif(not _can_unshare_mounts(), reason="needs root and unshare -m")


def test_roundtrip_with_named_parameters_and_returning_id(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "r.db")) as store:
        assert store.dialect == "sqlite"
        first = insert_run(store, "50% of inventories/a.py", 1.5)
        second = insert_run(store, "b?:x", 2.0)
        assert first < second
        assert store.execute("SELECT inventory, duration_s FROM audit_runs WHERE duration_s > :least ORDER BY id",
                             {"least": 1.0}) == [("50% of inventories/a.py", 1.5), ("b?:x", 2.0)]
        # text() takes `:word` for a parameter even inside quotes: a literal colon is written `\\:`.
        assert store.execute("SELECT count(*) FROM audit_runs WHERE inventory LIKE '%?\\:x'") == [(1,)]


def test_sqlite_url_and_env_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "sub" / "env.db"
    monkeypatch.setenv("XEONFLEET_DB", str(target))
    with open_store() as store:
        insert_run(store, "x")
    assert target.exists()
    with open_store(f"sqlite://{target}") as store:
        assert store.execute("SELECT inventory FROM audit_runs") == [("x",)]


def test_default_store_is_in_the_users_data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XEONFLEET_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_location() == str(tmp_path / "data" / "xeonfleet" / "results.db")
    with open_store() as store:
        insert_run(store, "x")
    assert (tmp_path / "data" / "xeonfleet" / "results.db").is_file()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unset_or_relative in ("", "rel/data"):  # the XDG spec: fall back to ~/.local/share
        monkeypatch.setenv("XDG_DATA_HOME", unset_or_relative)
        assert default_location() == str(tmp_path / "home" / ".local" / "share" / "xeonfleet" / "results.db")
    monkeypatch.setenv("XEONFLEET_DB", "postgresql://bob@db/xf")
    assert default_location() == "postgresql://bob@db/xf"


def test_transaction_rolls_back_as_a_whole_and_nests(tmp_path: Path) -> None:
    check_transactions_roll_back_as_a_whole_and_nest(open_store(str(tmp_path / "t.db")))


def test_sql_error_is_one_line_and_the_store_stays_usable(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "e.db")) as store:
        with pytest.raises(StoreError, match=r"^results store .*e\.db: no such table: nope$"):
            store.execute("SELECT * FROM nope")
        with pytest.raises(StoreError, match="NOT NULL constraint failed: audit_runs.started_at$"):
            with store.transaction():
                insert_run(store, "kept only if the next statement works")
                store.execute("INSERT INTO audit_runs (inventory) VALUES (NULL)")
        assert store.execute("SELECT count(*) FROM audit_runs") == [(0,)]


def test_full_database_is_one_line_error(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "full.db"))
    (pages,) = store.execute("PRAGMA page_count")[0]
    store.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite's own SQLITE_FULL, the code a full disk gives
    with pytest.raises(StoreError) as err:
        for _ in range(200):
            insert_run(store, "x" * 2000)
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
from tests.store_checks import insert_run
try:
    store = open_store(sys.argv[1])
    for _ in range(2000):
        insert_run(store, "x" * 4000)
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
    assert _redact("postgresql://bob:secret@db:5432/x") == "postgresql://bob:***@db:5432/x"
    assert _redact("postgresql://bob@db/x") == "postgresql://bob@db/x"
    assert _redact("postgresql:///x?host=/run/pg") == "postgresql:///x?host=%2Frun%2Fpg"  # SQLAlchemy's quoting


def test_absolute_location_fixes_sqlite_paths_and_keeps_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert absolute_location("r/x.db") == absolute_location("sqlite://r/x.db") == str(tmp_path / "r/x.db")
    assert absolute_location("sqlite:///srv/x.db") == "/srv/x.db"
    assert absolute_location(":memory:") == ":memory:"
    assert absolute_location("postgresql://bob@db/xf") == "postgresql://bob@db/xf"


def test_read_only_commands_never_create_a_store(tmp_path: Path) -> None:
    missing = tmp_path / "no-dir" / "x.db"
    with pytest.raises(StoreError, match=r"^no results store at .*/no-dir/x\.db: run `xeonfleet audit INVENTORY`"):
        open_store(str(missing), read_only=True)
    assert not missing.parent.exists()
    existing = tmp_path / "there.db"
    with open_store(str(existing)) as store:
        insert_run(store, "x")
    for location in (str(existing), f"sqlite://{existing}"):
        with open_store(location, read_only=True) as store:
            assert store.execute("SELECT inventory FROM audit_runs") == [("x",)]
    open_store(":memory:", read_only=True).close()


def test_busy_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XEONFLEET_DB_TIMEOUT", "2.5")
    assert busy_timeout() == 2.5
    monkeypatch.setenv("XEONFLEET_DB_TIMEOUT", "soon")
    with pytest.raises(StoreError, match=r"^\$XEONFLEET_DB_TIMEOUT must be a number of seconds, got 'soon'$"):
        busy_timeout()
