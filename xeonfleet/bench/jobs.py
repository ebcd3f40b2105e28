"""Benchmark job specs: one YAML per job in benchmarks/, validated before any host is touched.

Jobs come from every benchmarks/ directory of the search path (xeonfleet/resources.py): a user's
$XEONFLEET_PATH/benchmarks or ./benchmarks first, then the shipped xeonfleet/data/benchmarks; a job
shadows a later one of the same name. A spec names its runner script (its own directory's runners/
first, so a user job may reuse a shipped runner), the stack it needs, its parameters (with
`light:` overrides for the quick set), warm-up and repeats, how to pin it and the metrics it emits
with their direction, which is what regression detection reads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo
from pydantic import with_config
from pydantic_core import ErrorDetails
from typing_extensions import NotRequired, TypedDict  # pydantic needs typing_extensions' TypedDict before 3.12

from xeonfleet import resources
from xeonfleet.yaml_lines import UNKNOWN_KEY, compose, find, yaml_error_line

BENCHMARKS = "benchmarks"  # the resources kind
JOBS_DIR = resources.packaged("data/benchmarks")  # the shipped jobs (data)
RUNNERS_DIR = resources.packaged("node/runners")  # their runners: code, in the node wing
Pinning = Literal["single", "per-numa-node", "per-core"]
Direction = Literal["higher", "lower", "none"]  # none: informational, never a regression
PINNINGS: tuple[str, ...] = get_args(Pinning)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
LIGHT = "light"
ALL = "all"


class JobError(ValueError):
    """A job spec or selection is wrong; one line naming the file (and line) or name and the fix."""


def _scalar_text(value: Any) -> Any:
    """A YAML number where text is meant (`name: 7`) is its text, as the spec's names always were."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_scalar_text)]
STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)


class Metric(BaseModel):
    model_config = STRICT

    name: str
    unit: str
    better: Direction


@with_config(STRICT)
class Instances(TypedDict):
    """`pinning: {cores_per_instance: C, instances: N}`: N instances of C cores (no N: as many as fit).
    A plain dict, as the runner gets it in --params."""

    cores_per_instance: Annotated[int, Field(ge=1)]
    instances: NotRequired[Annotated[int, Field(ge=1)] | None]


def _named_metrics(metrics: Any) -> Any:
    """`{name: {unit, better}}` as written -> Metric items, in file order."""
    if not isinstance(metrics, dict):
        return metrics
    return tuple({"name": str(name), **body} if isinstance(body, dict) else body for name, body in metrics.items())


def _in_runners_dir(runner: str, info: ValidationInfo) -> str:
    if "/" in runner or not (info.context["runners_dir"] / runner).is_file():
        raise ValueError("not a runner file")
    return runner


def _none_is_empty(value: Any) -> Any:
    return {} if value is None else value


class JobSpec(BaseModel):
    """One validated job; the fields are the spec's keys."""

    model_config = STRICT

    name: Text
    stack: Text
    runner: Annotated[str, AfterValidator(_in_runners_dir)]  # a file of the spec's runners/ (parse_job's context)
    pinning: Pinning | Instances
    metrics: Annotated[tuple[Metric, ...], BeforeValidator(_named_metrics), Field(min_length=1)]
    description: Text = ""
    parameters: Annotated[dict[str, Any], BeforeValidator(_none_is_empty)] = Field(default_factory=dict)
    light: dict[str, Any] | None = None
    warmup: int = Field(1, ge=0)
    repeats: int = Field(3, ge=1)
    timeout_s: int = Field(600, ge=1)

    def params(self, light: bool = False) -> dict[str, Any]:
        """What the runner gets as --params: parameters (+ light overrides), warm-up, repeats, pinning."""
        merged = {"warmup": self.warmup, "repeats": self.repeats, **self.parameters}
        if light and self.light:
            merged.update(self.light)
        merged.update(job=self.name, stack=self.stack, pinning=self.pinning)
        return merged

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)


REQUIRED = tuple(name for name, info in JobSpec.model_fields.items() if info.is_required())
OPTIONAL = tuple(name for name, info in JobSpec.model_fields.items() if not info.is_required())


def _problem(errors: list[ErrorDetails], data: dict[str, Any], runners_dir: Path) -> tuple[tuple[Any, ...], str]:
    """(YAML location, wording) of the spec's first problem."""
    missing = [str(e["loc"][0]) for e in errors if e["type"] == "missing" and len(e["loc"]) == 1]
    if missing:
        return (), f"missing key(s) {', '.join(missing)}"
    unknown = [str(e["loc"][0]) for e in errors if e["type"] in UNKNOWN_KEY and len(e["loc"]) == 1]
    if unknown:
        return (unknown[0],), f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(REQUIRED + OPTIONAL)}"
    loc = errors[0]["loc"]
    key = str(loc[0])
    value = data[key]
    if key == "runner":
        return (key,), f"runner {value!r} is not a file in {runners_dir}; add the script there"
    if key == "pinning":
        return (key,), (f"pinning {value!r} must be one of {', '.join(PINNINGS)} "
                        "or {cores_per_instance: C, instances: N} with positive integers")
    if key == "metrics" and len(loc) > 1:
        name = list(value)[loc[1]]
        return (key, name), f"metric {name!r} needs unit: TEXT and better: one of {', '.join(DIRECTIONS)}"
    if key == "metrics":
        return (key,), "metrics must map each metric name to {unit: U, better: higher|lower|none}"
    if key in ("parameters", "light"):
        return (key,), f"{key} must be a mapping of parameter names to values"
    if key in ("warmup", "repeats", "timeout_s"):
        minimum = JobSpec.model_fields[key].metadata[0].ge
        return (key,), f"{key} must be an integer >= {minimum} (got {value!r})"
    return (key,), f"{key} must be text (got {value!r})"


def parse_job(data: Any, where: str, runners_dir: Path = RUNNERS_DIR, root: yaml.Node | None = None) -> JobSpec:
    """Validate one parsed YAML document; `where` names the file in every error, and with the file's node
    tree (`root`) the line too."""
    if not isinstance(data, dict):
        raise JobError(f"{where}: a job spec must be a mapping with keys {', '.join(REQUIRED)}")
    try:
        return JobSpec.model_validate(data, context={"runners_dir": runners_dir})
    except ValidationError as exc:
        loc, problem = _problem(exc.errors(), data, runners_dir)
        line = f":{find(root, loc, key=True)[0]}" if root is not None else ""
        raise JobError(f"{where}{line}: {problem}") from None


def _runners_of(jobs_dir: Path) -> Path:
    """Where a benchmarks/ directory's runners are: its runners/, or the node wing's for the shipped jobs."""
    return RUNNERS_DIR if jobs_dir == JOBS_DIR else jobs_dir / "runners"


def runner_dirs() -> list[Path]:
    """The runners of every benchmarks/ directory on the search path, in lookup order."""
    return [_runners_of(d) for d in resources.search_dirs(BENCHMARKS) if _runners_of(d).is_dir()]


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
            text = path.read_text()
            try:
                root, data = compose(text), yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise JobError(f"{path}:{yaml_error_line(exc)}: not valid YAML ({str(exc).splitlines()[0]})") from exc
            job = parse_job(data, str(path), _runners_dir(data, _runners_of(directory)), root)
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
