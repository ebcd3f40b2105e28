"""The fleet benchmark as a deploy: run the selected jobs on this node, fetch the result files, store them.

What deploys/benchmark.py and `xeonfleet bench run` (as `pyinfra INVENTORY xeonfleet.bench.entry.benchmark`,
so an installed wheel needs no clone) run. Jobs run serially, one operation each, so a node that dies
mid-run keeps the jobs already fetched and ingested, and its host row stays `incomplete`.

Environment: XEONFLEET_BENCH_JOBS (light | all | names), XEONFLEET_BENCH_RUN_ID (one id for the run),
XEONFLEET_DB (the results store), XEONFLEET_RESULTS_DIR (raw result files on the controller).
Host data: xeonfleet_bench_env (python env, default /opt/xeonfleet/envs/ai), xeonfleet_bench_cpus
(taskset CPU list: confine the runners), xeonfleet_bench_throttle_pct (run the runners only this % of
the time: slow a node on purpose to check that regression detection catches it).
"""

from __future__ import annotations

import os
from typing import Any, Callable

from pyinfra import host
from pyinfra.api.exceptions import PyinfraError
from pyinfra.operations import files, python, server

from xeonfleet.bench import ingest, remote
from xeonfleet.bench.bandwidth import memory_limit
from xeonfleet.bench.jobs import LIGHT, JobError, load_jobs, select_jobs
from xeonfleet.bench.peak import node_peaks
from xeonfleet.connect.file_transfer import use_working_file_transfer
from xeonfleet.connect.hostcommand import HostCommand
from xeonfleet.connect.sudo_access import require_root, run_arguments, sudo_password
from xeonfleet.facts.node import NodeFacts
from xeonfleet.facts.probe import as_login_user
from xeonfleet.store import open_store


def _with_store(action: Callable[..., Any], args: tuple) -> None:
    """Open the store per call: each call runs in its own host greenlet on the controller."""
    with open_store() as store:
        action(store, *args)


def benchmark() -> None:
    """Run the selected jobs on this host and store each result as it arrives.

    **Example:**

    .. code:: python

        from xeonfleet.bench.entry import benchmark
        benchmark()
    """
    selection = os.environ.get("XEONFLEET_BENCH_JOBS") or LIGHT
    try:  # bad input is one line from pyinfra ("pyinfra error: ..."), not a traceback
        jobs, light = select_jobs(load_jobs(), selection)
        run_id = ingest.current_run_id()
    except (JobError, ingest.RunIdError) as exc:
        raise PyinfraError(str(exc)) from None
    # Jobs run as the login user; under `--sudo` (all as root) the login must get root without a prompt.
    if run_arguments(host.state, host).get("_sudo") and not require_root("tune"):
        return
    facts = host.get_fact(NodeFacts, **as_login_user(sudo_password(host.state, host)))
    use_working_file_transfer()  # a host without SFTP gets scp, with one line saying so
    # The node's limits from its facts; each runner scales them to the cores and sockets it really used.
    limits = {"peaks": {p: peak.to_params() for p, peak in node_peaks(facts).items()},
              "memory_limit": memory_limit(facts).to_params()}
    env = host.data.get("xeonfleet_bench_env") or remote.DEFAULT_ENV
    cpus = host.data.get("xeonfleet_bench_cpus")
    throttle_pct = host.data.get("xeonfleet_bench_throttle_pct")

    python.call(name="Register the run and this host (incomplete until its last job is stored)",
                function=_with_store, action=ingest.start_run, args=(run_id, selection, [j.name for j in jobs]))
    python.call(name="Mark host incomplete", function=_with_store, action=ingest.start_host,
                args=(run_id, host.name, facts))
    for path in remote.runner_files():
        files.put(name=f"Upload {path.name}", src=str(path), dest=f"{remote.REMOTE_DIR}/runners/{path.name}")

    for job in jobs:
        params = {**job.params(light), **limits}
        out = remote.remote_result_path(run_id, job.name)
        local = remote.local_result_path(run_id, host.name, job.name)
        server.shell(name=f"Run {job.name}",
                     commands=[HostCommand(remote.runner_command(job, params, env, out, cpus, throttle_pct))],
                     _timeout=job.timeout_s + 60)
        files.get(name=f"Fetch {job.name} result", src=out, dest=str(local), add_deploy_dir=False,
                  create_local_dir=True, force=True)
        python.call(name=f"Store {job.name} result", function=_with_store, action=ingest.ingest_result,
                    args=(run_id, host.name, job.name, local))

    server.shell(name="Remove this run's files from the node",
                 commands=[HostCommand(remote.cleanup_command(run_id))])
    python.call(name="Mark host complete", function=_with_store, action=ingest.complete_host,
                args=(run_id, host.name))
