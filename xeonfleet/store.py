"""The results store: audits, drift and benchmarks all keep their history in one database.

Where: SQLite by default, a file at `$XEONFLEET_DB`, else `$XDG_DATA_HOME/xeonfleet/results.db`
(`~/.local/share/xeonfleet/results.db`), so a pip-installed xeonfleet works from any directory; or
PostgreSQL given a `postgresql://` URL and psycopg (the `postgres` extra, `psycopg[binary]`), so a team,
or every node's audit agent, shares one history. SQLAlchemy Core talks to both: callers write SQL once,
with named parameters (`WHERE host = :host`, params a dict), and SQLAlchemy renders them per backend.

Schema: versioned Alembic migrations shipped in `xeonfleet/migrations/versions/`. A writer upgrades
an older store to the newest revision when it opens it, one opener at a time (SQLite's write lock, a
PostgreSQL advisory lock); a reader never creates or upgrades a store, and says which command does.

The whole API:
    open_store(url=None, read_only=False) -> Store   a context manager; closes on exit
    Store.execute(sql, params=None) -> list[tuple]   the rows of a SELECT or `... RETURNING id`, else []
    Store.executemany(sql, rows)                     one statement per params dict, in one transaction
    Store.transaction()                              commit together or not at all; nested blocks join
    Store.dialect ("sqlite" | "postgresql"), Store.location (the path, or the URL without password)
    default_location(), absolute_location(url), busy_timeout(), StoreError, ENV_VAR

Every storage problem (full disk, read-only path, lock held, unreachable server, old schema) is a
`StoreError` with a one-line message naming the store and the fix.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.sql.expression import Executable

from xeonfleet.private_files import create_private_file, make_private_dirs
from xeonfleet.resources import user_data_dir

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

ENV_VAR = "XEONFLEET_DB"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SQLITE_SCHEME = "sqlite://"
BUSY_TIMEOUT_S = 30.0  # parallel benchmark writers wait for each other instead of failing
BUSY_TIMEOUT_VAR = "XEONFLEET_DB_TIMEOUT"  # seconds to wait for another writer (default BUSY_TIMEOUT_S)
UPGRADE_LOCK_KEY = 0x78656F6E  # "xeon": PostgreSQL advisory lock held while a store is upgraded
WRITERS = "`xeonfleet audit INVENTORY` or `xeonfleet bench run INVENTORY`"

Row = tuple[Any, ...]
Params = Mapping[str, Any]


class StoreError(RuntimeError):
    """The results store cannot be used; the message is one line: which store, what, and the fix."""


def default_location() -> str:
    """Where the store lives when no URL is given: $XEONFLEET_DB, else results.db in the user's data
    directory ($XDG_DATA_HOME/xeonfleet; the XDG spec ignores a relative $XDG_DATA_HOME)."""
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR]
    return str(user_data_dir() / "results.db")


def busy_timeout() -> float:
    """How long a writer waits for the lock another writer holds: ${BUSY_TIMEOUT_VAR} or BUSY_TIMEOUT_S."""
    try:
        return float(os.environ.get(BUSY_TIMEOUT_VAR) or BUSY_TIMEOUT_S)
    except ValueError:
        raise StoreError(f"${BUSY_TIMEOUT_VAR} must be a number of seconds, got {os.environ[BUSY_TIMEOUT_VAR]!r}") from None


def _sqlite_reason(exc: BaseException, where: str) -> str:
    """Turn sqlite's terse errors into the one-line message a user can act on."""
    text = str(exc)
    lowered = text.lower()
    if "disk is full" in lowered or "no space" in lowered:
        return f"results store {where}: disk full; free space or set {ENV_VAR} to another filesystem"
    if "readonly" in lowered or "read-only" in lowered:
        return f"results store {where}: read-only; make it writable or set {ENV_VAR} to a writable path"
    if "unable to open" in lowered:
        return f"results store {where}: cannot open (directory missing or not writable); set {ENV_VAR} to a writable path"
    if "locked" in lowered or "busy" in lowered:
        return (f"results store {where}: still locked after {busy_timeout():.0f}s by another writer; retry when "
                f"it is done (or raise ${BUSY_TIMEOUT_VAR})")
    if "not a database" in lowered or "malformed" in lowered:
        return f"results store {where}: not a SQLite database ({text}); move it away or set {ENV_VAR}"
    return f"results store {where}: {text}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class Store:
    """One open database on one connection, shared by the caller's threads (a lock serialises them).
    Write `INSERT ... RETURNING id` to get a new row's id on both backends."""

    def __init__(self, engine: Engine, location: str) -> None:
        self._engine = engine
        self.dialect = engine.dialect.name
        self.location = location
        self._lock = threading.RLock()
        try:
            self._conn: Connection = engine.connect()
        except DBAPIError as exc:
            engine.dispose()
            raise self._fail(exc) from exc

    def _fail(self, exc: BaseException) -> StoreError:
        reason = getattr(exc, "orig", None) or exc  # the driver's own error, not SQLAlchemy's wrapper
        if self.dialect == "sqlite":
            return StoreError(_sqlite_reason(reason, self.location))
        return StoreError(f"results store {self.location}: {_first_line(reason)}")

    def execute(self, sql: str | Executable, params: Params | None = None) -> list[Row]:
        """Run one statement (SQL text with `:name` parameters, or a SQLAlchemy Core statement);
        returns its rows as tuples. In SQL text, a colon that is not a parameter is written `\\:`."""
        statement = sqlalchemy.text(sql) if isinstance(sql, str) else sql
        with self.transaction():
            try:
                result = self._conn.execute(statement, dict(params or {}))
                return [tuple(row) for row in result] if result.returns_rows else []
            except DBAPIError as exc:
                raise self._fail(exc) from exc

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement per params dict (bulk inserts), in one transaction."""
        if not rows:  # SQLAlchemy would run the statement once, without parameters
            return
        with self.transaction():
            try:
                self._conn.execute(sqlalchemy.text(sql), [dict(row) for row in rows])
            except DBAPIError as exc:
                raise self._fail(exc) from exc

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All statements inside commit together or not at all; nested blocks join the outer one."""
        with self._lock:
            if self._conn.in_transaction():
                yield self
                return
            try:
                with self._conn.begin():
                    yield self
            except DBAPIError as exc:
                raise self._fail(exc) from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sqlite_path(location: str) -> str:
    """sqlite:///abs/path -> /abs/path; sqlite://rel/path and a plain path -> the path as given."""
    return location[len(SQLITE_SCHEME):] if location.startswith(SQLITE_SCHEME) else location


