"""The framework stack catalogue (xeonfleet/frameworks/compat.yaml) and the controller-side check of a
profile's `frameworks:` block.

Everything here is pure: it runs on the controller before any host is touched, so an
impossible combination (intel-tensorflow on Python 3.12, IPEX with torch 2.9, INC 3 with
TF 2.20) fails at once, with a message naming a combination that works. It sits below the profile
loader (which checks a profile's block with it) and the frameworks deploy (which loads profiles),
which is why it is not in xeonfleet/frameworks/.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from xeonfleet.resources import packaged

CATALOGUE_PATH = packaged("frameworks/compat.yaml")
DEFAULT_ROOT = "/opt/xeonfleet/envs"
RECORD_NAME = "xeonfleet-env.json"
BACKENDS = ("venv", "conda")
CONDA_TOOLS = ("micromamba", "conda")
_ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PYTHON = re.compile(r"^3\.\d{1,2}$")
_VERSION = re.compile(r"^\d+(\.\d+){0,2}(\.\*)?$")
_ENV_KEYS = {"name", "backend", "python", "stacks", "conda_tool"}


@functools.lru_cache(maxsize=1)
def load_catalogue() -> dict[str, Any]:
    """The parsed compat.yaml `stacks:` mapping (read once per process)."""
    return yaml.safe_load(CATALOGUE_PATH.read_text())["stacks"]


@dataclass(frozen=True)
class StackSpec:
    """One stack of an env, resolved against the catalogue."""

    name: str
    variant: str
    release: str  # the catalogue release key, e.g. "2.8"
    pin: str  # the pip specifier every versioned package of the stack gets, e.g. "==2.8.*"

    def packages(self, kind: str = "pip") -> list[str]:
        """Requirements for pip (kind="pip") or package specs for conda (kind="conda"); pip also
        gets the release's `pip_also` fixes (conda's own metadata carries those bounds)."""
        variant = load_catalogue()[self.name]["variants"][self.variant]
        pin = self.pin if kind == "pip" else self.pin.lstrip("=")
        sep = "" if kind == "pip" else "="
        packages = [p.replace("{version}", sep + pin if "{version}" in p else "") for p in variant[kind]]
        if kind == "pip":
            packages += variant["releases"][self.release].get("pip_also") or []
        return packages

    def versioned_packages(self) -> list[str]:
        """The pip names whose installed version must match the pin (torch and IPEX, openvino...)."""
        variant = load_catalogue()[self.name]["variants"][self.variant]
        return [p.replace("{version}", "") for p in variant["pip"] if "{version}" in p]

    def size_mb(self) -> int:
        return int(load_catalogue()[self.name]["variants"][self.variant]["size_mb"])

    def as_record(self) -> dict[str, str]:
        return {"variant": self.variant, "release": self.release, "pin": self.pin}


@dataclass(frozen=True)
class EnvSpec:
    """One framework environment a node must have."""

    name: str
    backend: str
    python: str
    stacks: tuple[StackSpec, ...]
    conda_tool: str | None = None

    def path(self, root: str = DEFAULT_ROOT) -> str:
        return f"{root.rstrip('/')}/{self.name}"

    def pip_requirements(self) -> list[str]:
        return [req for stack in self.stacks for req in stack.packages("pip")]

    def conda_packages(self) -> list[str]:
        return [pkg for stack in self.stacks for pkg in stack.packages("conda")]

    def size_mb(self) -> int:
        """Free space the env needs: its stacks plus ~100 MiB for Python, pip and the venv."""
        return 100 + sum(stack.size_mb() for stack in self.stacks)

    def spec_hash(self) -> str:
        """Identity of what gets installed: an env whose record carries another hash is rebuilt."""
        body = {
            "backend": self.backend,
            "python": self.python,
            "stacks": {s.name: s.as_record() for s in self.stacks},
            "requirements": self.pip_requirements(),
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0]))


def python_in_range(python: str, spec: str) -> bool:
    """True when `python` ("3.11") satisfies a range like ">=3.9,<3.12"."""
    have = _version_tuple(python)
    ops = {">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
           ">": lambda a, b: a > b, "==": lambda a, b: a == b}
    for clause in spec.split(","):
        match = re.match(r"^\s*(>=|<=|==|<|>)\s*([\d.]+)\s*$", clause)
        if not match:
            raise ValueError(f"compat.yaml: bad python range {spec!r}")
        if not ops[match.group(1)](have, _version_tuple(match.group(2))):
            return False
    return True


def version_matches(installed: str, pin: str) -> bool:
    """True when an installed version ("2.8.0+cpu") satisfies a pin ("==2.8.*" or "==2.8.0")."""
    wanted = pin.removeprefix("==")
    have = installed.split("+")[0]
    if wanted.endswith(".*"):
        base = wanted[:-2]
        return have == base or have.startswith(base + ".")
    return _version_tuple(have) == _version_tuple(wanted)


def _pin_for(version: str) -> str:
    if version.endswith(".*"):
        return "==" + version
    return "==" + version + (".*" if version.count(".") < 2 else "")


def _release_for(version: str, releases: dict[str, Any]) -> str | None:
    base = version.removesuffix(".*")
    for key in sorted(releases, key=len, reverse=True):
        if base == key or base.startswith(key + "."):
            return key
    return None


def _working_choices(stack: str, python: str) -> list[str]:
    """Every (variant, release) of a stack that supports `python`, as profile snippets."""
    variants = load_catalogue()[stack]["variants"]
    return [
        f"{stack}: {{variant: {variant}, version: \"{release}\"}}"
        for variant, data in variants.items()
        for release, rel in data["releases"].items()
        if python_in_range(python, rel["python"])
    ]


def _pythons_for(rel: dict[str, Any]) -> str:
    ok = [f"3.{minor}" for minor in range(8, 15) if python_in_range(f"3.{minor}", rel["python"])]
    return f"python \"{ok[-1]}\"" if ok else "no Python we know"


def _parse_stack(env: str, stack: str, value: Any, python: str, where: str) -> StackSpec:
    catalogue = load_catalogue()
    if stack not in catalogue:
        raise ValueError(f"{where}: unknown stack {stack!r} in env {env!r}; known stacks: {', '.join(sorted(catalogue))}")
    entry = catalogue[stack]
    if isinstance(value, dict):
        extra = set(value) - {"variant", "version"}
        if extra:
            raise ValueError(f"{where}: stack {stack!r} in env {env!r} has unknown keys {sorted(extra)}; use variant and version")
        variant, version = value.get("variant", entry["default_variant"]), value.get("version")
    elif value is None or isinstance(value, (str, int, float)):
        variant, version = entry["default_variant"], value
    else:
        raise ValueError(f"{where}: stack {stack!r} in env {env!r} must be a version string or {{variant, version}}")
    if variant not in entry["variants"]:
        raise ValueError(f"{where}: stack {stack!r} has no variant {variant!r}; variants: {', '.join(entry['variants'])}")
    data = entry["variants"][variant]
    version = str(version) if version not in (None, "*") else data["default_release"]
    if not _VERSION.match(version):
        raise ValueError(f"{where}: stack {stack!r} in env {env!r}: bad version {version!r}; write e.g. \"2026.*\" or \"2.8\"")
    release = _release_for(version, data["releases"])
    if release is None:
        works = " or ".join(_working_choices(stack, python)[:3]) or "none for this Python"
        raise ValueError(
            f"{where}: {stack} variant {variant} has no release {version!r} (known: {', '.join(data['releases'])}); works: {works}"
        )
    rel = data["releases"][release]
    if not python_in_range(python, rel["python"]):
        works = " or ".join(_working_choices(stack, python)[:2])
        alt = f"{works}, or " if works else ""
        raise ValueError(
            f"{where}: {stack} {variant} {release} needs Python {rel['python']}, env {env!r} asks {python}; "
            f"works: {alt}{_pythons_for(rel)}"
        )
    return StackSpec(stack, variant, release, _pin_for(version))


def _check_pairs(env: str, stacks: dict[str, StackSpec], where: str) -> None:
    """Cross-stack validation: the variants' `needs:` and the releases' `with:` lists (TF <-> INC ...)."""
    catalogue = load_catalogue()
    for spec in stacks.values():
        variant = catalogue[spec.name]["variants"][spec.variant]
        for other in variant.get("needs") or []:
            if other not in stacks:
                raise ValueError(f"{where}: env {env!r}: {spec.name} variant {spec.variant} needs {other} in the "
                                 f"same env; add {other} to its stacks")
        rel = variant["releases"][spec.release]
        for other, allowed in (rel.get("with") or {}).items():
            if other in stacks and stacks[other].release not in allowed:
                raise ValueError(
                    f"{where}: env {env!r}: {spec.name} {spec.release} is validated with {other} "
                    f"{', '.join(allowed)}, not {stacks[other].release}; works: {other}: \"{allowed[-1]}\""
                )


def _parse_env(raw: Any, index: int, where: str) -> EnvSpec:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: frameworks.envs[{index}] must be a mapping with name, backend, python, stacks")
    name = str(raw.get("name", ""))
    if not _ENV_NAME.match(name):
        raise ValueError(f"{where}: frameworks.envs[{index}] needs a name of letters, digits, '_', '-', '.' (got {name!r})")
    extra = set(raw) - _ENV_KEYS
    if extra:
        raise ValueError(f"{where}: env {name!r} has unknown keys {sorted(extra)}; allowed: {', '.join(sorted(_ENV_KEYS))}")
    backend = raw.get("backend", "venv")
    if backend not in BACKENDS:
        raise ValueError(f"{where}: env {name!r}: backend {backend!r} is not one of {', '.join(BACKENDS)}")
    python = str(raw.get("python", "3.11"))
    if not _PYTHON.match(python):
        raise ValueError(f"{where}: env {name!r}: python must look like \"3.11\" (got {python!r})")
    conda_tool = raw.get("conda_tool")
    if conda_tool is not None and conda_tool not in CONDA_TOOLS:
        raise ValueError(f"{where}: env {name!r}: conda_tool {conda_tool!r} is not one of {', '.join(CONDA_TOOLS)}")
    stacks_raw = raw.get("stacks")
    if not isinstance(stacks_raw, dict) or not stacks_raw:
        raise ValueError(f"{where}: env {name!r} needs stacks: {{stack: version}}, e.g. {{openvino: \"2026.*\"}}")
    stacks = {stack: _parse_stack(name, stack, value, python, where) for stack, value in stacks_raw.items()}
    _check_pairs(name, stacks, where)
    return EnvSpec(name, backend, python, tuple(stacks.values()), conda_tool)


def validate_frameworks_spec(spec: dict, source: str) -> list[EnvSpec]:
    """Check a profile's `frameworks:` block; raise ValueError with one line naming the fix.

    + spec: the mapping under `frameworks:` ({"envs": [...]})
    + source: where it came from (a profile path or "host data"), quoted in every error
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("envs"), list):
        raise ValueError(f"{source}: frameworks must be a mapping with an `envs:` list")
    extra = set(spec) - {"envs"}
    if extra:
        raise ValueError(f"{source}: frameworks has unknown keys {sorted(extra)}; only `envs:` is allowed")
    envs = [_parse_env(raw, i, source) for i, raw in enumerate(spec["envs"])]
    names = [env.name for env in envs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"{source}: env names must be unique; {', '.join(dupes)} appears twice")
    return envs


