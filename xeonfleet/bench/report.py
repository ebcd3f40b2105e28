"""Reports of the benchmark history: a terminal summary of one run and ONE self-contained HTML file
(inline SVG, no scripts, no external assets) with a trend plot per metric and the fleet's spread."""

from __future__ import annotations

import html
import statistics
import time
from collections import defaultdict

from xeonfleet.bench.analyze import RunAnalysis
from xeonfleet.bench.jobs import JobSpec
from xeonfleet.bench.numbers import human
from xeonfleet.store import Store

# The Intel tuning guide's claims, each measured as a gain per node (never a regression metric).
CLAIMS = {("numa-local", "numa_pinning_gain"): "numactl -N n -l vs unpinned (guide: 5-10 %)",
          ("multi-instance", "multi_instance_gain"): "N instances vs 1, small batch (guide: several 8-16 core instances win)"}
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
WIDTH, HEIGHT, PAD = 520, 180, 36
COUNTERS = "counters."


RunMetrics = dict[tuple[str, str], tuple[str, dict[str, float]]]  # (job, metric) -> (unit, {host: value})


def run_metrics(store: Store, run_id: str) -> RunMetrics:
    """Every sample of one run, by job and metric."""
    metrics: RunMetrics = {}
    for host, job, metric, value, unit in store.execute(
            "SELECT host, job, metric, value, unit FROM bench_samples WHERE run_id = ?", (run_id,)):
        metrics.setdefault((job, metric), (unit, {}))[1][host] = float(value)
    return metrics


def claim_gains(metrics: RunMetrics) -> dict[str, dict[str, float]]:
    """{claim: {host: gain %}} of the tuning guide's claims measured in one run."""
    return {CLAIMS[key]: per_host for key, (_, per_host) in metrics.items() if key in CLAIMS}


def metric_line(job: str, metric: str, unit: str, per_host: dict[str, float]) -> str:
    """The fleet's spread of one metric: the median, and the hosts at both ends."""
    low, high = min(per_host, key=per_host.get), max(per_host, key=per_host.get)
    if per_host[low] == per_host[high]:
        where = f"on all {len(per_host)} hosts" if len(per_host) > 1 else f"on {low}"
        return f"{job} {metric}: {human(per_host[low])} {unit} {where}"
    return (f"{job} {metric}: median {human(statistics.median(per_host.values()))} {unit} on {len(per_host)} hosts, "
            f"lowest {low} {human(per_host[low])}, highest {high} {human(per_host[high])}")


def _counts(analysis: RunAnalysis, host: str) -> dict[str, int]:
    jobs = [r for r in analysis.results if r[0] == host]
    return {status: sum(1 for r in jobs if r[2] == status) for status in ("ok", "skipped", "failed")}


def incomplete_line(analysis: RunAnalysis) -> str:
    """One line: which hosts fall short, how many jobs were skipped or failed, and the first reason
    (it names the fix: the stack to install or the host data to set)."""
    nothing = analysis.measured_nothing
    died = [h for h, s in analysis.hosts.items() if s != "complete" and h not in nothing]
    parts = []
    if nothing:
        counts = [_counts(analysis, h) for h in nothing]
        skipped, failed = sum(c["skipped"] for c in counts), sum(c["failed"] for c in counts)
        reason = next((r[3] for r in analysis.results if r[0] in nothing and r[3]), "no job reached the node")
        parts.append(f"{', '.join(nothing)} measured nothing ({skipped} job(s) skipped, {failed} failed: {reason})")
    if died:
        parts.append(f"{', '.join(died)} stopped before the last job (unreachable or killed; its finished jobs are kept)")
    return f"INCOMPLETE run {analysis.run_id}: " + "; ".join(parts)


def verdict_rule(analysis: RunAnalysis) -> str:
    """The regression test in words, printed with every run so a reader knows what 'no regression' means."""
    t = analysis.limits
    return (f"regression test: worse than the baseline (median of the last {t.runs} good runs, at least "
            f"{t.min_runs} needed) by more than max({t.min_pct:g} %, {t.z:g} x the baseline's MAD sigma, "
            f"{t.z:g} x the job's own repeat spread); outlier: {t.outlier_pct:g} % below same-hardware peers")


def terminal_summary(analysis: RunAnalysis, metrics: RunMetrics, elapsed: float | None = None) -> str:
    """Hosts and their jobs, each metric's spread over the fleet, the guide's claims, then the findings.
    Counter readings (counters.*) are left to the HTML report."""
    lines = [f"benchmark run {analysis.run_id}" + (f" ({elapsed:.0f} s)" if elapsed is not None else "")]
    for host, status in analysis.hosts.items():
        counts = _counts(analysis, host)
        shown = "incomplete (measured nothing)" if host in analysis.measured_nothing else status
        lines.append(f"  {host}: {shown}; jobs ok {counts['ok']}, skipped {counts['skipped']}, failed {counts['failed']}")
        lines += [f"    {job} {status_}: {reason}" for h, job, status_, reason in analysis.results
                  if h == host and status_ != "ok"]
    lines += ["  " + metric_line(job, metric, unit, per_host) for (job, metric), (unit, per_host) in sorted(metrics.items())
              if (job, metric) not in CLAIMS and not metric.startswith(COUNTERS)]
    unavailable: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for host, job, metric, reason in analysis.unavailable:
        if not metric.startswith(COUNTERS):
            unavailable[(job, metric, reason)].append(host)
    lines += [f"  {job} {metric}: null on {', '.join(hosts)}: {reason}" for (job, metric, reason), hosts in
              sorted(unavailable.items())]
    for claim, per_host in claim_gains(metrics).items():
        lines.append(f"  {claim}: " + ", ".join(f"{h} {g:+.1f} %" for h, g in sorted(per_host.items())))
    lines.append("  " + verdict_rule(analysis))
    if analysis.pending:
        runs = min(p[3] for p in analysis.pending)
        lines.append(f"  no verdict yet for {len(analysis.pending)} series: the baseline has {runs} of the "
                     f"{analysis.limits.min_runs} good runs a verdict needs (--min-baseline-runs)")
    lines += ["  " + finding.line() for finding in analysis.findings]
    if analysis.incomplete:
        lines.append("  " + incomplete_line(analysis))
    elif not analysis.findings:
        lines.append("  no regression, no outlier")
    return "\n".join(lines)


