"""One run against history: regressions per host+job+metric and outliers among same-profile peers,
read from the results store, with the facts that changed since the baseline (the likely why)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from xeonfleet.bench import baseline as bl
from xeonfleet.bench.numbers import human
from xeonfleet.bench.jobs import JobSpec
from xeonfleet.store import Store


@dataclass(frozen=True)
class Thresholds:
    """Knobs of detection: history depth K, regression floor and z, outlier gap, and the good earlier
    runs a baseline needs before any verdict (`min_runs`)."""

    runs: int = 7
    min_pct: float = 10.0
    z: float = 3.0
    outlier_pct: float = 20.0
    min_runs: int = 3


@dataclass
class Deviation:
    """A measurement that left its band: a regression (worse than the host's own baseline) or an outlier
    (worse than its hardware peers' median)."""

    kind: str  # regression | outlier
    host: str
    job: str
    metric: str
    value: float
    reference: float
    change_pct: float
    threshold_pct: float
    facts_diff: dict[str, Any] = field(default_factory=dict)
    rule: str = ""

    def line(self) -> str:
        ref = "baseline" if self.kind == "regression" else "peer median"
        rule = f" = {self.rule}" if self.rule else ""
        text = (f"{self.kind.upper()} {self.host} {self.job}/{self.metric}: {human(self.value)} vs {ref} "
                f"{human(self.reference)} ({self.change_pct:+.1f} %, beyond the limit -{self.threshold_pct:.1f} %{rule})")
        if self.facts_diff:
            text += "; facts changed: " + ", ".join(f"{k}: {v[0]!r} -> {v[1]!r}" for k, v in self.facts_diff.items())
        return text


@dataclass
class RunAnalysis:
    run_id: str
    hosts: dict[str, str]  # host -> complete | incomplete
    results: list[tuple[str, str, str, str | None]]  # host, job, status, reason
    findings: list[Deviation]
    pending: list[tuple[str, str, str, int]] = field(default_factory=list)  # host, job, metric, baseline runs
    unavailable: list[tuple[str, str, str, str]] = field(default_factory=list)  # host, job, metric, reason
    limits: Thresholds = field(default_factory=Thresholds)

    @property
    def regressions(self) -> list[Deviation]:
        return [f for f in self.findings if f.kind == "regression"]

    @property
    def measured_nothing(self) -> list[str]:
        """Hosts that stored no ok job (every job skipped or failed, or none ran)."""
        return [h for h in self.hosts if not any(r[0] == h and r[2] == "ok" for r in self.results)]

    @property
    def incomplete(self) -> bool:
        """The run falls short: a host died mid-run or measured nothing."""
        return bool(self.measured_nothing) or any(s != "complete" for s in self.hosts.values())


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


def run_samples(store: Store, run_id: str) -> list[tuple[str, str, str, float, dict]]:
    return [(h, j, m, float(v), json.loads(meta or "{}")) for h, j, m, v, meta in store.execute(
        "SELECT host, job, metric, value, metadata_json FROM bench_samples WHERE run_id = :run_id "
        "ORDER BY host, job, metric", {"run_id": run_id})]


def history(store: Store, run_id: str, host: str, job: str, metric: str, runs: int) -> list[tuple[str, float]]:
    """(run_id, value) of the newest `runs` good earlier runs (job status ok) of one series."""
    rows = store.execute(
        "SELECT s.run_id, s.value FROM bench_samples s JOIN bench_results r "
        "ON r.run_id = s.run_id AND r.host = s.host AND r.job = s.job "
        "WHERE s.host = :host AND s.job = :job AND s.metric = :metric AND s.run_id <> :run_id AND r.status = 'ok' "
        "AND s.time < (SELECT MIN(time) FROM bench_samples WHERE run_id = :run_id) ORDER BY s.time DESC LIMIT :runs",
        {"host": host, "job": job, "metric": metric, "run_id": run_id, "runs": runs})
    return [(r, float(v)) for r, v in rows]


def _host_facts(store: Store, run_id: str) -> dict[str, tuple[str, dict]]:
    return {h: (p, json.loads(f)) for h, p, f in store.execute(
        "SELECT host, hw_profile, facts_json FROM bench_hosts WHERE run_id = :run_id", {"run_id": run_id})}


def analyze_run(store: Store, run_id: str, jobs: dict[str, JobSpec], limits: Thresholds = Thresholds()) -> RunAnalysis:
    """Every regression and outlier of `run_id`; a metric not declared in its job spec is informational."""
    hosts = dict(store.execute("SELECT host, status FROM bench_hosts WHERE run_id = :run_id ORDER BY host",
                               {"run_id": run_id}))
    if not hosts:
        raise ValueError(f"run {run_id!r} is not in the results store; list runs with `xeonfleet report`")
    results = [tuple(r) for r in store.execute(
        "SELECT host, job, status, reason FROM bench_results WHERE run_id = :run_id ORDER BY host, job",
        {"run_id": run_id})]
    facts = _host_facts(store, run_id)
    samples = run_samples(store, run_id)
    findings: list[Deviation] = []
    pending: list[tuple[str, str, str, int]] = []
    by_series: dict[tuple[str, str], dict[str, float]] = {}
    for host, job, metric, value, metadata in samples:
        spec = jobs.get(job)
        declared = spec.metric(metric) if spec else None
        if declared is None or declared.better == "none":
            continue
        by_series.setdefault((job, metric), {})[host] = value
        past = history(store, run_id, host, job, metric, limits.runs)
        verdict = bl.check_regression(value, [v for _, v in past], declared.better, limits.min_pct, limits.z,
                                      limits.min_runs, metadata.get("spread_pct"))
        if verdict and verdict.regression is None:
            pending.append((host, job, metric, verdict.baseline.runs))
        elif verdict and verdict.regression:
            old = _host_facts(store, past[0][0]).get(host, ("", {}))[1]
            findings.append(Deviation("regression", host, job, metric, value, verdict.baseline.median,
                                    verdict.change_pct, verdict.threshold_pct,
                                    facts_diff(old, facts.get(host, ("", {}))[1]), verdict.rule))
    profiles = {host: profile for host, (profile, _) in facts.items()}
    for (job, metric), values in by_series.items():
        better = jobs[job].metric(metric).better
        for host, (change, reference) in bl.outliers(values, profiles, better, limits.outlier_pct).items():
            findings.append(Deviation("outlier", host, job, metric, values[host], reference, change, limits.outlier_pct,
                                    rule="--outlier-pct below the median of same-profile peers"))
    unavailable = [tuple(r) for r in store.execute(
        "SELECT host, job, metric, reason FROM bench_unavailable WHERE run_id = :run_id ORDER BY host, job, metric",
        {"run_id": run_id})]
    return RunAnalysis(run_id, hosts, results, findings, pending, unavailable, limits)
