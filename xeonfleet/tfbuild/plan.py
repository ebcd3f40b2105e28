"""What to build and how: settings from host data, build-host choice, sizing, the configure
environment, the bazel command line and the cache key. Pure functions, so every decision is
unit-tested without a host."""

import hashlib
import json
import posixpath
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GIB = 1024**3
MIB = 1024**2

BUILDER_GROUP = "tf_builders"
# The wheel targets: TensorFlow <= 2.16 builds build_pip_package (then runs it), newer
# releases have a `wheel` rule that writes bazel-bin/.../wheel_house/*.whl.
PIP_TARGETS = {
    "build_pip_package": "//tensorflow/tools/pip_package:build_pip_package",
    "wheel": "//tensorflow/tools/pip_package:wheel",
}
# The questions ./configure asks that must be answered "no" for a CPU-only oneDNN build.
TF_NEED_ZERO = ("TF_NEED_ROCM", "TF_NEED_CUDA", "TF_NEED_TENSORRT", "TF_NEED_CLANG",
                "TF_NEED_MPI", "TF_SET_ANDROID_WORKSPACE")


class BuildInputError(ValueError):
    """A setting or a host resource that makes the build impossible; the message says the fix."""


@dataclass(frozen=True)
class BuildSettings:
    """The tf_* host data of the build, with defaults for everything but the source."""

    source_repo: str
    source_ref: str
    build_dir: str = "/var/cache/xeonfleet/tf_build"
    log_path: str = "/var/log/xeonfleet/tf_build.log"
    python_bin: str = "/usr/bin/python3"
    bazel_config: str = "mkl_threadpool"
    extra_copts: tuple[str, ...] = ("-O3",)
    jobs: int | None = None          # None: derived from cores and RAM
    ram_per_job_gb: float = 2.0      # peak RSS of one TensorFlow C++ compile action
    ram_reserve_gb: float = 2.0      # left to the OS, the Bazel server and the page cache
    min_free_disk_gb: float = 60.0   # sources, output base, disk cache and the wheel

    @property
    def source_dir(self) -> str:
        return posixpath.join(self.build_dir, "src")

    @property
    def output_user_root(self) -> str:
        return posixpath.join(self.build_dir, "bazel_root")

    @property
    def disk_cache(self) -> str:
        return posixpath.join(self.build_dir, "disk_cache")

    def wheel_dir(self, key: str) -> str:
        """Where the wheel and metadata.json of one cache key live on the build host."""
        return posixpath.join(self.build_dir, "wheels", key)


def settings_from_data(data: Any) -> BuildSettings:
    """Read BuildSettings from pyinfra host data (anything with .get), checking required keys."""
    repo = data.get("tf_source_repo")
    ref = data.get("tf_source_ref")
    if not repo or not ref:
        raise BuildInputError(
            "tf_source_repo and tf_source_ref are not set: add them to the inventory's host or "
            "group data (e.g. tf_source_repo='https://github.com/tensorflow/tensorflow', "
            "tf_source_ref='r2.15')"
        )
    defaults = BuildSettings(repo, ref)
    jobs = data.get("tf_build_jobs")
    return BuildSettings(
        source_repo=repo,
        source_ref=ref,
        build_dir=data.get("tf_build_dir") or defaults.build_dir,
        log_path=data.get("tf_build_log") or defaults.log_path,
        python_bin=data.get("tf_python") or defaults.python_bin,
        jobs=int(jobs) if jobs else None,
        ram_per_job_gb=float(data.get("tf_ram_per_job_gb") or defaults.ram_per_job_gb),
        ram_reserve_gb=float(data.get("tf_ram_reserve_gb") or defaults.ram_reserve_gb),
        min_free_disk_gb=float(
            data.get("tf_min_free_disk_gb") or defaults.min_free_disk_gb
        ),
    )


def choose_builder(
    group_members: Sequence[str], facts_by_host: Mapping[str, Mapping[str, Any]]
) -> str:
    """The first `tf_builders` member, else the host with most physical cores x memory.

    Ties go to the first name in sort order, so every host computes the same choice.
    """
    if group_members:
        return group_members[0]
    if not facts_by_host:
        raise BuildInputError("no hosts to build on: the inventory is empty")

    def capacity(name: str) -> tuple[int, str]:
        facts = facts_by_host[name]
        cores = (facts.get("cpu") or {}).get("physical_cores") or 0
        memory = (facts.get("memory") or {}).get("total_bytes") or 0
        return (-(cores * memory), name)

    return min(facts_by_host, key=capacity)


