"""Store behaviour checked the same way on SQLite (tests/unit) and PostgreSQL (tests/integration)."""

import json
from pathlib import Path

import pytest

from xeonfleet.bench import ingest
from xeonfleet.bench.analyze import RunAnalysis, Thresholds, analyze_run
from xeonfleet.bench.jobs import load_jobs
from xeonfleet.audit.drift import drift_since_last, save_audit
from xeonfleet.audit.findings import FAIL, PASS, Finding
from xeonfleet.audit.report import AuditReport, NodeSummary
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
