"""Load and validate compliance/tuning profiles (profiles/NAME.yaml on the search path of xeonfleet/resources.py).

Profiles are data: what a node should look like. A child names its parent with `include:` and overrides
only what differs (like tuned's `include=`); mappings merge key by key, lists and scalars replace. Every
problem (bad YAML, unknown key, wrong type, include cycle, missing include) is a `ProfileError` naming the
file and line, raised before any host is contacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Callable, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import ErrorDetails

from xeonfleet.knobs import profile_schema
from xeonfleet.knobs.base import EntryError
from xeonfleet import resources
from xeonfleet.merge import deep_merge
from xeonfleet.yaml_lines import UNKNOWN_KEY, compose, find, yaml_error_line

PROFILES = "profiles"  # the resources kind: $XEONFLEET_PATH/profiles, ./profiles, then the packaged ones
DEFAULT_PROFILE = "xeon-ai-base"


class ProfileError(ValueError):
    """A profile cannot be used; the message is one line: file:line: what is wrong (and the fix)."""


def _wants(wording: str) -> Any:
    """A profile key: absent means the profile does not ask (the rule is skipped); an explicit null is an
    error. The description is the "must be ..." of the error and of the JSON schema."""
    return Field(None, description=wording)


class _Section(BaseModel):
    """One section of one profile file: every key optional (a child overrides only what differs)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class BiosSection(_Section):
    hyperthreading: bool = _wants("true or false")
    hwp_native: bool = _wants("true or false")


class CpuSection(_Section):
    intel_xeon: bool = _wants("true or false")
    isa_required: list[str] = _wants("a list of ISA names (avx512f, avx512_vnni, avx512_bf16, amx_tile ...)")
    min_fma_units: int = _wants("an integer")


SncMode = Literal["off", "SNC2", "SNC3", "SNC4", "SNC6"]


class NumaSection(_Section):
    # A bool (the guide's on/off), or the clustering modes accepted, where a generation's die layout makes
    # another mode the right one (Xeon 6 6900P: SNC3, one NUMA node per compute die).
    snc: bool | list[SncMode] = _wants("true, false or a list of modes (off, SNC2, SNC3, SNC4, SNC6)")
    cxl_off_default_path: bool = _wants("true or false (CXL memory kept off the default allocation path)")


class MemorySection(_Section):
    all_channels_populated: bool = _wants("true or false")
    matched_dimms: bool = _wants("true or false")
    rated_speed: bool = _wants("true or false")
    balanced_dimms_per_channel: bool = _wants("true or false")
    balanced_sockets: bool = _wants("true or false")


class PowerSection(_Section):
    driver: str = _wants("a cpufreq driver name such as intel_pstate")


class DevicesSection(_Section):
    pcie_full_link: bool = _wants("true or false (NICs and NVMe drives at their maximum PCIe link)")


class FleetSection(_Section):
    homogeneous: list[str] = _wants("a list of fact groups (bios.version, cpu.microcode, os.kernel ...)")


