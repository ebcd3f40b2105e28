"""Store behaviour checked the same way on SQLite (tests/unit) and PostgreSQL (tests/integration)."""

import json
from pathlib import Path

import pytest

from xeonfleet.bench import ingest
from xeonfleet.drift import drift_since_last, save_audit
from xeonfleet.findings import FAIL, Finding
from xeonfleet.reports.model import AuditReport, NodeSummary
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
