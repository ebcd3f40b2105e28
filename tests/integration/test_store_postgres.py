"""The results store on a real PostgreSQL server: the store API, the upgrade of a store made before
versioned migrations, the benchmark ingestion + baseline + regression path, and the audit drift
history, all through a `postgresql://` URL.

The test starts a throwaway cluster of its own (tests/pg_server.py: initdb as the `postgres` user into a temp dir,
pg_ctl on a free loopback port with its socket in that dir) and stops it at teardown, so it never
touches a server the machine may already run. Needs root (to run initdb as `postgres`), Debian's
`postgresql` package and `psycopg[binary]`; without root and outside CI it is skipped, in CI a
missing piece fails the run."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

try:
    import psycopg
except ImportError:  # skipped below, or a failure in CI
    psycopg = None

from xeonfleet.bench import ingest
from xeonfleet.bench.compare import compare_runs
from xeonfleet.bench.jobs import load_jobs
from xeonfleet.store import StoreError, open_store
from tests.pg_server import free_port, server, unavailable_reason  # noqa: F401  (server: the fixture)
from tests.store_checks import (
    NEWEST_REVISION,
    bench_facts,
    check_drift_compares_with_the_last_run_a_node_answered,
    check_slowed_host_is_a_regression_and_an_outlier,
    check_transactions_roll_back_as_a_whole_and_nest,
    check_version_1_store_upgraded,
    insert_run,
    store_bench_run,
    version_1_statements,
)

if unavailable_reason() and not os.environ.get("CI"):
    pytestmark = pytest.mark.skip(reason=f"PostgreSQL store test: {unavailable_reason()}")


@pytest.fixture
def url(server: str, request: pytest.FixtureRequest) -> str:
    """A fresh database per test, so tests never see each other's rows."""
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "")[:50]
    # CREATE DATABASE cannot run in a transaction, and every Store statement runs in one: psycopg's own
    # autocommit connection does it.
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + "/" + name


def test_roundtrip_named_parameters_returning_and_literal_percent(url: str) -> None:
    with open_store(url) as store:
        assert store.dialect == "postgresql"
        assert store.execute("SELECT version_num FROM alembic_version") == [(NEWEST_REVISION,)]
        first = insert_run(store, "50%", 1.5)
        second = insert_run(store, "b?", 2.0)
        assert first < second
        assert store.execute("SELECT inventory, duration_s FROM audit_runs WHERE inventory LIKE '%?' "
                             "OR duration_s < :most ORDER BY id", {"most": 2.0}) == [("50%", 1.5), ("b?", 2.0)]
    with open_store(url) as reopened:  # at the newest revision: opening again changes nothing
        assert reopened.execute("SELECT count(*) FROM audit_runs") == [(2,)]


def test_a_version_1_store_is_upgraded_by_a_writer_and_refused_by_a_reader(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as legacy:
        for statement in version_1_statements("postgresql"):
            if statement.strip():
                legacy.execute(statement)
    with pytest.raises(StoreError, match=r"^results store postgresql://.* has schema revision from before "
                                         r"versioned migrations, .*run `xeonfleet audit INVENTORY`"):
        open_store(url, read_only=True)
    with open_store(url) as store:
        check_version_1_store_upgraded(store)


def test_transaction_rolls_back_as_a_whole_and_nests(url: str) -> None:
    with open_store(url) as store:
        check_transactions_roll_back_as_a_whole_and_nest(store)


def test_sql_error_is_a_one_line_store_error_and_the_connection_survives(url: str) -> None:
    with open_store(url) as store:
        with pytest.raises(StoreError, match=r"^results store postgresql://.*: relation \"nope\" does not exist$"):
            store.execute("SELECT * FROM nope")
        with pytest.raises(StoreError, match="null value"):
            with store.transaction():
                store.execute("INSERT INTO audit_runs (inventory) VALUES (NULL)")
        assert store.execute("SELECT count(*) FROM audit_runs") == [(0,)]


def test_unreachable_server_and_password_are_one_line_and_redacted(server: str) -> None:
    port = free_port()
    with pytest.raises(StoreError) as error:
        open_store(f"postgresql://bob:secret@127.0.0.1:{port}/x?connect_timeout=5")
    message = str(error.value)
    assert "\n" not in message and "secret" not in message and "bob:***@127.0.0.1" in message


def test_bench_ingest_baseline_regression_outlier_and_compare(url: str, tmp_path: Path) -> None:
    with open_store(url) as store:
        check_slowed_host_is_a_regression_and_an_outlier(store, tmp_path, incomplete=("n2",))
        statuses = dict(store.execute("SELECT host, status FROM bench_hosts WHERE run_id = 'r2'"))
        assert statuses == {"n1": "complete", "n2": "incomplete", "n3": "complete", "n4": "complete"}
        worse = {(d.host, d.metric) for d in compare_runs(store, "r3", "r4", load_jobs()) if d.worse}
        assert worse == {("n4", "gflops"), ("n4", "pct_of_peak")}
        # Re-ingesting a job replaces its rows instead of doubling them.
        store_bench_run(store, tmp_path, "r4", {"n1": 101.0, "n2": 99.0, "n3": 102.0, "n4": 50.0})
        assert store.execute("SELECT count(*) FROM bench_samples WHERE run_id = 'r4'") == [(8,)]
    with open_store(url, read_only=True) as reopened:  # a report reads the same rows
        assert reopened.execute("SELECT count(DISTINCT run_id) FROM bench_samples") == [(4,)]


def test_audit_history_and_drift(url: str) -> None:
    with open_store(url) as store:
        check_drift_compares_with_the_last_run_a_node_answered(store)
        assert store.execute("SELECT count(*) FROM audit_runs") == [(3,)]


def test_parallel_first_openers_create_the_schema_once(url: str) -> None:
    """Every host's deploy opens the store on its own connection; on a fresh database they all find it
    without tables at once, and exactly one of them runs the migrations (the advisory lock)."""
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_and_register(host: str) -> None:
        try:
            barrier.wait()
            with open_store(url) as store:
                ingest.start_run(store, "r1", "light", ["gemm-fp32"])
                ingest.start_host(store, "r1", host, bench_facts())
        except BaseException as exc:  # collected and asserted in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=open_and_register, args=(f"n{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with open_store(url) as store:
        assert store.execute("SELECT count(*) FROM bench_hosts") == [(6,)]
        assert store.execute("SELECT count(*) FROM bench_runs") == [(1,)]