def _check_env(env: EnvSpec, record: dict[str, Any] | None) -> list[str]:
    """What is wrong with one env's record compared with its spec (empty when it complies)."""
    if record is None:
        return [f"env {env.name}: missing (no {RECORD_NAME})"]
    if not record.get("ok"):
        return [f"env {env.name}: smoke test failed: {record.get('error', 'no detail')}"]
    problems = []
    if record.get("backend") != env.backend:
        problems.append(f"env {env.name}: backend {record.get('backend')}, profile wants {env.backend}")
    versions = record.get("versions") or {}
    for stack in env.stacks:
        have = (record.get("stacks") or {}).get(stack.name)
        if have is None:
            problems.append(f"env {env.name}: stack {stack.name} not installed")
            continue
        if have.get("variant") != stack.variant:
            problems.append(f"env {env.name}: {stack.name} variant {have.get('variant')}, profile wants {stack.variant}")
        for package in stack.versioned_packages():
            installed = versions.get(package)
            if installed is None or not version_matches(installed, stack.pin):
                problems.append(f"env {env.name}: {package} {installed or 'absent'}, profile wants {stack.pin}")
    return problems


def required_stacks_rule_input(envs_fact: list[dict[str, Any]] | None, spec: list[EnvSpec]) -> dict[str, Any]:
    """Compare the FrameworkEnvs fact with a validated spec for the audit rule
    "required stacks present at the profile's versions".

    Returns {"status": "pass"|"fail"|"unknown", "evidence": [str], "remedy": str}.
    """
    remedy = "pyinfra INVENTORY deploys/frameworks.py"
    if envs_fact is None:
        return {"status": "unknown", "evidence": ["frameworks.envs could not be read"], "remedy": remedy}
    records = {rec.get("name"): rec for rec in envs_fact}
    problems = [p for env in spec for p in _check_env(env, records.get(env.name))]
    if problems:
        return {"status": "fail", "evidence": problems, "remedy": remedy}
    evidence = [
        f"env {env.name}: " + ", ".join(f"{p} {records[env.name]['versions'].get(p)}"
                                        for s in env.stacks for p in s.versioned_packages())
        for env in spec
    ]
    return {"status": "pass", "evidence": evidence, "remedy": remedy}