def _allowed(valid: Callable[[Any], bool], wording: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not valid(value):
            raise ValueError(f"must be {wording}")
        return value

    return check


def _with_knob_keys(base: type[_Section], section: str) -> type[_Section]:
    """`base` plus the keys of `section` the knob areas declare (xeonfleet/knobs/), each checked by its
    declaration: a knob states its key and allowed values once, where it is set."""
    fields: dict[str, Any] = {
        name: (Annotated[Any, AfterValidator(_allowed(valid, wording))], _wants(wording))
        for name, (valid, wording) in profile_schema(section).items()
    }
    return create_model(section.capitalize(), __base__=base, **fields)


SECTIONS: dict[str, type[_Section]] = {
    "bios": BiosSection,
    "cpu": CpuSection,
    "numa": _with_knob_keys(NumaSection, "numa"),
    "memory": MemorySection,
    "power": _with_knob_keys(PowerSection, "power"),
    "os": _with_knob_keys(_Section, "os"),
    "runtime": _with_knob_keys(_Section, "runtime"),
    "devices": DevicesSection,
    "fleet": FleetSection,
}


class _TopLevel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    include: str = _wants("a profile name")
    description: str = _wants("a string")
    frameworks: dict[str, Any] = _wants("a mapping with an `envs:` list")  # checked by xeonfleet/stacks.py


# One profile YAML file as written, before its include chain is merged.
ProfileFile = create_model("ProfileFile", __base__=_TopLevel,
                           **{name: (model, _wants("a mapping")) for name, model in SECTIONS.items()})


@dataclass(frozen=True)
class Profile:
    """A resolved profile: the merged data of the include chain, child last."""

    name: str
    data: dict[str, Any]
    chain: tuple[str, ...] = field(default=())

    def get(self, dotted: str, default: Any = None) -> Any:
        """Value at `section.key`, or default when the profile does not set it (the rule is then skipped).

        A key the profile model does not declare is a KeyError: a typo in the code would otherwise read
        as "not asked" and the rule would silently never run."""
        section, _, key = dotted.partition(".")
        model = SECTIONS.get(section)
        declared = section in ProfileFile.model_fields and (model is None or key.split(".")[0] in model.model_fields)
        if not declared:
            raise KeyError(f"`{dotted}` is not a profile key (see xeonfleet/profiles.py SECTIONS)")
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node


def profile_path(name_or_path: str) -> Path:
    """Where a profile lives: an explicit .yaml path, or the first profiles/NAME.yaml on the search path."""
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        return Path(name_or_path)
    return resources.locate(PROFILES, name_or_path)


def list_profiles() -> list[str]:
    return resources.names(PROFILES)


def _where(path: Path, node: yaml.Node | None) -> str:
    line = node.start_mark.line + 1 if node is not None else 1
    return f"{path}:{line}"


def _bad_entry(error: ErrorDetails) -> EntryError | None:
    """The entry of a mapping value its knob's check blamed (os.sysctl's vm.swappiness), if it named one."""
    raised = error.get("ctx", {}).get("error")
    return raised if isinstance(raised, EntryError) else None


def _error_line(root: yaml.Node, error: ErrorDetails) -> int:
    """The line to blame: an unknown key's own line, else the value's (of its section.key, or of the entry
    its check blamed)."""
    entry = _bad_entry(error)
    loc = (*error["loc"][:2], entry.entry) if entry else error["loc"][:2]
    return find(root, loc, key=error["type"] in UNKNOWN_KEY)[0]


def _message(error: ErrorDetails, data: Any) -> str:
    """The one-line wording of a pydantic error on a profile file, as the hand-written checks said it."""
    loc = [str(part) for part in error["loc"][:2]]
    if entry := _bad_entry(error):
        got = data[loc[0]][loc[1]][entry.entry]
        return f"`{'.'.join(loc)}.{entry.entry}` must be {entry.wording}, got {got!r}"
    if not loc:
        return "a profile must be a mapping of sections (bios, power, os ...)"
    if error["type"] in UNKNOWN_KEY and len(loc) == 1:
        return f"unknown section `{loc[0]}` (known: {', '.join(sorted(ProfileFile.model_fields))})"
    section = SECTIONS.get(loc[0])
    if section is not None and len(loc) == 1:
        return f"section `{loc[0]}` must be a mapping"
    if error["type"] in UNKNOWN_KEY:
        return f"unknown key `{'.'.join(loc)}` (known: {', '.join(sorted(section.model_fields))})"
    if section is None:
        return f"`{loc[0]}` must be {ProfileFile.model_fields[loc[0]].description}"
    return f"`{'.'.join(loc)}` must be {section.model_fields[loc[1]].description}, got {data[loc[0]][loc[1]]!r}"


def _validate(path: Path, root: yaml.Node, data: Any) -> None:
    """Check one file against ProfileFile; the first problem in the file (by line) is the error."""
    try:
        ProfileFile.model_validate(data)
    except ValidationError as exc:
        error = min(exc.errors(), key=lambda e: _error_line(root, e))
        raise ProfileError(f"{path}:{_error_line(root, error)}: {_message(error, data)}") from None
    if "frameworks" in data:
        _validate_frameworks(path, next(v for k, v in root.value if k.value == "frameworks"), data["frameworks"])


def _validate_frameworks(path: Path, node: yaml.Node, spec: dict[str, Any]) -> None:
    """The framework-stack spec is validated by its own module, which knows the compatibility matrix."""
    from xeonfleet.stacks import validate_frameworks_spec

    try:
        validate_frameworks_spec(spec, source=_where(path, node))
    except ValueError as exc:
        raise ProfileError(str(exc)) from exc


def _read(path: Path) -> tuple[yaml.Node, dict[str, Any]]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile (known: {', '.join(list_profiles())})") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read profile: {exc.strerror}") from exc
    try:
        root = compose(text)
    except yaml.MarkedYAMLError as exc:
        raise ProfileError(f"{path}:{yaml_error_line(exc)}: invalid YAML: {exc.problem or exc.context}") from exc
    if root is None:
        raise ProfileError(f"{path}:1: empty profile; add at least `include: {DEFAULT_PROFILE}`")
    data = yaml.safe_load(text)
    _validate(path, root, data)
    return root, data


def load_profile(name_or_path: str) -> Profile:
    """Resolve a profile and its include chain; raises ProfileError (one line) on any defect."""
    chain: list[Path] = []
    layers: list[dict[str, Any]] = []
    path = profile_path(name_or_path)
    include_node: yaml.Node | None = None
    while True:
        resolved = path.resolve()
        if resolved in chain:
            cycle = " -> ".join(p.stem for p in [*chain, resolved])
            raise ProfileError(f"{_where(chain[-1], include_node)}: include cycle {cycle}; remove one include")
        if not path.exists() and chain:
            raise ProfileError(
                f"{_where(chain[-1], include_node)}: included profile `{path.stem}` not found "
                f"(known: {', '.join(list_profiles())})"
            )
        root, data = _read(path)
        chain.append(resolved)
        layers.append(data)
        parent = data.get("include")
        if not parent:
            break
        include_node = next(v for k, v in root.value if k.value == "include")
        if "/" in parent:
            path = profile_path(parent)
        else:  # a sibling file first, else the search path (a site profile may include xeon-ai-base)
            sibling = path.parent / f"{parent}.yaml"
            path = sibling if sibling.exists() else resources.locate(PROFILES, parent)
    merged: dict[str, Any] = {}
    for layer in reversed(layers):
        merged = deep_merge(merged, {k: v for k, v in layer.items() if k != "include"})
    return Profile(name=Path(name_or_path).stem, data=merged, chain=tuple(p.stem for p in chain))
