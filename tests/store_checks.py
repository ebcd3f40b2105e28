"""Store behaviour checked the same way on SQLite (tests/unit) and PostgreSQL (tests/integration)."""

import pytest

from xeonfleet.store import Store

DDL = "CREATE TABLE IF NOT EXISTS runs (id {pk}, name TEXT NOT NULL, value DOUBLE PRECISION)"


def check_transactions_roll_back_as_a_whole_and_nest(store: Store) -> None:
    store.ensure_schema("runs", DDL)
    with pytest.raises(KeyError):
        with store.transaction():
            store.execute("INSERT INTO runs (name) VALUES (?)", ("lost",))
            with store.transaction():
                store.execute("INSERT INTO runs (name) VALUES (?)", ("lost too",))
            raise KeyError("boom")
    assert store.execute("SELECT count(*) FROM runs") == [(0,)]
    with store.transaction():
        store.executemany("INSERT INTO runs (name) VALUES (?)", [("a",), ("b",)])
    assert store.execute("SELECT count(*) FROM runs") == [(2,)]
