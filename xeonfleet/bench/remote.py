"""What the benchmark deploy runs on a node and where results land: command building and paths.

Kept out of the deploy (xeonfleet/bench/entry.py) so it is plain, testable Python; the deploy only sequences it."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

from xeonfleet.bench.ingest import check_run_id
from xeonfleet.bench.jobs import JobSpec, runner_dirs
from xeonfleet.private_files import make_private_dirs
from xeonfleet.resources import packaged, user_data_dir

REMOTE_DIR = "/var/lib/xeonfleet/bench"
DEFAULT_ENV = "/opt/xeonfleet/envs/ai"
RESULTS_DIR_VAR = "XEONFLEET_RESULTS_DIR"
BENCH_DIR = user_data_dir() / "bench"  # the controller's raw results and nightly files, per user, wherever installed
# The node modules benchlib imports (node/siblings.py), uploaded beside the runners: the instance planner and
# the topology reader the launcher uses too, and the frameworks' oneDNN verbose parser and ISA names
# (matmul-isa and resnet50 name the kernel with them); and the throttle (xeonfleet_bench_throttle_pct).
THROTTLE = "throttle.py"
NODE_LIBS = [packaged(f"node/{name}") for name in ("siblings.py", "instances.py", "topology.py", "onednn_verbose.py",
                                                    "isa_names.py", THROTTLE)]


def results_dir() -> Path:
    """Raw result files on the controller: $XEONFLEET_RESULTS_DIR, else $XDG_DATA_HOME/xeonfleet/bench/raw
    (beside the results store), so a wheel installed without a clone has somewhere of its own to write.
    Made here when missing, 0700 like each parent it makes: the runs under it describe the fleet."""
    return make_private_dirs(Path(os.environ.get(RESULTS_DIR_VAR) or BENCH_DIR / "raw"))


def local_result_path(run_id: str, host: str, job: str) -> Path:
    return results_dir() / run_id / host / f"{job}.json"


def remote_result_path(run_id: str, job: str) -> str:
    return f"{REMOTE_DIR}/results/{run_id}/{job}.json"


def cleanup_command(run_id: str) -> str:
    """Remove one run's result files from the node: the id is checked and quoted, so a hostile or
    mistyped $XEONFLEET_BENCH_RUN_ID can never widen the `rm -rf`."""
    return f"rm -rf {shlex.quote(f'{REMOTE_DIR}/results/{check_run_id(run_id)}')}"


def runner_files() -> list[Path]:
    """Everything the node needs: the runner scripts (a user's shadowing a shipped one of the same file name),
    their harness and the node modules it imports, all into one directory."""
    runners: dict[str, Path] = {}
    for directory in runner_dirs():
        for path in directory.glob("*.py"):
            runners.setdefault(path.name, path)
    return [runners[name] for name in sorted(runners)] + NODE_LIBS


def throttle_command(pct: int) -> str:
    """Shell that holds the process group of $pid to `pct` % of the CPU it could use (node/throttle.py, run by the
    same python as the runner), then waits for it: a deterministic slowdown for testing regression detection."""
    if not 1 <= pct <= 99:
        raise ValueError(f"xeonfleet_bench_throttle_pct must be 1..99 (got {pct})")
    # The runner's `cd` runs in its background list, so the throttle is named by its full path.
    return f"\"$py\" {shlex.quote(f'{REMOTE_DIR}/runners/{THROTTLE}')} $pid {pct}; wait $pid"


def runner_command(job: JobSpec, params: dict, env: str, out: str, cpus: str | None = None,
                   throttle_pct: int | None = None) -> str:
    """The shell line that runs one job and always leaves a result file at `out`.

    The env's python runs the runner (plain python3 when the env is missing, so the runner reports
    the missing stack as a skip); `timeout` bounds it; `cpus` (host data xeonfleet_bench_cpus) limits
    it with taskset, e.g. to keep cores free for a service; `throttle_pct` (host data
    xeonfleet_bench_throttle_pct) slows it on purpose. If the runner dies before writing its file
    (killed, timed out), a failed document naming the exit status is written instead."""
    python = shlex.quote(f"{env.rstrip('/')}/bin/python")
    pin = f"taskset -c {shlex.quote(cpus)} " if cpus else ""
    failed = json.dumps({"version": 1, "status": "failed", "samples": [], "versions": {},
                         "error": f"runner exited with status STATUS (timeout {job.timeout_s} s, or killed)"})
    before, _, after = failed.partition("STATUS")
    run = (f"{pin}timeout {job.timeout_s} \"$py\" {shlex.quote(job.runner)} "
           f"--params {shlex.quote(json.dumps(params, sort_keys=True))} --out {shlex.quote(out)}")
    if throttle_pct:
        # setsid: the runner and its instance processes get a process group of their own to stop.
        run = f"setsid {run} & pid=$!; {throttle_command(int(throttle_pct))}"
    return (
        f"mkdir -p {shlex.quote(os.path.dirname(out))} && rm -f {shlex.quote(out)} && "
        f"py={python}; [ -x \"$py\" ] || py=python3; "
        f"cd {shlex.quote(REMOTE_DIR + '/runners')} && {run}; "
        f"rc=$?; [ -s {shlex.quote(out)} ] || printf '%s%s%s' {shlex.quote(before)} \"$rc\" {shlex.quote(after)} "
        f"> {shlex.quote(out)}"
    )
