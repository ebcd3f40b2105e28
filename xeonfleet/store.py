"""The results store: audits, drift and benchmarks all keep their history in one database.

SQLite by default (a file, no server: `$XEONFLEET_DB` or `<repo>/results/xeonfleet.db`), PostgreSQL
when given a `postgresql://` URL and psycopg (pip package `psycopg[binary]`) is installed, so a
team can share one history. Callers write SQL once with `?` placeholders; `Store.execute`
rewrites them for the backend. DDL passed to `ensure_schema` may use `{pk}` for an auto-increment
integer primary key, the one column type the two dialects spell differently; use TEXT, INTEGER,
BIGINT and DOUBLE PRECISION elsewhere (SQLite accepts all of them).

Every storage problem (full disk, read-only path, unreachable server) is a `StoreError` with a
one-line message naming the store and the fix.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parents[1]
DEFAULT_DB = REPO_DIR / "results" / "xeonfleet.db"
ENV_VAR = "XEONFLEET_DB"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SQLITE_SCHEME = "sqlite://"
BUSY_TIMEOUT_S = 30.0  # parallel benchmark writers wait for each other instead of failing
BUSY_TIMEOUT_VAR = "XEONFLEET_DB_TIMEOUT"  # seconds to wait for another writer (default BUSY_TIMEOUT_S)

PRIMARY_KEY = {
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "postgresql": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
}

SCHEMA_LOCK_KEY = 0x78656F6E  # "xeon": PostgreSQL advisory lock held while a schema is created
SCHEMAS_DDL = """
CREATE TABLE IF NOT EXISTS xeonfleet_schemas (
    name TEXT PRIMARY KEY,
    ddl_sha256 TEXT NOT NULL
)
"""

Row = tuple[Any, ...]


class StoreError(RuntimeError):
    """The results store cannot be used; the message is one line: which store, what, and the fix."""


def default_location() -> str:
    """Where the store lives when no URL is given: $XEONFLEET_DB, else <repo>/results/xeonfleet.db."""
    return os.environ.get(ENV_VAR) or str(DEFAULT_DB)


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


def _to_pyformat(sql: str) -> str:
    """`?` placeholders -> `%s` (psycopg), leaving quoted text alone and doubling literal `%`."""
    out: list[str] = []
    quote: str | None = None
    for char in sql:
        if quote:
            out.append("%%" if char == "%" else char)
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


class Store:
    """One open database. `execute` returns the fetched rows (empty for statements without a result);
    write `INSERT ... RETURNING id` to get a new row's id on both backends."""

    def __init__(self, connection: Any, dialect: str, location: str) -> None:
        self._conn = connection
        self.dialect = dialect
        self.location = location
        self._lock = threading.RLock()  # one connection shared by threads: serialise its use
        self._depth = 0

    def _errors(self) -> tuple[type[BaseException], ...]:
        if self.dialect == "sqlite":
            return (sqlite3.Error,)
        import psycopg

        return (psycopg.Error,)

    def _fail(self, exc: BaseException) -> StoreError:
        if self.dialect == "sqlite":
            return StoreError(_sqlite_reason(exc, self.location))
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return StoreError(f"results store {self.location}: {first_line}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement with `?` placeholders; returns its rows as tuples."""
        if self.dialect == "postgresql":
            sql = _to_pyformat(sql)
        with self._lock:
            try:
                cursor = self._conn.execute(sql, tuple(params))
                rows = cursor.fetchall() if cursor.description else []
            except self._errors() as exc:
                raise self._fail(exc) from exc
        return [tuple(row) for row in rows]

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement per parameter row (bulk inserts), in one transaction."""
        if self.dialect == "postgresql":
            sql = _to_pyformat(sql)
        with self.transaction():
            try:
                if self.dialect == "sqlite":
                    self._conn.executemany(sql, [tuple(r) for r in rows])
                else:
                    with self._conn.cursor() as cursor:
                        cursor.executemany(sql, [tuple(r) for r in rows])
            except self._errors() as exc:
                raise self._fail(exc) from exc

    def executescript(self, script: str) -> None:
        """Run several `;`-separated statements without parameters (DDL); `{pk}` is expanded.
        Inside a SQLite transaction the script is split on `;`, so keep `;` out of string literals."""
        script = script.replace("{pk}", PRIMARY_KEY[self.dialect])
        with self._lock:
            try:
                if self.dialect == "sqlite":
                    # executescript COMMITs first; inside our transaction run statements one by one.
                    if self._depth:
                        for statement in filter(str.strip, script.split(";")):
                            self._conn.execute(statement)
                    else:
                        self._conn.executescript(script)
                else:
                    self._conn.execute(script)
            except self._errors() as exc:
                raise self._fail(exc) from exc

    def ensure_schema(self, name: str, ddl: str) -> None:
        """Create the tables of one component (`name`, e.g. "audit") unless this exact DDL already ran.

        DDL should be idempotent (`CREATE TABLE IF NOT EXISTS`): a changed DDL text is run again."""
        digest = hashlib.sha256(ddl.encode()).hexdigest()
        with self.transaction():
            if self.dialect == "postgresql":
                # Parallel first openers (one per host) would race in CREATE TABLE IF NOT EXISTS and
                # fail on pg_type's unique index; SQLite's BEGIN IMMEDIATE already serialises them.
                self.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK_KEY,))
            self.executescript(SCHEMAS_DDL)
            done = self.execute("SELECT ddl_sha256 FROM xeonfleet_schemas WHERE name = ?", (name,))
            if done and done[0][0] == digest:
                return
            self.executescript(ddl)
            if done:
                self.execute("UPDATE xeonfleet_schemas SET ddl_sha256 = ? WHERE name = ?", (digest, name))
            else:
                self.execute("INSERT INTO xeonfleet_schemas (name, ddl_sha256) VALUES (?, ?)", (name, digest))

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All statements inside commit together or not at all; nested blocks join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            if self.dialect == "sqlite":
                yield from self._sqlite_transaction()
            else:
                yield from self._postgres_transaction()

    def _sqlite_transaction(self) -> Iterator[Store]:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self._conn.execute("ROLLBACK")
            raise
        self._depth = 0
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._conn.execute("ROLLBACK")
            raise self._fail(exc) from exc

    def _postgres_transaction(self) -> Iterator[Store]:
        import psycopg

        self._depth = 1
        try:
            with self._conn.transaction():
                yield self
        except psycopg.Error as exc:
            raise self._fail(exc) from exc
        finally:
            self._depth = 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()

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


def _open_sqlite(location: str) -> Store:
    path = _sqlite_path(location)
    if path != ":memory:":
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if exc.errno == errno.ENOSPC or exc.errno == errno.EROFS:
                raise StoreError(_sqlite_reason(OSError(reason), path)) from exc
            raise StoreError(f"results store {path}: cannot create its directory ({reason}); "
                             f"set {ENV_VAR} to a writable path") from exc
    try:
        # isolation_level=None: autocommit outside `transaction()`, which issues BEGIN/COMMIT itself.
        conn = sqlite3.connect(path, timeout=busy_timeout(), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            _try_wal(conn)
    except sqlite3.Error as exc:
        raise StoreError(_sqlite_reason(exc, path)) from exc
    return Store(conn, "sqlite", path)


def _try_wal(conn: sqlite3.Connection) -> None:
    """WAL lets the report reader and a benchmark writer work at once; a read-only file keeps its mode."""
    try:
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc).lower() and "read-only" not in str(exc).lower():
            raise


def _open_postgres(url: str) -> Store:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            f"results store {_redact(url)}: PostgreSQL needs psycopg; `pip install 'psycopg[binary]'`"
        ) from None
    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        first_line = (str(exc).strip().splitlines() or ["connection failed"])[0]
        raise StoreError(f"results store {_redact(url)}: {first_line}") from exc
    return Store(conn, "postgresql", _redact(url))


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, _, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user, has_password, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if has_password else ''}@{host}"


def require_existing(url: str | None = None) -> None:
    """For read-only commands (reports): a SQLite store that does not exist yet is an error, never created."""
    location = url or default_location()
    if location.startswith(POSTGRES_SCHEMES) or _sqlite_path(location) == ":memory:":
        return
    if not Path(_sqlite_path(location)).is_file():
        raise StoreError(f"no results store at {_sqlite_path(location)}: run `xeonfleet audit INVENTORY` or "
                         f"`xeonfleet bench run INVENTORY` first, or point --db / ${ENV_VAR} at an existing store")


def open_store(url: str | None = None) -> Store:
    """Open the results store at `url` (a path, `sqlite:///path`, `:memory:` or `postgresql://...`);
    None means $XEONFLEET_DB or the repo default."""
    location = url or default_location()
    if location.startswith(POSTGRES_SCHEMES):
        return _open_postgres(location)
    return _open_sqlite(location)
