"""Load and validate compliance/tuning profiles (profiles/*.yaml).

Profiles are data: what a node should look like. A child names its parent with `include:` and overrides
only what differs (like tuned's `include=`); mappings merge key by key, lists and scalars replace. Every
problem (bad YAML, unknown key, wrong type, include cycle, missing include) is a `ProfileError` naming the
file and line, raised before any host is contacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from xeonfleet.knobs import profile_schema
from xeonfleet.merge import deep_merge

PROFILES_DIR = Path(__file__).resolve().parents[1] / "profiles"
DEFAULT_PROFILE = "xeon-ai-base"


class ProfileError(ValueError):
    """A profile cannot be used; the message is one line: file:line: what is wrong (and the fix)."""


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_int_or_str(value: Any) -> bool:
    return _is_int(value) or _is_str(value)


def _is_mapping(value: Any) -> bool:
    return isinstance(value, dict)


# Every key a profile may hold, with its type check and the wording used in errors.
Check = tuple[Callable[[Any], bool], str]
SCHEMA: dict[str, dict[str, Check]] = {
    "bios": {
        "hyperthreading": (_is_bool, "true or false"),
        "hwp_native": (_is_bool, "true or false"),
    },
    "cpu": {
        "intel_xeon": (_is_bool, "true or false"),
        "isa_required": (_is_str_list, "a list of ISA names (avx512f, avx512_vnni, avx512_bf16, amx_tile ...)"),
        "min_fma_units": (_is_int, "an integer"),
    },
    "numa": {
        "snc": (_is_bool, "true or false"),
        **profile_schema("numa"),
    },
    "memory": {
        "all_channels_populated": (_is_bool, "true or false"),
        "matched_dimms": (_is_bool, "true or false"),
        "rated_speed": (_is_bool, "true or false"),
        "balanced_dimms_per_channel": (_is_bool, "true or false"),
        "balanced_sockets": (_is_bool, "true or false"),
    },
    # The knob sections' keys come from the knob declarations (xeonfleet/knobs/), where each is set.
    "power": {
        "driver": (_is_str, "a cpufreq driver name such as intel_pstate"),
        **profile_schema("power"),
    },
    "os": profile_schema("os"),
    "runtime": profile_schema("runtime"),
    "devices": {
        "pcie_full_link": (_is_bool, "true or false (NICs and NVMe drives at their maximum PCIe link)"),
    },
    "fleet": {
        "homogeneous": (_is_str_list, "a list of fact groups (bios.version, cpu.microcode, os.kernel ...)"),
    },
}
TOP_LEVEL: dict[str, Check] = {
    "include": (_is_str, "a profile name"),
    "description": (_is_str, "a string"),
    "frameworks": (_is_mapping, "a mapping with an `envs:` list"),
}


@dataclass(frozen=True)
class Profile:
    """A resolved profile: the merged data of the include chain, child last."""

    name: str
    data: dict[str, Any]
    chain: tuple[str, ...] = field(default=())

    def get(self, dotted: str, default: Any = None) -> Any:
        """Value at `section.key`, or default when the profile does not set it (the rule is then skipped)."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node


def profile_path(name_or_path: str) -> Path:
    """Where a profile lives: an explicit .yaml path, or profiles/NAME.yaml."""
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        return Path(name_or_path)
    return PROFILES_DIR / f"{name_or_path}.yaml"


def list_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def _where(path: Path, node: yaml.Node | None) -> str:
    line = node.start_mark.line + 1 if node is not None else 1
    return f"{path}:{line}"


def _validate(path: Path, root: yaml.Node) -> None:
    """Check keys and types against SCHEMA, reporting the line of the offending node."""
    if not isinstance(root, yaml.MappingNode):
        raise ProfileError(f"{_where(path, root)}: a profile must be a mapping of sections (bios, power, os ...)")
    data = yaml.safe_load(yaml.serialize(root))
    for key_node, value_node in root.value:
        key = key_node.value
        if key in TOP_LEVEL:
            check, wanted = TOP_LEVEL[key]
            if not check(data[key]):
                raise ProfileError(f"{_where(path, value_node)}: `{key}` must be {wanted}")
            if key == "frameworks":
                _validate_frameworks(path, value_node, data[key])
            continue
        if key not in SCHEMA:
            known = ", ".join(sorted([*SCHEMA, *TOP_LEVEL]))
            raise ProfileError(f"{_where(path, key_node)}: unknown section `{key}` (known: {known})")
        if not isinstance(value_node, yaml.MappingNode):
            raise ProfileError(f"{_where(path, value_node)}: section `{key}` must be a mapping")
        for sub_key_node, sub_value_node in value_node.value:
            sub_key = sub_key_node.value
            if sub_key not in SCHEMA[key]:
                known = ", ".join(sorted(SCHEMA[key]))
                raise ProfileError(f"{_where(path, sub_key_node)}: unknown key `{key}.{sub_key}` (known: {known})")
            check, wanted = SCHEMA[key][sub_key]
            if not check(data[key][sub_key]):
                raise ProfileError(
                    f"{_where(path, sub_value_node)}: `{key}.{sub_key}` must be {wanted}, "
                    f"got {data[key][sub_key]!r}"
                )


def _validate_frameworks(path: Path, node: yaml.Node, spec: dict[str, Any]) -> None:
    """The framework-stack spec is validated by its own module, which knows the compatibility matrix."""
    from xeonfleet.frameworks.stacks import validate_frameworks_spec

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
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ProfileError(f"{path}:{line}: invalid YAML: {exc.problem or exc.context}") from exc
    if root is None:
        raise ProfileError(f"{path}:1: empty profile; add at least `include: {DEFAULT_PROFILE}`")
    _validate(path, root)
    return root, yaml.safe_load(text)


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
        else:  # a sibling file first, else the shipped profile (a site profile may include xeon-ai-base)
            sibling = path.parent / f"{parent}.yaml"
            path = sibling if sibling.exists() else PROFILES_DIR / f"{parent}.yaml"
    merged: dict[str, Any] = {}
    for layer in reversed(layers):
        merged = deep_merge(merged, {k: v for k, v in layer.items() if k != "include"})
    return Profile(name=Path(name_or_path).stem, data=merged, chain=tuple(p.stem for p in chain))
