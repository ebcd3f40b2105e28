"""The schema of the stores xeonfleet made before versioned migrations: audit and benchmark tables.

Revision ID: 0001

Those stores have no alembic_version table, and each component created its own tables on first use
(an audit-only store has no bench_* tables), so every table here is created only where it is missing:
upgrading such a store keeps its tables and rows as they are and adds the ones it lacks.
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

TEXT = sa.Text()
DOUBLE = sa.DOUBLE_PRECISION()
# INTEGER PRIMARY KEY AUTOINCREMENT on SQLite (ids never reused), an identity BIGINT on PostgreSQL.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column:
    return sa.Column("id", ID, sa.Identity(always=True), primary_key=True)


def _text(*names: str, nullable: bool = False) -> list[sa.Column]:
    return [sa.Column(name, TEXT, nullable=nullable) for name in names]


def _run_id_of_audit() -> sa.Column:
    return sa.Column("run_id", sa.BigInteger(), sa.ForeignKey("audit_runs.id", ondelete="CASCADE"), nullable=False)


def audit_runs() -> None:
    op.create_table(
        "audit_runs", _id(), *_text("started_at", "inventory"),
        sa.Column("duration_s", DOUBLE, nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in ("nodes", "failing_nodes", "unreachable")),
        sqlite_autoincrement=True)


def audit_nodes() -> None:
    op.create_table(
        "audit_nodes", _run_id_of_audit(), *_text("host", "profile", "cpu"),
        sa.Column("reachable", sa.Integer(), nullable=False), *_text("error"),
        sa.PrimaryKeyConstraint("run_id", "host"))
    op.create_index("audit_nodes_host", "audit_nodes", ["host", "reachable", "run_id"])


def audit_findings() -> None:
    op.create_table(
        "audit_findings", _run_id_of_audit(),
        *_text("host", "rule", "category", "severity", "title", "status", "evidence", "expected", "remedy"),
        sa.PrimaryKeyConstraint("run_id", "host", "rule"))


def bench_runs() -> None:
    op.create_table(
        "bench_runs", sa.Column("run_id", TEXT, primary_key=True), sa.Column("started", DOUBLE, nullable=False),
        sa.Column("finished", DOUBLE), *_text("selection", "jobs"))


def bench_hosts() -> None:
    op.create_table(
        "bench_hosts", *_text("run_id", "host", "status", "hw_profile", "facts_fingerprint", "facts_json"),
        sa.Column("started", DOUBLE, nullable=False), sa.Column("finished", DOUBLE),
        sa.PrimaryKeyConstraint("run_id", "host"))


def bench_results() -> None:
    op.create_table(
        "bench_results", *_text("run_id", "host", "job", "status"), sa.Column("reason", TEXT),
        *_text("versions_json"), sa.Column("started", DOUBLE), sa.Column("finished", DOUBLE),
        sa.PrimaryKeyConstraint("run_id", "host", "job"))


def bench_samples() -> None:
    op.create_table(
        "bench_samples", _id(), *_text("run_id", "host", "job", "metric"),
        sa.Column("value", DOUBLE, nullable=False), *_text("unit"), sa.Column("time", DOUBLE, nullable=False),
        *_text("facts_fingerprint", "versions_json", "metadata_json"),
        sqlite_autoincrement=True)
    op.create_index("bench_samples_series", "bench_samples", ["host", "job", "metric", "time"])


def bench_unavailable() -> None:
    op.create_table(
        "bench_unavailable", *_text("run_id", "host", "job", "metric", "reason"),
        sa.PrimaryKeyConstraint("run_id", "host", "job", "metric"))


# In creation order: a referenced table before the tables that reference it.
TABLES: dict[str, Callable[[], None]] = {create.__name__: create for create in (
    audit_runs, audit_nodes, audit_findings, bench_runs, bench_hosts, bench_results, bench_samples,
    bench_unavailable)}


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, create in TABLES.items():
        if name not in existing:
            create()
