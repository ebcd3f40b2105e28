"""Store behaviour checked the same way on SQLite (tests/unit) and PostgreSQL (tests/integration)."""

import hashlib
import json
from pathlib import Path

import pytest

from xeonfleet.bench import ingest
from xeonfleet.bench.analyze import RunAnalysis, Thresholds, analyze_run
from xeonfleet.bench.jobs import load_jobs
from xeonfleet.audit.drift import drift_since_last, save_audit
from xeonfleet.audit.findings import Finding
from xeonfleet.knobs.status import FAIL, PASS
from xeonfleet.audit.report import AuditReport, NodeSummary
from xeonfleet.store import Store

INSERT_RUN = ("INSERT INTO audit_runs (started_at, inventory, duration_s, nodes, failing_nodes, unreachable) "
              "VALUES (:started_at, :inventory, :duration_s, 1, 0, 0) RETURNING id")


def insert_run(store: Store, inventory: str, duration_s: float = 1.0) -> int:
    """One bare audit run (no nodes): a row any test can write and count."""
    return store.execute(INSERT_RUN, {"started_at": "2026-11-02T10:00:00+00:00", "inventory": inventory,
                                      "duration_s": duration_s})[0][0]


def check_transactions_roll_back_as_a_whole_and_nest(store: Store) -> None:
    with pytest.raises(KeyError):
        with store.transaction():
            insert_run(store, "lost")
            with store.transaction():
                insert_run(store, "lost too")
            raise KeyError("boom")
    assert store.execute("SELECT count(*) FROM audit_runs") == [(0,)]
    with store.transaction():
        store.executemany("INSERT INTO bench_runs (run_id, started, selection, jobs) VALUES (:run_id, 0, 'light', '')",
                          [{"run_id": "a"}, {"run_id": "b"}])
    assert store.execute("SELECT count(*) FROM bench_runs") == [(2,)]


def bench_facts(governor: str = "performance") -> dict:
    """The few NodeFacts a benchmark fingerprint and facts diff look at."""
    return {"cpu": {"model_name": "Xeon 8380", "sockets": 2, "physical_cores": 80},
            "power": {"governor": governor}}


def store_bench_run(store: Store, tmp_path: Path, run_id: str, gflops: dict[str, float],
                    slow_governor: str | None = None, incomplete: tuple[str, ...] = ()) -> None:
    """Ingest one gemm-fp32 run: one result file per host, n4 on `slow_governor` when given, the hosts in
    `incomplete` left without their completion mark."""
    ingest.start_run(store, run_id, "gemm-fp32", ["gemm-fp32"])
    for host, value in gflops.items():
        ingest.start_host(store, run_id, host, bench_facts(slow_governor if slow_governor and host == "n4"
                                                           else "performance"))
        path = tmp_path / f"{run_id}-{host}.json"
        path.write_text(json.dumps({"status": "ok", "versions": {"numpy": "2.1"}, "samples": [
            {"metric": "gflops", "value": value, "unit": "GFLOP/s", "metadata": {"n": 1024}},
            {"metric": "pct_of_peak", "value": value / 100, "unit": "%", "metadata": {}}]}))
        ingest.ingest_result(store, run_id, host, "gemm-fp32", path)
        if host not in incomplete:
            ingest.complete_host(store, run_id, host)
    ingest.finish_run(store, run_id)


BENCH_HOSTS = ("n1", "n2", "n3", "n4")


def check_slowed_host_is_a_regression_and_an_outlier(store: Store, tmp_path: Path,
                                                     incomplete: tuple[str, ...] = ()) -> RunAnalysis:
    """Three good runs r1-r3 (r2, r3 with `incomplete` hosts), then r4 with n4 at half speed on another
    governor: n4, and only n4, is a regression and an outlier, with the governor change as its facts diff."""
    for index, run_id in enumerate(("r1", "r2", "r3")):
        store_bench_run(store, tmp_path, run_id, {h: 100.0 + index for h in BENCH_HOSTS},
                        incomplete=incomplete if index else ())
    store_bench_run(store, tmp_path, "r4", {"n1": 101.0, "n2": 99.0, "n3": 102.0, "n4": 50.0}, slow_governor="powersave")
    analysis = analyze_run(store, "r4", load_jobs(), Thresholds(min_pct=10.0, outlier_pct=20.0))
    kinds = {(f.kind, f.host, f.metric) for f in analysis.findings}
    assert kinds == {("regression", "n4", "gflops"), ("regression", "n4", "pct_of_peak"),
                     ("outlier", "n4", "gflops"), ("outlier", "n4", "pct_of_peak")}
    regression = next(f for f in analysis.regressions if f.metric == "gflops")
    assert regression.reference == 101.0 and regression.facts_diff == {"power.governor": ("performance", "powersave")}
    return analysis


def finding(host: str, rule: str, status: str, evidence: str) -> Finding:
    return Finding(host, rule, rule.split(".")[0], "high", rule, status, evidence, "performance",
                   "fix it" if status == FAIL else "")


