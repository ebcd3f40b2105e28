"""Map a validation error's location (pydantic's `loc`) back to the line of the YAML file it came from.

The YAML specs (profiles, hardware profiles, benchmark jobs, framework stacks) are validated by pydantic
models, which know the path of a bad value (`("power", "governor")`) but not where it was written. The
file's composed node tree still has the marks, so errors can say `file:line: key: what is wrong`.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

# pydantic's error types for a key the model does not declare (a non-string key is never declared).
UNKNOWN_KEY = ("extra_forbidden", "invalid_key")


def compose(text: str) -> yaml.Node | None:
    """The node tree of a YAML document (None when empty); raises yaml.MarkedYAMLError when broken."""
    return yaml.compose(text, Loader=yaml.SafeLoader)


def yaml_error_line(exc: yaml.YAMLError) -> int:
    """The 1-based line a YAML syntax error points at (1 when it carries no mark)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark else 1


def find(root: yaml.Node, loc: Sequence[str | int], key: bool = False) -> tuple[int, int]:
    """(line, depth): the 1-based line of the deepest node of `loc` present under `root`, and how many
    parts of `loc` were found. With `key`, a fully found mapping entry gives the line of its key (where an
    unknown key is written) rather than of its value; a part not found (a missing key) gives the line of
    the mapping that should hold it."""
    node = root
    for depth, part in enumerate(loc):
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            entry = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if entry is not None:
                if key and depth == len(loc) - 1:
                    return entry[0].start_mark.line + 1, len(loc)
                child = entry[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = node.value[part]
        if child is None:
            return node.start_mark.line + 1, depth
        node = child
    return node.start_mark.line + 1, len(loc)


def dotted(loc: Sequence[str | int]) -> str:
    """`("memory", "slots", 2, "socket")` -> "memory.slots[2].socket", as the errors name keys."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
