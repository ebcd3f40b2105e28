"""Reports of the benchmark history: a terminal summary of one run and ONE self-contained HTML file
(inline SVG and CSS, one small self-check script, no external assets): a fleet page with a per-node
heat-map against the fleet median and a trend plot per metric, and one page per recent run."""

from __future__ import annotations

import html
import json
import statistics
import time
from collections import defaultdict

from xeonfleet.bench import baseline as bl
from xeonfleet.bench.analyze import RunAnalysis, Thresholds, analyze_run
from xeonfleet.bench.jobs import JobSpec
from xeonfleet.bench.numbers import human
from xeonfleet.bench.plots import Band, heat_color, trend_svg
from xeonfleet.store import Store

# The Intel tuning guide's claims, each measured as a gain per node (never a regression metric).
CLAIMS = {("numa-local", "numa_pinning_gain"): "numactl -N n -l vs unpinned (guide: 5-10 %)",
          ("multi-instance", "multi_instance_gain"): "N instances vs 1, small batch (guide: several 8-16 core instances win)"}
COUNTERS = "counters."


RunMetrics = dict[tuple[str, str], tuple[str, dict[str, float]]]  # (job, metric) -> (unit, {host: value})


def run_metrics(store: Store, run_id: str) -> RunMetrics:
    """Every sample of one run, by job and metric."""
    metrics: RunMetrics = {}
    for host, job, metric, value, unit in store.execute(
            "SELECT host, job, metric, value, unit FROM bench_samples WHERE run_id = :run_id", {"run_id": run_id}):
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