def audit_report(findings: list[Finding], unreachable: dict[str, str] | None = None) -> AuditReport:
    hosts = sorted({f.host for f in findings})
    return AuditReport("inv.py", "2026-11-02T10:00:00+00:00", 1.0,
                       [NodeSummary(h, "xeon-ai-base", "Xeon") for h in hosts], findings, unreachable or {})


def store_audit(store: Store, findings: list[Finding], unreachable: dict[str, str] | None = None) -> AuditReport:
    """Save an audit as `xeonfleet audit` does and attach its drift against the history."""
    result = audit_report(findings, unreachable)
    result.run_id = save_audit(store, result)
    result.drift = drift_since_last(store, result, result.run_id)
    return result


def check_drift_compares_with_the_last_run_a_node_answered(store: Store) -> None:
    """Node a answers, is unreachable, then answers with its governor changed: its drift is measured
    against the first run (the last one it answered), b has no changes."""
    seen = store_audit(store, [finding("a", "power.governor", PASS, "performance"),
                               finding("b", "power.governor", PASS, "performance")])
    store_audit(store, [finding("b", "power.governor", PASS, "performance")], {"a": "unreachable: refused"})
    back = store_audit(store, [finding("a", "power.governor", FAIL, "powersave"),
                               finding("b", "power.governor", PASS, "performance")])
    drift = {d.host: d for d in back.drift}
    assert drift["a"].previous_run == seen.run_id
    (change,) = drift["a"].changes
    assert (change.rule, change.old_status, change.new_status, change.old_evidence, change.new_evidence) == (
        "power.governor", PASS, FAIL, "performance", "powersave")
    assert drift["b"].changes == []


# The newest revision in xeonfleet/migrations/versions/ (a new migration updates it here).
NEWEST_REVISION = "0002"

# Version 1: the schema xeonfleet's stores had before Alembic, copied verbatim from the code of then
# (xeonfleet/store.py SCHEMAS_DDL and PRIMARY_KEY, xeonfleet/drift.py AUDIT_DDL, xeonfleet/bench/ingest.py
# SCHEMA): each component ran its DDL on first use and recorded the DDL's SHA-256 in xeonfleet_schemas.
VERSION_1_PRIMARY_KEY = {
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "postgresql": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
}
VERSION_1_SCHEMAS_DDL = """
CREATE TABLE IF NOT EXISTS xeonfleet_schemas (
    name TEXT PRIMARY KEY,
    ddl_sha256 TEXT NOT NULL
)
"""
VERSION_1_DDL = {"audit": """
CREATE TABLE IF NOT EXISTS audit_runs (
    id {pk},
    started_at TEXT NOT NULL,
    inventory TEXT NOT NULL,
    duration_s DOUBLE PRECISION NOT NULL,
    nodes INTEGER NOT NULL,
    failing_nodes INTEGER NOT NULL,
    unreachable INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_nodes (
    run_id BIGINT NOT NULL REFERENCES audit_runs (id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    profile TEXT NOT NULL,
    cpu TEXT NOT NULL,
    reachable INTEGER NOT NULL,
    error TEXT NOT NULL,
    PRIMARY KEY (run_id, host)
);
CREATE TABLE IF NOT EXISTS audit_findings (
    run_id BIGINT NOT NULL REFERENCES audit_runs (id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    rule TEXT NOT NULL,
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    evidence TEXT NOT NULL,
    expected TEXT NOT NULL,
    remedy TEXT NOT NULL,
    PRIMARY KEY (run_id, host, rule)
);
CREATE INDEX IF NOT EXISTS audit_nodes_host ON audit_nodes (host, reachable, run_id)
""", "bench": """
CREATE TABLE IF NOT EXISTS bench_runs (
    run_id TEXT PRIMARY KEY, started DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION,
    selection TEXT NOT NULL, jobs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_hosts (
    run_id TEXT NOT NULL, host TEXT NOT NULL, status TEXT NOT NULL, hw_profile TEXT NOT NULL,
    facts_fingerprint TEXT NOT NULL, facts_json TEXT NOT NULL,
    started DOUBLE PRECISION NOT NULL, finished DOUBLE PRECISION,
    PRIMARY KEY (run_id, host)
);
CREATE TABLE IF NOT EXISTS bench_results (
    run_id TEXT NOT NULL, host TEXT NOT NULL, job TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
    versions_json TEXT NOT NULL, started DOUBLE PRECISION, finished DOUBLE PRECISION,
    PRIMARY KEY (run_id, host, job)
);
CREATE TABLE IF NOT EXISTS bench_samples (
    id {pk}, run_id TEXT NOT NULL, host TEXT NOT NULL, job TEXT NOT NULL, metric TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL, unit TEXT NOT NULL, time DOUBLE PRECISION NOT NULL,
    facts_fingerprint TEXT NOT NULL, versions_json TEXT NOT NULL, metadata_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_unavailable (
    run_id TEXT NOT NULL, host TEXT NOT NULL, job TEXT NOT NULL, metric TEXT NOT NULL, reason TEXT NOT NULL,
    PRIMARY KEY (run_id, host, job, metric)
);
CREATE INDEX IF NOT EXISTS bench_samples_series ON bench_samples (host, job, metric, time)
"""}
# Rows a version-1 store held: two audits of node a (its governor went from performance to powersave)
# and one benchmark run. Plain SQL literals, valid on both backends.
VERSION_1_ROWS = {"audit": [
    "INSERT INTO audit_runs (started_at, inventory, duration_s, nodes, failing_nodes, unreachable) "
    "VALUES ('2026-11-01T10:00:00+00:00', 'inventories/prod.py', 2.5, 1, 0, 0)",
    "INSERT INTO audit_runs (started_at, inventory, duration_s, nodes, failing_nodes, unreachable) "
    "VALUES ('2026-11-02T10:00:00+00:00', 'inventories/prod.py', 2.25, 1, 1, 0)",
    "INSERT INTO audit_nodes VALUES (1, 'a', 'xeon-ai-base', 'Xeon 8380', 1, '')",
    "INSERT INTO audit_nodes VALUES (2, 'a', 'xeon-ai-base', 'Xeon 8380', 1, '')",
    "INSERT INTO audit_findings VALUES (1, 'a', 'power.governor', 'power', 'high', 'power.governor', 'pass', "
    "'performance', 'performance', '')",
    "INSERT INTO audit_findings VALUES (2, 'a', 'power.governor', 'power', 'high', 'power.governor', 'fail', "
    "'powersave', 'performance', 'fix it')",
], "bench": [
    "INSERT INTO bench_runs VALUES ('r1', 1000.0, 1100.0, 'gemm-fp32', 'gemm-fp32')",
    "INSERT INTO bench_hosts VALUES ('r1', 'a', 'complete', 'Xeon 8380 x2 (80 cores)', 'f00d', '{}', 1000.0, 1100.0)",
    "INSERT INTO bench_results VALUES ('r1', 'a', 'gemm-fp32', 'ok', NULL, '{}', 1000.0, 1100.0)",
    "INSERT INTO bench_samples (run_id, host, job, metric, value, unit, time, facts_fingerprint, versions_json, "
    "metadata_json) VALUES ('r1', 'a', 'gemm-fp32', 'gflops', 100.5, 'GFLOP/s', 1100.0, 'f00d', '{}', '{}')",
    "INSERT INTO bench_unavailable VALUES ('r1', 'a', 'gemm-fp32', 'pct_of_peak', 'no peak: unknown ISA')",
]}