@dataclass(frozen=True)
class Sizing:
    """Bazel's --jobs and --local_ram_resources (MB) for one build host."""

    jobs: int
    ram_mb: int


def size_build(settings: BuildSettings, logical_cpus: int, mem_total: int,
               mem_available: int) -> Sizing:
    """Jobs bounded by CPUs and by RAM, so peak compile RSS fits in memory and nothing swaps."""
    usable = min(mem_total - int(settings.ram_reserve_gb * GIB), mem_available)
    per_job = int(settings.ram_per_job_gb * GIB)
    fit = usable // per_job if usable > 0 else 0
    if settings.jobs is not None:
        if settings.jobs > fit:
            raise BuildInputError(
                f"not enough RAM for tf_build_jobs={settings.jobs}: it needs "
                f"{settings.jobs * settings.ram_per_job_gb:.1f} GiB "
                f"({settings.ram_per_job_gb:g} GiB per job) but only {usable / GIB:.1f} GiB is "
                f"usable; lower tf_build_jobs to {max(fit, 1)} or build on a bigger host"
            )
        jobs = settings.jobs
    else:
        jobs = min(max(logical_cpus, 1), fit)
        if jobs < 1:
            raise BuildInputError(
                f"not enough RAM to build: {usable / GIB:.1f} GiB usable, one job needs "
                f"{settings.ram_per_job_gb:g} GiB; free memory or lower tf_ram_per_job_gb"
            )
    return Sizing(jobs=jobs, ram_mb=max(usable // MIB, 1))


def check_disk(settings: BuildSettings, free_bytes: int) -> None:
    """Refuse to start a build that would fill the disk hours in."""
    if free_bytes < settings.min_free_disk_gb * GIB:
        raise BuildInputError(
            f"not enough disk for the build at {settings.build_dir}: {free_bytes / GIB:.1f} GiB "
            f"free, tf_min_free_disk_gb={settings.min_free_disk_gb:g}; free space or set "
            "tf_build_dir to a bigger filesystem"
        )


def configure_env(settings: BuildSettings, march: str) -> dict[str, str]:
    """The environment that makes TensorFlow's ./configure non-interactive (PYTHON_LIB_PATH is
    resolved on the build host from PYTHON_BIN_PATH, which only that host can answer)."""
    env = {name: "0" for name in TF_NEED_ZERO}
    env.update(PYTHON_BIN_PATH=settings.python_bin, CC_OPT_FLAGS=f"-march={march}")
    return env


def build_flags(settings: BuildSettings, march: str) -> list[str]:
    """The flags that decide what the wheel contains (and so belong in the cache key).

    -march goes on the command line too: ./configure writes CC_OPT_FLAGS only under build:opt,
    which `-c opt` alone does not select.
    """
    copts = [*settings.extra_copts, f"-march={march}"]
    return [f"--config={settings.bazel_config}", "-c", "opt", *[f"--copt={c}" for c in copts]]


def bazel_args(settings: BuildSettings, march: str, sizing: Sizing) -> list[str]:
    """Bazel's arguments between the binary and the target (both picked on the build host:
    the binary from .bazelversion, the target from the checked-out BUILD file)."""
    return [
        f"--output_user_root={settings.output_user_root}",
        "build",
        *build_flags(settings, march),
        f"--jobs={sizing.jobs}",
        f"--local_ram_resources={sizing.ram_mb}",
        f"--disk_cache={settings.disk_cache}",
    ]


def command_line(argv: Sequence[str]) -> str:
    """One shell-safe line for an argv list."""
    return " ".join(shlex.quote(arg) for arg in argv)


def cache_key(commit: str, settings: BuildSettings, march: str) -> str:
    """Same source commit and same output-affecting flags -> same key -> no rebuild."""
    payload = json.dumps(
        {"commit": commit, "flags": build_flags(settings, march), "python": settings.python_bin},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