def _series(store: Store) -> tuple[list[tuple[str, float]], dict[tuple[str, str], dict[str, dict[str, float]]]]:
    """Runs (id, start time) in time order and {(job, metric): {host: {run: value}}}."""
    runs = [(r, float(t)) for r, t in store.execute("SELECT run_id, started FROM bench_runs ORDER BY started")]
    series: dict[tuple[str, str], dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for run_id, host, job, metric, value in store.execute(
            "SELECT run_id, host, job, metric, value FROM bench_samples ORDER BY time"):
        series[(job, metric)][host][run_id] = float(value)
    return runs, series


def fleet_band(runs: list[tuple[str, float]], per_host: dict[str, dict[str, float]], better: str,
               limits: Thresholds) -> Band | None:
    """The baseline of the fleet-median series before the latest run, drawn the way the verdict reads
    it: median +- its noise, and the regression limit (needs `min_runs` runs, like a verdict)."""
    medians = [statistics.median(by_run[r] for by_run in per_host.values() if r in by_run)
               for r, _ in runs[:-1] if any(r in by_run for by_run in per_host.values())][-limits.runs:]
    base = bl.baseline(medians)
    if base is None or base.runs < limits.min_runs or better == "none":
        return None
    threshold = base.threshold_pct(limits.min_pct, limits.z) / 100.0
    sigma = base.noise_pct() / 100.0 * abs(base.median) * limits.z
    limit = base.median * (1 + threshold) if better == "lower" else base.median * (1 - threshold)
    return Band(base.median, sigma, limit, base.runs)


def _heatmap(metrics: RunMetrics, jobs: dict[str, JobSpec]) -> str:
    """Nodes x declared metrics of one run, each cell the node's value and its % vs the fleet median."""
    columns = [(job, metric) for (job, metric) in sorted(metrics) if jobs.get(job) and jobs[job].metric(metric)]
    hosts = sorted({h for key in columns for h in metrics[key][1]})
    if not columns:
        return "<p>No declared metric in this run.</p>"
    head = "".join(f"<th>{html.escape(job)}<br>{html.escape(metric)}<br><small>{html.escape(metrics[(job, metric)][0])}"
                   f"</small></th>" for job, metric in columns)
    rows = []
    for host in hosts:
        cells = []
        for job, metric in columns:
            per_host = metrics[(job, metric)][1]
            if host not in per_host:
                cells.append('<td class="na">-</td>')
                continue
            mid = statistics.median(per_host.values())
            change = 100.0 * (per_host[host] - mid) / abs(mid) if mid else None
            better = jobs[job].metric(metric).better
            text = human(per_host[host]) + (f"<br><small>{change:+.1f} %</small>" if change is not None else "")
            cells.append(f'<td style="background:{heat_color(change, better)}">{text}</td>')
        rows.append(f"<tr><th>{html.escape(host)}</th>{''.join(cells)}</tr>")
    return (f'<table class="heat"><tr><th>node</th>{head}</tr>{"".join(rows)}</table>'
            "<p><small>Each cell: the node's value and its difference from the fleet median of that metric "
            "(red worse, green better, grey for informational metrics; full colour at 25 %).</small></p>")


def _isa_notes(store: Store, run_id: str) -> dict[tuple[str, str, str], str]:
    """{(host, job, metric): dispatched ISA} from the samples' metadata (matmul-isa, resnet50)."""
    notes = {}
    for host, job, metric, meta in store.execute(
            "SELECT host, job, metric, metadata_json FROM bench_samples WHERE run_id = :run_id", {"run_id": run_id}):
        isa = json.loads(meta or "{}").get("dispatched_isa")
        if isa:
            notes[(host, job, metric)] = isa
    return notes


def _run_page(store: Store, analysis: RunAnalysis, started: float) -> str:
    """One run: hosts, verdicts with the test used, the guide's claims, every value, null reasons."""
    metrics = run_metrics(store, analysis.run_id)
    isa = _isa_notes(store, analysis.run_id)
    out = [f"<h2>Run {html.escape(analysis.run_id)}</h2><p>started {time.strftime('%Y-%m-%d %H:%M', time.localtime(started))}; "
           f"{html.escape(verdict_rule(analysis))}</p><ul>"]
    for host, status in analysis.hosts.items():
        counts = _counts(analysis, host)
        out.append(f"<li>{html.escape(host)}: {html.escape(status)}; ok {counts['ok']}, skipped {counts['skipped']}, "
                   f"failed {counts['failed']}</li>")
    out += [f"<li>{html.escape(job)} on {html.escape(host)}: {html.escape(status)}: {html.escape(reason or '')}</li>"
            for host, job, status, reason in analysis.results if status != "ok"]
    out += [f'<li class="bad">{html.escape(f.line())}</li>' for f in analysis.findings]
    if analysis.incomplete:
        out.append(f'<li class="bad">{html.escape(incomplete_line(analysis))}</li>')
    if analysis.pending:
        out.append(f"<li>no verdict yet for {len(analysis.pending)} series (baseline shorter than "
                   f"{analysis.limits.min_runs} runs)</li>")
    out.append("</ul>")
    gains = claim_gains(metrics)
    if gains:
        out.append("<h3>The Intel tuning guide's claims, measured gain per node</h3>"
                   "<table><tr><th>claim</th><th>node</th><th>gain</th></tr>")
        out += [f"<tr><td>{html.escape(c)}</td><td>{html.escape(h)}</td><td>{g:+.1f} %</td></tr>"
                for c, per in gains.items() for h, g in sorted(per.items())]
        out.append("</table>")
    out.append("<h3>Values</h3><table><tr><th>job</th><th>metric</th><th>node</th><th>value</th><th>ISA dispatched</th></tr>")
    for (job, metric), (unit, per_host) in sorted(metrics.items()):
        out += [f"<tr><td>{html.escape(job)}</td><td>{html.escape(metric)}</td><td>{html.escape(h)}</td>"
                f"<td class=\"num\">{human(v)} {html.escape(unit)}</td><td>{html.escape(isa.get((h, job, metric), ''))}</td></tr>"
                for h, v in sorted(per_host.items())]
    out += [f"<tr><td>{html.escape(job)}</td><td>{html.escape(metric)}</td><td>{html.escape(h)}</td>"
            f"<td>null</td><td>{html.escape(reason)}</td></tr>" for h, job, metric, reason in analysis.unavailable]
    out.append("</table>")
    return "".join(out)


# Counts the drawn marks of every plot once the browser has laid it out, and says so on the page:
# an empty plot is marked where a reader sees it (and the browser test reads body[data-plots]).
SELF_CHECK = """document.addEventListener("DOMContentLoaded", function () {
  var drawn = 0, empty = 0;
  document.querySelectorAll("svg.plot").forEach(function (svg) {
    var marks = Array.prototype.filter.call(svg.querySelectorAll(".mark"), function (m) {
      var box = m.getBBox(); return box.width > 0 || box.height > 0; });
    if (marks.length) { drawn++; } else { empty++; svg.insertAdjacentHTML("afterend", "<p class=bad>this plot has no data</p>"); }
  });
  document.body.setAttribute("data-plots", drawn + " drawn, " + empty + " empty");
});"""
STYLE = ("body{font-family:sans-serif;max-width:64em;margin:1em auto}.bad{color:#b00}"
         "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}"
         ".num{text-align:right}.heat td{text-align:right}nav a{margin-right:.8em}"
         ".page{display:none}.page:target{display:block}.page:target~#fleet{display:none}#fleet{display:block}")
RUN_PAGES = 20


def html_report(store: Store, jobs: dict[str, JobSpec], analysis: RunAnalysis | None) -> str:
    """The whole report as one self-contained HTML file (no network): a fleet page (heat-map of the
    latest run, a trend plot per declared metric) and one page per recent run, switched by #anchors."""
    limits = analysis.limits if analysis else Thresholds()
    runs, series = _series(store)
    latest = analysis.run_id if analysis else (runs[-1][0] if runs else None)
    started = dict(runs)
    pages = []
    for run_id, _ in reversed(runs[-RUN_PAGES:]):
        run_analysis = analysis if analysis and run_id == analysis.run_id else analyze_run(store, run_id, jobs, limits)
        pages.append(f'<section class="page" id="run-{html.escape(run_id)}">{_run_page(store, run_analysis, started[run_id])}'
                     "</section>")
    fleet = [f"<h2>Fleet: run {html.escape(latest or 'none')}</h2>"]
    if latest:
        fleet.append(_heatmap(run_metrics(store, latest), jobs))
    fleet.append("<h2>Trends</h2>")
    for (job, metric), per_host in sorted(series.items()):
        declared = jobs[job].metric(metric) if job in jobs else None
        if declared is None:
            continue
        band = fleet_band(runs, per_host, declared.better, limits)
        fleet.append(f"<h3>{html.escape(job)} / {html.escape(metric)} ({html.escape(declared.unit)}, "
                     f"{'higher' if declared.better == 'higher' else 'lower' if declared.better == 'lower' else 'informational'}"
                     f"{' is better' if declared.better != 'none' else ''})</h3>")
        fleet.append(trend_svg(runs, per_host, declared.unit, band))
    nav = "".join(f'<a href="#run-{html.escape(r)}">{html.escape(r)}</a>' for r, _ in reversed(runs[-RUN_PAGES:]))
    body = (f"<h1>xeonfleet benchmarks</h1><p>{len(runs)} runs; generated {time.strftime('%Y-%m-%d %H:%M')}; "
            "each job measures a claim of the Intel tuning guide against a limit or a control (docs/benchmarks.md)</p>"
            f'<nav><a href="#fleet">fleet</a> runs: {nav}</nav>{"".join(pages)}<section id="fleet">{"".join(fleet)}</section>')
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>xeonfleet benchmarks</title>"
            f"<style>{STYLE}</style><script>{SELF_CHECK}</script></head><body>{body}</body></html>\n")
