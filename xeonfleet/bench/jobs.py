"""Benchmark job specs: one YAML per job in benchmarks/, validated before any host is touched.

Jobs come from every benchmarks/ directory of the search path (xeonfleet/resources.py): a user's
$XEONFLEET_PATH/benchmarks or ./benchmarks first, then the shipped xeonfleet/data/benchmarks; a job
shadows a later one of the same name. A spec names its runner script (its own directory's runners/
first, so a user job may reuse a shipped runner), the stack it needs, its parameters (with
`light:` overrides for the quick set), warm-up and repeats, how to pin it and the metrics it emits
with their direction, which is what regression detection reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from xeonfleet import resources

REPO_DIR = Path(__file__).resolve().parents[2]
BENCHMARKS = "benchmarks"  # the resources kind
JOBS_DIR = resources.packaged("data/benchmarks")  # the shipped jobs and runners
RUNNERS_DIR = JOBS_DIR / "runners"
PINNINGS = ("single", "per-numa-node", "per-core")
DIRECTIONS = ("higher", "lower", "none")
REQUIRED = ("name", "stack", "runner", "pinning", "metrics")
OPTIONAL = ("description", "parameters", "light", "warmup", "repeats", "timeout_s")
LIGHT = "light"
ALL = "all"


class JobError(ValueError):
    """A job spec or selection is wrong; one line naming the file or name and the fix."""


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    better: str  # higher | lower | none (informational: never a regression)


@dataclass(frozen=True)
class JobSpec:
    """One validated job."""

    name: str
    stack: str
    runner: str
    pinning: Any
    metrics: tuple[Metric, ...]
    parameters: dict[str, Any]
    light: dict[str, Any] | None
    warmup: int
    repeats: int
    timeout_s: int
    description: str = ""

    def params(self, light: bool = False) -> dict[str, Any]:
        """What the runner gets as --params: parameters (+ light overrides), warm-up, repeats, pinning."""
        merged = {"warmup": self.warmup, "repeats": self.repeats, **self.parameters}
        if light and self.light:
            merged.update(self.light)
        merged.update(job=self.name, stack=self.stack, pinning=self.pinning)
        return merged

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)


def _check_pinning(pinning: Any, where: str) -> Any:
    if isinstance(pinning, str) and pinning in PINNINGS:
        return pinning
    if isinstance(pinning, dict) and set(pinning) <= {"instances", "cores_per_instance"}:
        per, count = pinning.get("cores_per_instance"), pinning.get("instances")
        if isinstance(per, int) and per >= 1 and (count is None or (isinstance(count, int) and count >= 1)):
            return dict(pinning)
    raise JobError(f"{where}: pinning {pinning!r} must be one of {', '.join(PINNINGS)} "
                   "or {cores_per_instance: C, instances: N} with positive integers")


def _check_metrics(metrics: Any, where: str) -> tuple[Metric, ...]:
    if not isinstance(metrics, dict) or not metrics:
        raise JobError(f"{where}: metrics must map each metric name to {{unit: U, better: higher|lower|none}}")
    out = []
    for name, body in metrics.items():
        if not isinstance(body, dict) or not isinstance(body.get("unit"), str) or body.get("better") not in DIRECTIONS:
            raise JobError(f"{where}: metric {name!r} needs unit: TEXT and better: one of {', '.join(DIRECTIONS)}")
        out.append(Metric(str(name), body["unit"], body["better"]))
    return tuple(out)


def _positive_int(data: dict, key: str, default: int, where: str, minimum: int = 0) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise JobError(f"{where}: {key} must be an integer >= {minimum} (got {value!r})")
    return value


def parse_job(data: Any, where: str, runners_dir: Path = RUNNERS_DIR) -> JobSpec:
    """Validate one parsed YAML document; `where` names the file in every error."""
    if not isinstance(data, dict):
        raise JobError(f"{where}: a job spec must be a mapping with keys {', '.join(REQUIRED)}")
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise JobError(f"{where}: missing key(s) {', '.join(missing)}")
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise JobError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(REQUIRED + OPTIONAL)}")
    runner = data["runner"]
    if not isinstance(runner, str) or "/" in runner or not (runners_dir / runner).is_file():
        raise JobError(f"{where}: runner {runner!r} is not a file in {runners_dir}; add the script there")
    for key in ("parameters", "light"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise JobError(f"{where}: {key} must be a mapping of parameter names to values")
    return JobSpec(
        name=str(data["name"]),
        stack=str(data["stack"]),
        runner=runner,
        pinning=_check_pinning(data["pinning"], where),
        metrics=_check_metrics(data["metrics"], where),
        parameters=dict(data.get("parameters") or {}),
        light=dict(data["light"]) if data.get("light") is not None else None,
        warmup=_positive_int(data, "warmup", 1, where),
        repeats=_positive_int(data, "repeats", 3, where, minimum=1),
        timeout_s=_positive_int(data, "timeout_s", 600, where, minimum=1),
        description=str(data.get("description", "")),
    )


def runner_dirs() -> list[Path]:
    """The runners/ of every benchmarks/ directory on the search path, in lookup order."""
    return [d / "runners" for d in resources.search_dirs(BENCHMARKS) if (d / "runners").is_dir()]


def _runners_dir(data: Any, own: Path) -> Path:
    """The runners/ that holds the spec's runner: its own, else the first of the search path that has it (a
    user job may run a shipped runner with other parameters); its own when none does, for the error."""
    runner = data.get("runner") if isinstance(data, dict) else None
    if isinstance(runner, str) and "/" not in runner:
        return next((d for d in (own, *runner_dirs()) if (d / runner).is_file()), own)
    return own


def load_jobs(jobs_dir: Path | None = None) -> dict[str, JobSpec]:
    """Every benchmarks/*.yaml of the search path (or of `jobs_dir` only), by name; a name used twice in
    one directory is an error, a name an earlier directory has is shadowed."""
    jobs: dict[str, JobSpec] = {}
    dirs = [jobs_dir] if jobs_dir is not None else resources.search_dirs(BENCHMARKS)
    for directory in dirs:
        mine: set[str] = set()
        for path in sorted(directory.glob("*.yaml")):
            try:
                data = yaml.safe_load(path.read_text())
            except yaml.YAMLError as exc:
                raise JobError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
            job = parse_job(data, str(path), _runners_dir(data, directory / "runners"))
            if job.name in mine:
                raise JobError(f"{path}: job name {job.name!r} is already used by another spec; rename one")
            mine.add(job.name)
            jobs.setdefault(job.name, job)
    if not jobs:
        raise JobError(f"no job specs (*.yaml) in {', '.join(map(str, dirs))}")
    return jobs


def select_jobs(jobs: dict[str, JobSpec], selection: str) -> tuple[list[JobSpec], bool]:
    """`light` (jobs with light overrides, at light sizes), `all`, or comma-separated names
    (full sizes). Returns the jobs in selection order and whether light sizes apply."""
    if selection == LIGHT:
        return [job for job in jobs.values() if job.light is not None], True
    if selection == ALL:
        return list(jobs.values()), False
    names = [name.strip() for name in selection.split(",") if name.strip()]
    unknown = [name for name in names if name not in jobs]
    if unknown or not names:
        raise JobError(f"unknown job(s) {', '.join(unknown) or repr(selection)}; choose light, all or "
                       f"names from: {', '.join(sorted(jobs))}")
    return [jobs[name] for name in names], False