SUPPORT_STATUSES = ("maintained", "fixes-only", "end-of-life")


def support_of(stack: str, variant: str) -> dict[str, str]:
    """The catalogue's support entry of a stack variant ({"status": "maintained"} ...)."""
    return load_catalogue()[stack]["variants"][variant]["support"]


def support_rule_input(envs_fact: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The stacks a node really runs (its env records) against their upstream support status, for
    the audit rule "no end-of-life AI stack": fail on end-of-life, name fixes-only in the evidence.

    Returns {"status": "pass"|"fail"|"unknown", "evidence": [str]}.
    """
    if envs_fact is None:
        return {"status": "unknown", "evidence": ["frameworks.envs could not be read"]}
    catalogue = load_catalogue()
    ended, lines = [], []
    for record in envs_fact:
        for stack, have in (record.get("stacks") or {}).items():
            variant = have.get("variant")
            if stack not in catalogue or variant not in catalogue[stack]["variants"]:
                continue  # a stack this catalogue no longer knows: frameworks.stacks reports it
            spec = StackSpec(stack, variant, have.get("release", ""), have.get("pin", ""))
            versions = ", ".join(f"{p} {(record.get('versions') or {}).get(p)}" for p in spec.versioned_packages())
            support = support_of(stack, variant)
            line = f"env {record.get('name')}: {stack} {variant} ({versions}): {support['status']}"
            if support["status"] != "maintained":
                line += f" since {support['since']}; successor: {support['successor']}; source: {support['source']}"
            (ended if support["status"] == "end-of-life" else lines).append(line)
    if ended:
        return {"status": "fail", "evidence": ended}
    if lines:
        return {"status": "pass", "evidence": lines}
    return {"status": "unknown", "evidence": ["no framework env on this node"]}