def version_1_statements(dialect: str, components: tuple[str, ...] = ("audit", "bench")) -> list[str]:
    """What the version-1 code ran to create `components` in a fresh store (their DDL, its hash, then
    their rows), one statement per item: the fixture of a store made before versioned migrations."""
    statements = [VERSION_1_SCHEMAS_DDL]
    for name in components:
        ddl = VERSION_1_DDL[name]
        statements += [s.replace("{pk}", VERSION_1_PRIMARY_KEY[dialect]) for s in ddl.split(";")]
        statements.append(f"INSERT INTO xeonfleet_schemas (name, ddl_sha256) VALUES "
                          f"('{name}', '{hashlib.sha256(ddl.encode()).hexdigest()}')")
        statements += VERSION_1_ROWS[name]
    return statements


def check_version_1_store_upgraded(store: Store) -> None:
    """A version-1 store with both components, opened by a writer: its rows are all there, it is at the
    newest revision without the DDL hashes, new ids follow the old ones, and drift reads the old runs."""
    assert store.execute("SELECT version_num FROM alembic_version") == [(NEWEST_REVISION,)]
    assert store.execute("SELECT id, duration_s, failing_nodes FROM audit_runs ORDER BY id") == [(1, 2.5, 0), (2, 2.25, 1)]
    assert store.execute("SELECT run_id, status, evidence FROM audit_findings ORDER BY run_id") == [
        (1, "pass", "performance"), (2, "fail", "powersave")]
    assert store.execute("SELECT host, status FROM bench_hosts") == [("a", "complete")]
    assert store.execute("SELECT id, metric, value FROM bench_samples") == [(1, "gflops", 100.5)]
    assert store.execute("SELECT reason FROM bench_unavailable") == [("no peak: unknown ISA",)]
    assert "xeonfleet_schemas" not in table_names(store)
    back = store_audit(store, [finding("a", "power.governor", PASS, "performance")])
    assert back.run_id == 3
    (drift,) = back.drift
    assert drift.previous_run == 2 and [(c.old_status, c.new_status) for c in drift.changes] == [(FAIL, PASS)]


def table_names(store: Store) -> set[str]:
    if store.dialect == "sqlite":
        return {name for (name,) in store.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {name for (name,) in store.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
