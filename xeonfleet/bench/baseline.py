"""Regressions and outliers, pure functions over numbers (the store queries live in analyze.py).

Baseline: the median of the last K good runs of one host+job+metric; no verdict at all until it has
`min_runs` of them (one noisy night is no baseline). Its noise is their MAD (median absolute deviation,
robust to the odd bad night), scaled by 1.4826 to a standard deviation. A value is a regression when it
is worse than the baseline by more than max(min_pct, z x baseline sigma, z x the job's own run-to-run
spread): noisy metrics need a bigger drop before anyone is paged, steady ones get caught early. The
verdict says which of the three set the limit.
Outlier: a host more than `pct` below the median of its peers (same hardware profile) in one run."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Baseline:
    median: float
    mad: float
    runs: int

    def noise_pct(self) -> float:
        """The baseline's robust sigma in % of its median."""
        return 100.0 * MAD_TO_SIGMA * self.mad / abs(self.median) if self.median else 0.0

    def threshold_pct(self, min_pct: float, z: float, spread_pct: float | None = None) -> float:
        """How far (in % of the median) a value may move the wrong way before it is a regression."""
        return max(min_pct, z * self.noise_pct(), z * (spread_pct or 0.0))


def baseline(values: list[float]) -> Baseline | None:
    """Median and MAD of the history values (newest K already chosen by the caller); None if empty."""
    if not values:
        return None
    mid = statistics.median(values)
    return Baseline(mid, statistics.median(abs(v - mid) for v in values), len(values))


def change_pct(value: float, reference: float, better: str) -> float:
    """Signed change where negative is always worse (a drop for `higher`, a rise for `lower`)."""
    if reference == 0:
        return 0.0
    delta = 100.0 * (value - reference) / abs(reference)
    return -delta if better == "lower" else delta


@dataclass(frozen=True)
class Verdict:
    """`regression` is None while the baseline has fewer than the runs a verdict needs."""

    regression: bool | None
    change_pct: float
    threshold_pct: float
    baseline: Baseline
    rule: str  # how the limit was set, printed with the verdict


def check_regression(value: float, history: list[float], better: str, min_pct: float = 10.0,
                     z: float = 3.0, min_runs: int = 3, spread_pct: float | None = None) -> Verdict | None:
    """Compare one value with the baseline of its history; None without history or for `none` metrics,
    regression None (no verdict) while the history is shorter than `min_runs`."""
    base = baseline(history)
    if base is None or better == "none":
        return None
    change = change_pct(value, base.median, better)
    threshold = base.threshold_pct(min_pct, z, spread_pct)
    rule = (f"max(min {min_pct:g} %, {z:g} x baseline noise {base.noise_pct():.1f} %, "
            f"{z:g} x run spread {spread_pct or 0.0:.1f} %); baseline median of {base.runs} run(s)")
    if base.runs < min_runs:
        return Verdict(None, change, threshold, base, f"baseline has {base.runs} of the {min_runs} runs a verdict needs")
    return Verdict(change < -threshold, change, threshold, base, rule)


def outliers(values: dict[str, float], profiles: dict[str, str], better: str, pct: float = 20.0,
             min_peers: int = 3) -> dict[str, tuple[float, float]]:
    """{host: (% worse than its peers' median, that median)} for hosts more than `pct` worse; a profile with fewer than
    `min_peers` hosts has no meaningful median and yields nothing."""
    if better == "none":
        return {}
    groups: dict[str, list[str]] = {}
    for host in values:
        groups.setdefault(profiles.get(host, "unknown"), []).append(host)
    flagged = {}
    for hosts in groups.values():
        if len(hosts) < min_peers:
            continue
        mid = statistics.median(values[h] for h in hosts)
        for host in hosts:
            change = change_pct(values[host], mid, better)
            if change < -pct:
                flagged[host] = (change, mid)
    return flagged
