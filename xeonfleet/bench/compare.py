"""`xeonfleet bench compare RUN_A RUN_B`: every shared host+job+metric, B against A."""

from __future__ import annotations

from dataclasses import dataclass

from xeonfleet.bench.baseline import change_pct
from xeonfleet.bench.jobs import JobSpec
from xeonfleet.bench.numbers import human
from xeonfleet.store import Store


@dataclass(frozen=True)
class Delta:
    host: str
    job: str
    metric: str
    a: float
    b: float
    change_pct: float  # negative is worse, whatever the metric's direction
    worse: bool

    def line(self) -> str:
        mark = "WORSE" if self.worse else "ok"
        return f"{mark:5} {self.host} {self.job}/{self.metric}: {human(self.a)} -> {human(self.b)} ({self.change_pct:+.1f} %)"


def _values(store: Store, run_id: str) -> dict[tuple[str, str, str], float]:
    rows = store.execute("SELECT host, job, metric, value FROM bench_samples WHERE run_id = :run_id",
                         {"run_id": run_id})
    if not rows:
        raise ValueError(f"run {run_id!r} has no samples in the results store; list runs with `xeonfleet report`")
    return {(h, j, m): float(v) for h, j, m, v in rows}


def compare_runs(store: Store, run_a: str, run_b: str, jobs: dict[str, JobSpec], min_pct: float = 10.0) -> list[Delta]:
    """Deltas of the declared metrics both runs have; `worse` when B is more than min_pct worse."""
    a, b = _values(store, run_a), _values(store, run_b)
    deltas = []
    for key in sorted(set(a) & set(b)):
        host, job, metric = key
        declared = jobs[job].metric(metric) if job in jobs else None
        if declared is None:
            continue
        change = change_pct(b[key], a[key], declared.better) if declared.better != "none" else 0.0
        deltas.append(Delta(host, job, metric, a[key], b[key], change, declared.better != "none" and change < -min_pct))
    return deltas
