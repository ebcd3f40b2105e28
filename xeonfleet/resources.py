"""Where xeonfleet finds its data files: the user's own directories first, then the ones the package ships.

Profiles, hardware profiles and benchmark jobs are found by name (`training`, `icx-8380-2s`, ...) on one
search path, first match wins:

1. each directory in $XEONFLEET_PATH (separated by `:`, like PATH), in order;
2. the current directory;
3. the data shipped inside the package (xeonfleet/data, in the clone and in an installed wheel).

A kind has its own subdirectory in each: DIR/profiles/NAME.yaml, DIR/hardware/NAME.yaml,
DIR/benchmarks/NAME.yaml. A team keeps its site files in a directory of its own and never edits the
installed package; a file named like a shipped one shadows it.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

PATH_VAR = "XEONFLEET_PATH"


def packaged(relative: str) -> Path:
    """A file or directory inside the installed package (`data/profiles`, `node/probe.sh` ...), as a real path.

    pyinfra uploads these by path and errors name them as file:line, so they must be files on disk, which
    the clone and a pip-installed wheel are; a zipped install is refused here in one line."""
    resource = files("xeonfleet").joinpath(relative)
    if not isinstance(resource, Path):
        raise RuntimeError(f"xeonfleet's data is not on disk ({resource}); install xeonfleet with pip, unzipped")
    return resource


def templates_dir() -> Path:
    """The jinja2 templates: the top-level templates/ of the clone, which pyproject.toml maps to the package
    `xeonfleet.templates` (so a wheel ships it inside xeonfleet); found by package name, not by path."""
    resource = files("xeonfleet.templates")
    if not isinstance(resource, Path):
        raise RuntimeError(f"xeonfleet's templates are not on disk ({resource}); install xeonfleet with pip, unzipped")
    return resource


def search_dirs(kind: str) -> list[Path]:
    """The existing `kind` directories (profiles, hardware, benchmarks) in lookup order."""
    roots = [Path(entry) for entry in os.environ.get(PATH_VAR, "").split(os.pathsep) if entry]
    candidates = [root / kind for root in (*roots, Path.cwd())] + [packaged(f"data/{kind}")]
    return [directory for directory in candidates if _readable_dir(directory)]


def _readable_dir(path: Path) -> bool:
    """A directory this user can list: a `profiles/` under a cwd it may not enter (a service user started in
    /root) is not on its path, rather than a PermissionError for every lookup."""
    try:
        return path.is_dir() and os.access(path, os.R_OK | os.X_OK)
    except OSError:
        return False


def locate(kind: str, name: str) -> Path:
    """The first KIND/NAME.yaml on the search path; when none has it, where the package would hold it (a
    path that does not exist, for the caller's "unknown NAME (known: ...)" error)."""
    for directory in search_dirs(kind):
        path = directory / f"{name}.yaml"
        if path.is_file():
            return path
    return packaged(f"data/{kind}") / f"{name}.yaml"


def find_all(kind: str) -> dict[str, Path]:
    """Every NAME on the search path with the file that wins for it, by name."""
    found: dict[str, Path] = {}
    for directory in search_dirs(kind):
        for path in sorted(directory.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def names(kind: str) -> list[str]:
    """The names `locate` can find, sorted."""
    return list(find_all(kind))


def user_data_dir() -> Path:
    """$XDG_DATA_HOME/xeonfleet, else ~/.local/share/xeonfleet (the XDG spec ignores a relative
    $XDG_DATA_HOME): what xeonfleet keeps per user, the results store and the lab, wherever it is installed."""
    data_home = os.environ.get("XDG_DATA_HOME", "")
    base = Path(data_home) if os.path.isabs(data_home) else Path.home() / ".local" / "share"
    return base / "xeonfleet"