def absolute_location(url: str | None = None) -> str:
    """The store location with a SQLite path made absolute (for a unit or cron job that runs from
    another directory); PostgreSQL URLs and :memory: are returned as they are."""
    location = url or default_location()
    if location.startswith(POSTGRES_SCHEMES) or _sqlite_path(location) == ":memory:":
        return location
    return str(Path(_sqlite_path(location)).resolve())


def _create_private(path: str) -> None:
    """The store's directory (0700 where created) and file (0600 when new): it holds the fleet's serial
    numbers, BIOS and microcode versions. SQLite would create the file with the umask's 0644."""
    try:
        make_private_dirs(Path(path).parent)
        create_private_file(Path(path))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.ENOSPC, errno.EROFS):
            raise StoreError(_sqlite_reason(OSError(reason), path)) from exc
        raise StoreError(f"results store {path}: cannot create it or its directory ({reason}); "
                         f"set {ENV_VAR} to a writable path") from exc


def _sqlite_engine(path: str, read_only: bool) -> Engine:
    # The driver's own transaction handling is off (isolation_level=None): SQLAlchemy's "begin" event
    # issues BEGIN itself, the pysqlite recipe in SQLAlchemy's SQLite dialect documentation. A writer
    # takes the write lock at once (IMMEDIATE), so two writers wait for each other for busy_timeout()
    # instead of failing halfway; a reader's deferred BEGIN reads next to them (WAL).
    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"
    engine = sqlalchemy.create_engine(
        sqlalchemy.URL.create("sqlite", database=path),
        connect_args={"timeout": busy_timeout(), "check_same_thread": False, "isolation_level": None})

    @sqlalchemy.event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            # WAL lets the report reader and a benchmark writer work at once; a read-only file keeps its mode.
            try:
                dbapi_connection.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                if "readonly" not in str(exc).lower():
                    raise

    @sqlalchemy.event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)

    return engine


