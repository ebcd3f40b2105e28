"""One run against history: regressions per host+job+metric and outliers among same-profile peers,
read from the results store, with the facts that changed since the baseline (the likely why)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from xeonfleet.bench import baseline as bl
from xeonfleet.bench.jobs import JobSpec
from xeonfleet.store import Store


@dataclass(frozen=True)
class Thresholds:
    """Knobs of detection: history depth K, regression floor and z, outlier gap."""

    runs: int = 7
    min_pct: float = 10.0
    z: float = 3.0
    outlier_pct: float = 20.0


@dataclass
class Finding:
    kind: str  # regression | outlier
    host: str
    job: str
    metric: str
    value: float
    reference: float
    change_pct: float
    threshold_pct: float
    facts_diff: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        ref = "baseline" if self.kind == "regression" else "peer median"
        text = (f"{self.kind.upper()} {self.host} {self.job}/{self.metric}: {self.value:.4g} vs {ref} "
                f"{self.reference:.4g} ({self.change_pct:+.1f} %, limit -{self.threshold_pct:.1f} %)")
        if self.facts_diff:
            text += "; facts changed: " + ", ".join(f"{k}: {v[0]!r} -> {v[1]!r}" for k, v in self.facts_diff.items())
        return text


@dataclass
class RunAnalysis:
    run_id: str
    hosts: dict[str, str]  # host -> complete | incomplete
    results: list[tuple[str, str, str, str | None]]  # host, job, status, reason
    findings: list[Finding]

    @property
    def regressions(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "regression"]


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def facts_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Dotted fact keys whose value differs between two facts subsets."""
    a, b = _flatten(old), _flatten(new)
    return {key: (a.get(key), b.get(key)) for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)}


def run_samples(store: Store, run_id: str) -> list[tuple[str, str, str, float]]:
    return [(h, j, m, float(v)) for h, j, m, v in store.execute(
        "SELECT host, job, metric, value FROM bench_samples WHERE run_id = ? ORDER BY host, job, metric", (run_id,))]


def history(store: Store, run_id: str, host: str, job: str, metric: str, runs: int) -> list[tuple[str, float]]:
    """(run_id, value) of the newest `runs` good earlier runs (job status ok) of one series."""
    rows = store.execute(
        "SELECT s.run_id, s.value FROM bench_samples s JOIN bench_results r "
        "ON r.run_id = s.run_id AND r.host = s.host AND r.job = s.job "
        "WHERE s.host = ? AND s.job = ? AND s.metric = ? AND s.run_id <> ? AND r.status = 'ok' "
        "AND s.time < (SELECT MIN(time) FROM bench_samples WHERE run_id = ?) ORDER BY s.time DESC LIMIT ?",
        (host, job, metric, run_id, run_id, runs))
    return [(r, float(v)) for r, v in rows]


def _host_facts(store: Store, run_id: str) -> dict[str, tuple[str, dict]]:
    return {h: (p, json.loads(f)) for h, p, f in store.execute(
        "SELECT host, hw_profile, facts_json FROM bench_hosts WHERE run_id = ?", (run_id,))}


def analyze_run(store: Store, run_id: str, jobs: dict[str, JobSpec], limits: Thresholds = Thresholds()) -> RunAnalysis:
    """Every regression and outlier of `run_id`; a metric not declared in its job spec is informational."""
    hosts = dict(store.execute("SELECT host, status FROM bench_hosts WHERE run_id = ? ORDER BY host", (run_id,)))
    if not hosts:
        raise ValueError(f"run {run_id!r} is not in the results store; list runs with `xeonfleet report`")
    results = [tuple(r) for r in store.execute(
        "SELECT host, job, status, reason FROM bench_results WHERE run_id = ? ORDER BY host, job", (run_id,))]
    facts = _host_facts(store, run_id)
    samples = run_samples(store, run_id)
    findings: list[Finding] = []
    by_series: dict[tuple[str, str], dict[str, float]] = {}
    for host, job, metric, value in samples:
        spec = jobs.get(job)
        declared = spec.metric(metric) if spec else None
        if declared is None or declared.better == "none":
            continue
        by_series.setdefault((job, metric), {})[host] = value
        past = history(store, run_id, host, job, metric, limits.runs)
        verdict = bl.check_regression(value, [v for _, v in past], declared.better, limits.min_pct, limits.z)
        if verdict and verdict.regression:
            old = _host_facts(store, past[0][0]).get(host, ("", {}))[1]
            findings.append(Finding("regression", host, job, metric, value, verdict.baseline.median,
                                    verdict.change_pct, verdict.threshold_pct,
                                    facts_diff(old, facts.get(host, ("", {}))[1])))
    profiles = {host: profile for host, (profile, _) in facts.items()}
    for (job, metric), values in by_series.items():
        better = jobs[job].metric(metric).better
        for host, (change, reference) in bl.outliers(values, profiles, better, limits.outlier_pct).items():
            findings.append(Finding("outlier", host, job, metric, values[host], reference, change, limits.outlier_pct))
    return RunAnalysis(run_id, hosts, results, findings)
