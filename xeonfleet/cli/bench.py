"""`xeonfleet bench run|compare|nightly|schedule` and `xeonfleet report`: the fleet benchmark from the controller.

`bench run` drives `pyinfra INVENTORY xeonfleet.bench.entry.benchmark` (what deploys/benchmark.py calls; by
module name, so an installed wheel needs no clone): nodes in parallel, jobs serially per node,
then checks the run against each series' rolling baseline and the fleet's peers. Exit codes:
0 clean, 1 regression found or the run incomplete (a host died or measured nothing), 2 bad input or store problem, 75 nightly lock held by another run."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click

from xeonfleet.bench import ingest, nightly, remote, schedule
from xeonfleet.bench.analyze import RunAnalysis, Thresholds, analyze_run
from xeonfleet.bench.compare import compare_runs
from xeonfleet.bench.jobs import JobError, load_jobs, select_jobs
from xeonfleet.bench.report import html_report, run_metrics, terminal_summary
from xeonfleet.cli.output import emit, output_options, resolve_format
from xeonfleet.connect.progress import fleet_progress
from xeonfleet.connect.pyinfra_output import explain_failures
from xeonfleet.private_files import make_private_dirs, write_private
from xeonfleet.store import ENV_VAR, StoreError, absolute_location, open_store

REPORT_FORMATS = ("table", "html")

DEPLOY = "xeonfleet.bench.entry.benchmark"
EXIT_REGRESSION, EXIT_USAGE, EXIT_LOCKED = 1, 2, 75
DEFAULT_LOCK = remote.BENCH_DIR / "nightly.lock"
DEFAULT_NIGHTLY_HTML = remote.BENCH_DIR / "nightly.html"
DEFAULT_NIGHTLY_LOG = remote.BENCH_DIR / "nightly.log"


def _fail(message: str, code: int = EXIT_USAGE) -> None:
    click.echo(f"xeonfleet bench: {message}", err=True)
    sys.exit(code)


def _db_option(func: Callable) -> Callable:
    return click.option("--db", envvar=ENV_VAR, default=None,
                        help=f"Results store: path, sqlite:///path or postgresql://... (default ${ENV_VAR} "
                             "or $XDG_DATA_HOME/xeonfleet/results.db).")(func)


def _threshold_options(func: Callable) -> Callable:
    defaults = Thresholds()
    for flag, default, text in (
        ("--baseline-runs", defaults.runs, "Good earlier runs the rolling baseline uses (K)."),
        ("--min-pct", defaults.min_pct, "Smallest drop (%) ever called a regression."),
        ("--z", defaults.z, "Regression threshold in robust standard deviations (MAD x 1.4826)."),
        ("--outlier-pct", defaults.outlier_pct, "A node this % below its hardware peers is an outlier."),
    ):
        func = click.option(flag, type=type(default), default=default, show_default=True, help=text)(func)
    return func


def run_benchmark(inventory: str, selection: str, db: str | None, parallel: int | None, limit: str | None,
                  limits: Thresholds) -> tuple[RunAnalysis, float]:
    """One benchmark run over the inventory, ingested and analysed; raises JobError/StoreError on bad input.
    pyinfra's own output goes to a log beside the raw results; known failures (a host without SFTP)
    are printed as one line per host naming the fix."""
    jobs = load_jobs()
    chosen, _ = select_jobs(jobs, selection)
    run_id = ingest.new_run_id()
    env = {**os.environ, ingest.RUN_ID_VAR: run_id, "XEONFLEET_BENCH_JOBS": selection}
    if db:
        env[ENV_VAR] = db
    # pyinfra as a module of this interpreter: an install without pyinfra's console script still runs it.
    command = [sys.executable, "-m", "pyinfra", "-y", inventory, DEPLOY]
    command += ["--parallel", str(parallel)] if parallel else []
    command += ["--limit", limit] if limit else []
    log = make_private_dirs(remote.results_dir() / run_id) / "pyinfra.log"
    click.echo(f"run {run_id}: {', '.join(j.name for j in chosen)} on {inventory} (pyinfra output: {log})", err=True)
    start = time.monotonic()
    # pyinfra exits non-zero when a host failed; that host is reported incomplete below, not fatal here.
    # umask 077: the result files it fetches (BIOS, microcode, serials in their metadata) are the owner's alone.
    with fleet_progress(f"benchmark run {run_id}"):
        done = subprocess.run(command, env=env, check=False, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, umask=0o077)
    write_private(log, done.stdout)
    elapsed = time.monotonic() - start
    for line in explain_failures(done.stdout):
        click.echo(f"xeonfleet bench: {line}", err=True)
    with open_store(db) as store:
        if not store.execute("SELECT 1 FROM bench_runs WHERE run_id = :run_id", {"run_id": run_id}):
            raise StoreError(f"run {run_id} stored nothing: pyinfra reached no host (its output: {log})")
        ingest.finish_run(store, run_id)
        return analyze_run(store, run_id, jobs, limits), elapsed


def run_and_summarise(inventory: str, selection: str, db: str | None, parallel: int | None, limit: str | None,
                      limits: Thresholds, html_path: Path | None = None) -> RunAnalysis:
    """run_benchmark, then the terminal summary (and the HTML report when asked): `bench run` and
    `bench nightly` report a run the same way."""
    analysis, elapsed = run_benchmark(inventory, selection, db, parallel, limit, limits)
    with open_store(db) as store:
        click.echo(terminal_summary(analysis, run_metrics(store, analysis.run_id), elapsed))
        if html_path:
            html_path.write_text(html_report(store, load_jobs(), analysis))
    return analysis


def _min_runs_option(func: Callable) -> Callable:
    return click.option("--min-baseline-runs", "min_runs", type=int, default=Thresholds().min_runs, show_default=True,
                        help="Good earlier runs a baseline needs before any regression verdict.")(func)


def _exit_code(analysis: RunAnalysis) -> int:
    """1 when the run regressed or fell short (a host died or measured nothing), else 0."""
    return EXIT_REGRESSION if analysis.regressions or analysis.incomplete else 0


@click.group()
def bench() -> None:
    """Fleet benchmarks: run jobs on nodes, compare runs, nightly runs."""


@bench.command("run")
@click.argument("inventory")
@click.option("--jobs", "selection", default="light", show_default=True,
              help="light (quick sizes), all, or comma-separated job names (benchmarks/*.yaml).")
@click.option("--parallel", type=int, default=None, help="Nodes benchmarked at once (default: all).")
@click.option("--limit", default=None, help="Only these hosts or groups (pyinfra --limit).")
@_db_option
@_threshold_options
@_min_runs_option
def run_command(inventory: str, selection: str, parallel: int | None, limit: str | None, db: str | None,
                baseline_runs: int, min_pct: float, z: float, outlier_pct: float, min_runs: int) -> None:
    """Benchmark INVENTORY, store the samples, exit 1 on a regression or an incomplete run."""
    limits = Thresholds(baseline_runs, min_pct, z, outlier_pct, min_runs)
    try:
        analysis = run_and_summarise(inventory, selection, db, parallel, limit, limits)
    except (JobError, StoreError, ValueError) as exc:
        _fail(str(exc))
    sys.exit(_exit_code(analysis))


@bench.command("compare")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--min-pct", type=float, default=Thresholds().min_pct, show_default=True,
              help="A metric this % worse in RUN_B counts as a regression.")
@_db_option
def compare_command(run_a: str, run_b: str, min_pct: float, db: str | None) -> None:
    """Every host/job/metric of RUN_B against RUN_A; exit 1 if any got worse by more than --min-pct."""
    try:
        with open_store(db, read_only=True) as store:
            deltas = compare_runs(store, run_a, run_b, load_jobs(), min_pct)
    except (JobError, StoreError, ValueError) as exc:
        _fail(str(exc))
    for delta in deltas:
        click.echo(delta.line())
    if any(d.worse for d in deltas):
        sys.exit(EXIT_REGRESSION)


@bench.command("nightly")
@click.argument("inventory")
@click.option("--jobs", "selection", default="all", show_default=True, help="Job selection (see `bench run`).")
@click.option("--keep-days", type=float, default=30, show_default=True, help="Days of raw result files to keep.")
@click.option("--lock", "lock_path", type=click.Path(path_type=Path), default=DEFAULT_LOCK, show_default=True,
              help="Lock file: a second start while a run holds it exits 75 without running.")
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None,
              help="Write the HTML report here after the run.")
@click.option("--parallel", type=int, default=None, help="Nodes benchmarked at once (default: all).")
@_db_option
@_threshold_options
@_min_runs_option
def nightly_command(inventory: str, selection: str, keep_days: float, lock_path: Path, html_path: Path | None,
                    parallel: int | None, db: str | None, baseline_runs: int, min_pct: float, z: float,
                    outlier_pct: float, min_runs: int) -> None:
    """The timer's entry: lock, run, prune old raw results, write the report."""
    try:
        with nightly.NightlyLock(lock_path):
            analysis = run_and_summarise(inventory, selection, db, parallel, None,
                                         Thresholds(baseline_runs, min_pct, z, outlier_pct, min_runs), html_path)
            for removed in nightly.prune_raw_results(remote.results_dir(), keep_days):
                click.echo(f"pruned {removed}", err=True)
    except nightly.LockHeld as exc:
        _fail(str(exc), EXIT_LOCKED)
    except (JobError, StoreError, ValueError) as exc:
        _fail(str(exc))
    sys.exit(_exit_code(analysis))


