"""The fleet benchmark: run the selected jobs on every node, fetch the result files, store them.

    pyinfra INVENTORY deploys/benchmark.py                 # light jobs
    XEONFLEET_BENCH_JOBS=all pyinfra INVENTORY deploys/benchmark.py
    xeonfleet bench run INVENTORY --jobs light             # the same, plus regression checks

Nodes run in parallel (pyinfra), jobs on one node serially, one operation each, so a node that dies
mid-run keeps the jobs already fetched and ingested, and its host row stays `incomplete`.

Environment: XEONFLEET_BENCH_JOBS (light | all | names), XEONFLEET_BENCH_RUN_ID (one id for the run),
XEONFLEET_DB (the results store), XEONFLEET_RESULTS_DIR (raw result files on the controller).
Host data: xeonfleet_bench_env (python env, default /opt/xeonfleet/envs/ai), xeonfleet_bench_cpus
(taskset CPU list: confine the runners), xeonfleet_bench_throttle_pct (run the runners only this % of
the time: slow a node on purpose to check that regression detection catches it).
"""

from xeonfleet.bench.entry import benchmark

benchmark()
