"""The fleet benchmark: run the selected jobs on every node, fetch the result files, store them.

    pyinfra INVENTORY deploys/benchmark.py                 # light jobs
    XEONFLEET_BENCH_JOBS=all pyinfra INVENTORY deploys/benchmark.py
    xeonfleet bench run INVENTORY --jobs light             # the same, plus regression checks

Nodes run in parallel (pyinfra), jobs on one node serially. The environment variables and host data it
reads are listed in xeonfleet/bench/entry.py.
"""

from xeonfleet.bench.entry import benchmark

benchmark()