@bench.command("schedule")
@click.argument("inventory")
@click.option("--systemd", "kind", flag_value="systemd", default=True,
              help="A systemd service + timer (the default).")
@click.option("--cron", "kind", flag_value="cron", help="A cron.d entry instead.")
@click.option("--at", default="02:00", show_default=True, help="Time of day on the controller, HH:MM.")
@click.option("--jobs", "selection", default="all", show_default=True, help="Job selection (see `bench run`).")
@click.option("--keep-days", type=float, default=30, show_default=True, help="Days of raw result files to keep.")
@click.option("--user", default=getpass.getuser, show_default="you", help="The user the nightly run runs as.")
@click.option("--lock", "lock_path", type=click.Path(path_type=Path), default=DEFAULT_LOCK, show_default=True,
              help="The nightly lock file (see `bench nightly`).")
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=DEFAULT_NIGHTLY_HTML,
              show_default=True, help="Where each run writes the HTML report.")
@click.option("--install", is_flag=True, help="Write the files under --root instead of printing them.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"), show_default=True,
              help="Install under this root (/etc/systemd/system or /etc/cron.d below it).")
@_db_option
def schedule_command(inventory: str, kind: str, at: str, selection: str, keep_days: float, user: str,
                     lock_path: Path, html_path: Path, install: bool, root: Path, db: str | None) -> None:
    """Print (or --install) the nightly timer or cron entry that runs `bench nightly` from this clone."""
    settings = schedule.NightlySettings(
        inventory=Path(inventory), jobs=selection, at=at, user=user, db=absolute_location(db),
        results_dir=remote.results_dir(), keep_days=keep_days, lock_path=lock_path, html_path=html_path,
        log_path=DEFAULT_NIGHTLY_LOG)
    try:
        select_jobs(load_jobs(), selection)
        files = schedule.schedule_files(settings, kind)
        if not install:
            for path, content in files.items():
                click.echo(f"# ==> /{path} <==\n{content}")
            return
        written = schedule.install_files(files, root)
    except (JobError, schedule.ScheduleError) as exc:
        _fail(str(exc))
    for path in written:
        click.echo(f"wrote {path}")
    if kind == "systemd":
        click.echo("next: systemctl daemon-reload && systemctl enable --now xeonfleet-bench.timer")