def _postgres_engine(url: str, location: str) -> Engine:
    try:
        parsed = sqlalchemy.make_url(url).set(drivername="postgresql+psycopg")
        return sqlalchemy.create_engine(parsed)
    except ImportError:
        raise StoreError(
            f"results store {location}: PostgreSQL needs psycopg; `pip install 'psycopg[binary]'`") from None
    except ArgumentError as exc:
        raise StoreError(f"results store {location}: not a valid URL ({exc})") from None


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sqlalchemy.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]


# The newest migration in xeonfleet/migrations/versions (a test keeps them in step): a store already at
# it opens without importing Alembic, which costs a third of a second on every command.
HEAD_REVISION = "0002"


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    """The migrations shipped in the package (pip installs packages as directories, which Alembic needs)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(resources.files("xeonfleet") / "migrations"))


def _current_revision(store: Store) -> str | None:
    """The revision Alembic recorded in the store (its alembic_version table), None before any."""
    if not sqlalchemy.inspect(store._conn).has_table("alembic_version"):
        return None
    return store._conn.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).scalar()


def _revision_problem(store: Store, current: str | None, read_only: bool) -> str | None:
    """Why this store cannot be brought to the newest revision by this opener; None when it can."""
    from alembic.util import CommandError

    head = _scripts().get_current_head()
    if current is not None:
        try:
            _scripts().get_revision(current)
        except CommandError:
            return (f"results store {store.location} has schema revision {current}, newer than this xeonfleet "
                    f"knows (its newest is {head}); upgrade xeonfleet")
    blank = not sqlalchemy.inspect(store._conn).get_table_names()
    if not read_only or blank:  # a blank store has nothing to upgrade: readers create its tables too
        return None
    return (f"results store {store.location} has schema revision {current or 'from before versioned migrations'}, "
            f"this xeonfleet reads {head}; run {WRITERS} once to upgrade it")


def _bring_to_head(store: Store, read_only: bool) -> None:
    """Upgrade the store to the newest revision (writers; readers only a blank store), one opener at a
    time: the revision is read under the lock, and the upgrade commits with the revision it records."""
    with store.transaction():
        if store.dialect == "postgresql":
            store.execute("SELECT pg_advisory_xact_lock(:key)", {"key": UPGRADE_LOCK_KEY})
        current = _current_revision(store)
        if current == HEAD_REVISION:
            return
        problem = _revision_problem(store, current, read_only)
        if problem:
            raise StoreError(problem)
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", _scripts().dir)
        config.attributes["connection"] = store._conn  # migrations/env.py runs on it
        try:
            command.upgrade(config, "head")
        except DBAPIError as exc:
            raise store._fail(exc) from exc


def open_store(url: str | None = None, read_only: bool = False) -> Store:
    """Open the results store at `url` (a path, `sqlite:///path`, `:memory:` or `postgresql://...`);
    None means $XEONFLEET_DB or the default under the user's data directory.

    A writer creates the store (and its directory) if needed and upgrades an older one. `read_only`
    is for commands that only read (reports): a missing SQLite file is an error, and a store at an
    older revision is refused with the command that upgrades it; a blank database (an empty file, a
    new PostgreSQL database) has nothing to upgrade and only gets its tables, so a report on it says
    "no runs" rather than "no such table"."""
    location = url or default_location()
    if location.startswith(POSTGRES_SCHEMES):
        store = Store(_postgres_engine(location, _redact(location)), _redact(location))
    else:
        path = _sqlite_path(location)
        if path != ":memory:":
            if read_only and not Path(path).is_file():
                raise StoreError(f"no results store at {path}: run {WRITERS} first, or point --db / ${ENV_VAR} "
                                 f"at an existing store")
            _create_private(path)
        store = Store(_sqlite_engine(path, read_only), path)
    try:
        _bring_to_head(store, read_only)
    except BaseException:
        store.close()
        raise
    return store
