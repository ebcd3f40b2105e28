"""Hardware profiles by name or path: the search path, the `include:` chain and one-line errors.

`load_hardware` finds a profile (`hardware/NAME.yaml` on the search path of xeonfleet/resources.py, or a
path), reads it with every file it includes and validates it as a HardwareProfile (hardware_profile);
every problem becomes one line naming the file and line that holds it, the dotted key and the fix.
"""

from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from xeonfleet import resources
from xeonfleet.lab.hardware_fields import INVALID
from xeonfleet.lab.hardware_profile import HardwareProfile
from xeonfleet.merge import deep_merge
from xeonfleet.yaml_lines import UNKNOWN_KEY, compose, dotted, find, yaml_error_line

HARDWARE = "hardware"  # the resources kind: $XEONFLEET_PATH/hardware, ./hardware, then the packaged ones
EXAMPLE = "the shipped hardware profile icx-8380-2s"


class HardwareProfileError(ValueError):
    """A hardware profile is missing, unreadable or inconsistent (message is one line)."""


def list_hardware() -> list[str]:
    """Names of the hardware profiles on the search path (xeonfleet/resources.py), the shipped ones included."""
    return resources.names(HARDWARE)


Sources = list[tuple[Path, yaml.Node]]  # every file of the include chain with its node tree, child first


def load_hardware(name_or_path: str | Path) -> HardwareProfile:
    """Load and validate a profile by name (`icx-8380-2s`) or by path to a YAML file."""
    path = _locate(name_or_path)
    sources: Sources = []
    data = _read_with_includes(path, sources)
    data["name"] = path.stem
    try:
        return HardwareProfile.model_validate(data)
    except ValidationError as exc:
        # An unknown key first: it is usually a typo of the key another error calls missing.
        error = min(exc.errors(), key=lambda e: e["type"] not in UNKNOWN_KEY)
        raise HardwareProfileError(_message(error, sources)) from None


def _locate(name_or_path: str | Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or len(candidate.parts) > 1:
        if candidate.is_file():
            return candidate
        raise HardwareProfileError(f"hardware profile file {candidate} does not exist; give an existing YAML path")
    path = resources.locate(HARDWARE, str(name_or_path))
    if path.is_file():
        return path
    known = ", ".join(list_hardware())
    raise HardwareProfileError(f"unknown hardware profile {name_or_path!r}; known profiles: {known}")


def _read_with_includes(path: Path, sources: Sources) -> dict[str, Any]:
    """Read one YAML file; `include: OTHER` starts from OTHER and overrides it key by key. Each file read
    is appended to `sources` (child first), for the line numbers of errors."""
    if path in (seen for seen, _ in sources):
        raise HardwareProfileError(f"{path}: include: loops back to itself; remove the cycle")
    try:
        text = path.read_text()
        root = compose(text)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise HardwareProfileError(f"{path}: cannot read YAML ({exc}); fix the file") from exc
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise HardwareProfileError(f"{path}:{yaml_error_line(exc)}: cannot read YAML ({detail}); fix the file") from exc
    if not isinstance(data, dict) or root is None:
        raise HardwareProfileError(f"{path}: top level must be a mapping of keys; fix the file")
    sources.append((path, root))
    parent = data.pop("include", None)
    if parent is None:
        return data
    return deep_merge(_read_with_includes(_locate(str(parent)), sources), data)


def _where(sources: Sources, loc: tuple[str | int, ...]) -> str:
    """`file:line` of the key at `loc`: the child-most file that writes it (merged mappings take each key
    from the child-most file), else the file writing the deepest mapping that should hold it."""
    for end in range(len(loc), -1, -1):
        for path, root in sources:
            line, depth = find(root, loc[:end], key=True)
            if depth == end:
                return f"{path}:{line}"
    raise AssertionError("unreachable: the empty loc is found in every file")


# pydantic's type errors (strict mode) -> what the profile got wrong and how to write it instead.
_TYPE_ERRORS = {
    "int_type": ("expected int", "write an integer"),
    "float_type": ("expected float", "write a number"),
    "bool_type": ("expected bool", "write true or false"),
    "string_type": ("expected a string", "quote the value"),
    "list_type": ("expected a list", "write it as a YAML list"),
    "dict_type": ("expected a mapping", "write it as `key: value` lines"),
    "model_type": ("expected a mapping", "write it as `key: value` lines"),
}


def _message(error: ErrorDetails, sources: Sources) -> str:
    """One pydantic error -> `file:line: key: problem; fix`."""
    loc = tuple(part for part in error["loc"] if part != "[key]")  # a bad mapping key: blame the key
    kind, value = error["type"], error["input"]
    if kind == INVALID:
        loc += tuple(error["ctx"]["at"])
        problem_fix = error["msg"]
    elif kind in UNKNOWN_KEY:
        names = _fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), names, n=1)
        problem_fix = "unknown key; " + (f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(names)}")
    elif kind == "missing":
        problem_fix = f"missing; add it (see {EXAMPLE} for an example)"
    else:
        problem, fix = _TYPE_ERRORS.get(kind, (kind.replace("_", " "), "see " + EXAMPLE))
        problem_fix = f"{problem}, got {value!r}; {fix}"
    where = _where(sources, loc[:-1] if kind == "missing" else loc)
    return f"{where}: {dotted(loc) or 'top level'}: {problem_fix}"


def _fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """The keys of the model that validates the mapping at `loc` (list indexes skipped: items share one)."""
    model: type[BaseModel] = HardwareProfile
    for part in loc:
        if isinstance(part, str):
            annotation = model.model_fields[part].annotation  # X, X | None or list[X]
            (model,) = [arg for arg in (annotation, *typing.get_args(annotation))
                        if isinstance(arg, type) and issubclass(arg, BaseModel)]
    return list(model.model_fields)