@click.command("report")
@click.option("--run", "run_id", default=None, help="Run to summarise (default: the latest).")
@output_options(REPORT_FORMATS, "table")
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None, hidden=True,
              help="Old spelling of `--format html -o FILE`.")
@_db_option
@_threshold_options
def report_command(run_id: str | None, fmt: str | None, output: Path | None, html_path: Path | None,
                   db: str | None, baseline_runs: int, min_pct: float, z: float, outlier_pct: float) -> None:
    """Summarise a benchmark run (exit 1 if it regressed): the terminal table, or the self-contained HTML
    report (trends + fleet distributions) with `--format html` or `-o FILE.html`. Never creates a store."""
    if html_path is not None:
        fmt, output = "html", html_path
    fmt = resolve_format(fmt, output, REPORT_FORMATS, "table")
    try:
        jobs = load_jobs()
        with open_store(db, read_only=True) as store:  # a report never creates or upgrades a store
            if run_id is None:
                latest = store.execute("SELECT run_id FROM bench_runs ORDER BY started DESC LIMIT 1")
                if not latest:
                    _fail("no benchmark runs in the results store; run `xeonfleet bench run INVENTORY` first")
                run_id = latest[0][0]
            analysis = analyze_run(store, run_id, jobs, Thresholds(baseline_runs, min_pct, z, outlier_pct))
            if fmt == "html":
                text = html_report(store, jobs, analysis)
            else:
                text = terminal_summary(analysis, run_metrics(store, run_id)) + "\n"
    except (JobError, StoreError, ValueError) as exc:
        _fail(str(exc))
    emit(text, output, fmt)
    if analysis.regressions:
        sys.exit(EXIT_REGRESSION)
