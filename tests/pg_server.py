"""A throwaway PostgreSQL server for tests (the store's own tests and the audit agent's lab test).

initdb as the `postgres` user into a temp dir, pg_ctl on a free loopback port with its socket in that
dir, stopped at teardown, so a test never touches a server the machine may already run. Needs root (to
run initdb as `postgres`), Debian's `postgresql` package and `psycopg[binary]`; a module that uses it
skips without them outside CI (`unavailable_reason`), and in CI a missing piece fails the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ROOT = Path("/usr/lib/postgresql")


def _pg_bin() -> Path | None:
    """The newest installed server's bin dir (Debian keeps initdb/pg_ctl out of PATH)."""
    found = sorted(PG_ROOT.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def unavailable_reason() -> str | None:
    """Why no throwaway server can run here, or None."""
    if os.geteuid() != 0:
        return "needs root to run initdb as the postgres user"
    if _pg_bin() is None:
        return f"no PostgreSQL server under {PG_ROOT}: apt-get install postgresql"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg missing: pip install 'psycopg[binary]'"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(*command: str) -> subprocess.CompletedProcess:
    result = subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True,
                            timeout=120, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr or result.stdout}")
    return result


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A private cluster on a free loopback port; yields the URL of its `postgres` database."""
    reason = unavailable_reason()
    if reason:
        pytest.fail(f"CI is set but {reason}")
    pg_bin = _pg_bin()
    # Not under pytest's tmp dir: that is root-only (0700), and the server runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="xeonfleet-pg-"))
    shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", free_port()
    _as_postgres(str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                 "--no-sync")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    _as_postgres(str(pg_bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(base, ignore_errors=True)
