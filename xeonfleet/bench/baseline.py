"""Regressions and outliers, pure functions over numbers (the store queries live in analyze.py).

Baseline: the median of the last K good runs of one host+job+metric. Its noise is their MAD
(median absolute deviation, robust to the odd bad night), scaled by 1.4826 to a standard deviation.
A value is a regression when it is worse than the baseline by more than max(min_pct, z x sigma):
noisy metrics need a bigger drop before anyone is paged, steady ones get caught early.
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

    def threshold_pct(self, min_pct: float, z: float) -> float:
        """How far (in % of the median) a value may move the wrong way before it is a regression."""
        if self.median == 0:
            return min_pct
        return max(min_pct, 100.0 * z * MAD_TO_SIGMA * self.mad / abs(self.median))


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
    regression: bool
    change_pct: float
    threshold_pct: float
    baseline: Baseline


def check_regression(value: float, history: list[float], better: str, min_pct: float = 10.0,
                     z: float = 3.0) -> Verdict | None:
    """Compare one value with the baseline of its history; None without history or for `none` metrics."""
    base = baseline(history)
    if base is None or better == "none":
        return None
    change = change_pct(value, base.median, better)
    threshold = base.threshold_pct(min_pct, z)
    return Verdict(change < -threshold, change, threshold, base)


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