def _series(store: Store) -> tuple[list[str], dict[tuple[str, str], dict[str, dict[str, float]]]]:
    """Runs in time order and {(job, metric): {host: {run: value}}}."""
    runs = [r for (r,) in store.execute("SELECT run_id FROM bench_runs ORDER BY started")]
    series: dict[tuple[str, str], dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for run_id, host, job, metric, value in store.execute(
            "SELECT run_id, host, job, metric, value FROM bench_samples ORDER BY time"):
        series[(job, metric)][host][run_id] = float(value)
    return runs, series


def _scale(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if lo == hi:
        lo, hi = lo - abs(lo) * 0.1 - 1e-9, hi + abs(hi) * 0.1 + 1e-9
    return lo, hi


def trend_svg(runs: list[str], per_host: dict[str, dict[str, float]], unit: str) -> str:
    """One line per host over the runs (x = run order, y = value)."""
    values = [v for by_run in per_host.values() for v in by_run.values()]
    lo, hi = _scale(values)
    xs = {run: PAD + (WIDTH - 2 * PAD) * (i / max(1, len(runs) - 1)) for i, run in enumerate(runs)}

    def y(v: float) -> float:
        return HEIGHT - PAD + (HEIGHT - 2 * PAD) * -((v - lo) / (hi - lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img">',
             f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>',
             f'<text x="2" y="{PAD - 6}" font-size="10">{hi:.4g} {html.escape(unit)}</text>',
             f'<text x="2" y="{HEIGHT - PAD + 14}" font-size="10">{lo:.4g}</text>']
    for index, (host, by_run) in enumerate(sorted(per_host.items())):
        color = COLORS[index % len(COLORS)]
        points = [(xs[r], y(v)) for r, v in by_run.items() if r in xs]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{path}"/>')
        parts += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{color}"><title>{html.escape(host)}</title></circle>'
                  for px, py in points]
        parts.append(f'<text x="{WIDTH - PAD + 4}" y="{PAD + 12 * index}" font-size="10" fill="{color}">'
                     f'{html.escape(host)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def distribution_svg(values: dict[str, float], unit: str) -> str:
    """The latest run's value of every host on one axis: a slow node stands apart from the pack."""
    lo, hi = _scale(list(values.values()))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="60" role="img">',
             f'<line x1="{PAD}" y1="30" x2="{WIDTH - PAD}" y2="30" stroke="#999"/>',
             f'<text x="{PAD}" y="52" font-size="10">{lo:.4g}</text>',
             f'<text x="{WIDTH - PAD - 40}" y="52" font-size="10">{hi:.4g} {html.escape(unit)}</text>']
    for host, value in sorted(values.items()):
        x = PAD + (WIDTH - 2 * PAD) * (value - lo) / (hi - lo)
        parts.append(f'<circle cx="{x:.1f}" cy="30" r="4" fill="#1f77b4" fill-opacity="0.6">'
                     f'<title>{html.escape(host)}: {value:.4g}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def html_report(store: Store, jobs: dict[str, JobSpec], analysis: RunAnalysis | None) -> str:
    """The whole report as one HTML string."""
    runs, series = _series(store)
    latest = runs[-1] if runs else None
    body = [f"<h1>xeonfleet benchmarks</h1><p>{len(runs)} runs; generated {time.strftime('%Y-%m-%d %H:%M')}; "
            f"latest run {html.escape(latest or 'none')}</p>"]
    if analysis:
        body.append(f"<h2>Run {html.escape(analysis.run_id)}</h2><ul>")
        body += [f"<li>{html.escape(h)}: {html.escape(s)}</li>" for h, s in analysis.hosts.items()]
        body += [f'<li class="bad">{html.escape(f.line())}</li>' for f in analysis.findings]
        body.append("</ul>")
        gains = claim_gains(run_metrics(store, analysis.run_id))
        if gains:
            body.append("<h2>Seed claims, measured gain per node</h2><table><tr><th>claim</th><th>node</th><th>gain</th></tr>")
            body += [f"<tr><td>{html.escape(c)}</td><td>{html.escape(h)}</td><td>{g:+.1f} %</td></tr>"
                     for c, per in gains.items() for h, g in sorted(per.items())]
            body.append("</table>")
    for (job, metric), per_host in sorted(series.items()):
        spec = jobs.get(job)
        declared = spec.metric(metric) if spec else None
        unit = declared.unit if declared else ""
        body.append(f"<h3>{html.escape(job)} / {html.escape(metric)}</h3>")
        body.append(trend_svg(runs, per_host, unit))
        latest_values = {h: by_run[latest] for h, by_run in per_host.items() if latest in by_run}
        if latest_values:
            body.append(distribution_svg(latest_values, unit))
    style = ("body{font-family:sans-serif;max-width:60em;margin:1em auto}.bad{color:#b00}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}")
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>xeonfleet benchmarks</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")
