"""The OpenMP / KMP / TensorFlow threading environment (`runtime.*`), kept in /etc/profile.d.

OMP_NUM_THREADS and TF_NUM_INTRAOP_THREADS are computed from the node's physical cores (or the
instance size of a multi-instance profile); the KMP variables and TF inter-op threads are copied from
the profile. The profile.d file is the only setter: a login shell (and xeonfleet-run) picks it up.
"""

from __future__ import annotations

from typing import Any

from xeonfleet.node.instances import pick_cores_per_instance
from xeonfleet.knobs.base import Facts, Knob, PersistFile, ProfileKey, ProfileValues, choice_key, fact, int_key

ENV_FILE = "/etc/profile.d/xeonfleet-ai.sh"
PROFILE_D = PersistFile(ENV_FILE, "xeonfleet-ai.sh.j2")
# Runtime env vars copied verbatim from the profile (OMP_NUM_THREADS and TF intra-op are computed).
ENV_FROM_PROFILE = (
    ("KMP_AFFINITY", "runtime.kmp_affinity"),
    ("KMP_BLOCKTIME", "runtime.kmp_blocktime"),
    ("KMP_SETTINGS", "runtime.kmp_settings"),
    ("TF_NUM_INTEROP_THREADS", "runtime.tf_inter_op_threads"),
)
COMPUTED_ENV = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")


def _is_core_range(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value) and value[0] <= value[1])


PROFILE_KEYS = (
    choice_key("runtime.mode", ("single", "multi")),
    ProfileKey("runtime.cores_per_instance", _is_core_range, "[min, max] cores, e.g. [8, 16]"),
    # OpenMP spec, OMP_NUM_THREADS: "must be a list of positive integer values" (this sets the first level's).
    ProfileKey("runtime.omp_num_threads",
               lambda v: v in ("physical_cores", "cores_per_instance") or (
                   isinstance(v, int) and not isinstance(v, bool) and v > 0),
               "physical_cores, cores_per_instance or a positive integer"),
    ProfileKey("runtime.kmp_affinity", lambda value: isinstance(value, str), "a KMP_AFFINITY string"),
    int_key("runtime.kmp_blocktime", "an integer (ms)"),
    int_key("runtime.kmp_settings", "0 or 1", low=0, high=1),
    int_key("runtime.tf_inter_op_threads", "an integer"),
)


def instance_cores(profile: ProfileValues, facts: Facts) -> int | None:
    """Cores per instance for a multi-instance profile on this node: a NUMA node split evenly in range."""
    physical = fact(facts, "cpu.physical_cores")
    nodes = fact(facts, "numa.node_count") or 1
    if not physical:
        return None
    lo, hi = profile.get("runtime.cores_per_instance", [physical, physical])
    return pick_cores_per_instance(max(1, physical // nodes), lo, hi)


def runtime_env_wanted(profile: ProfileValues, facts: Facts) -> dict[str, str]:
    """The OpenMP/KMP/TF environment the profile implies for this node (OMP_NUM_THREADS from its cores)."""
    threads_rule = profile.get("runtime.omp_num_threads")
    if threads_rule == "physical_cores":
        threads = fact(facts, "cpu.physical_cores")
    elif threads_rule == "cores_per_instance":
        threads = instance_cores(profile, facts)
    else:
        threads = threads_rule
    env: dict[str, str] = {}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
        env["TF_NUM_INTRAOP_THREADS"] = str(threads)
    for var, key in ENV_FROM_PROFILE:
        if profile.get(key) is not None:
            env[var] = str(profile.get(key))
    return env


def _read_env(var: str) -> Any:
    def read(facts: Facts) -> str | None:
        env = fact(facts, "os.runtime_env")
        return None if env is None else env.get(var, "unset")

    return read


def _env_knob(var: str) -> Knob:
    return Knob(
        id=f"runtime.env.{var}", severity="medium", title=f"{var} in the runtime environment",
        facts=("os.runtime_env",), read=_read_env(var),
        wanted=lambda profile, facts: runtime_env_wanted(profile, facts).get(var), persist=PROFILE_D, key=var,
    )


def knobs(profile: ProfileValues) -> list[Knob]:
    if profile.get("runtime.omp_num_threads") is None:
        return []
    declared = [*COMPUTED_ENV, *(var for var, key in ENV_FROM_PROFILE if profile.get(key) is not None)]
    return [_env_knob(var) for var in declared]
