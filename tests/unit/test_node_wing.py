"""The node wing (xeonfleet/node/) runs on nodes with neither xeonfleet nor a package index: what its modules
may import (the rule in xeonfleet/node/__init__.py), and that every uploader ships each module with the
siblings it imports, under its remote name, so that it imports with the standard library alone."""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xeonfleet.bench import remote
from xeonfleet.frameworks import render
from xeonfleet.resources import packaged
from xeonfleet.tune import deploy as tune_deploy

NODE = packaged("node")
RUNNERS = NODE / "runners"
MODULES = sorted(NODE.rglob("*.py"))
FLAT_NAMES = {path.stem for path in MODULES}  # on a node the wing is flat: every file is a top-level module
BOOTSTRAP = "xeonfleet.node.siblings"  # the package half of the bootstrap siblings.py shows


def _imports(tree: ast.Module) -> list[tuple[str, bool, int]]:
    """(module imported, at import time?, line) of every import; function bodies run later, class bodies not."""
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, deferred: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name, not deferred, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                assert child.level == 0, f"line {child.lineno}: a relative import does not work on a node"
                found.append((child.module or "", not deferred, child.lineno))
            visit(child, deferred or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return found


def _sibling_names(tree: ast.Module) -> list[tuple[str, int]]:
    """The NAME of every sibling("NAME") call; a name that is not a literal cannot be checked, so it is refused."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sibling":
            arg = node.args[0] if len(node.args) == 1 else None
            assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), f"line {node.lineno}: sibling(literal)"
            names.append((arg.value, node.lineno))
    return names


def _beside(path: Path, name: str) -> bool:
    """NAME sits in the importer's own directory in both shapes: a runner importing the harness beside it."""
    return path.parent == RUNNERS and (RUNNERS / f"{name}.py").exists()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def test_the_walk_sees_the_imports_it_judges() -> None:
    tree = ast.parse("import os\nfrom a.b import c\ndef f():\n    import torch\nclass K:\n    import json\n")
    assert _imports(tree) == [("os", True, 1), ("a.b", True, 2), ("torch", False, 4), ("json", True, 6)]
    assert _sibling_names(ast.parse("x = sibling('instances')")) == [("instances", 1)]
    assert {"siblings", "topology", "benchlib", "node_env"} <= FLAT_NAMES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(NODE)))
def test_a_node_module_imports_the_standard_library_and_its_siblings_only(path: Path) -> None:
    """No controller package anywhere; at import time only the standard library, the siblings.py bootstrap and,
    between runners, the harness beside them; the benchmarked stacks (torch, numpy...) only inside functions;
    other node modules only through sibling(), whose every name is a file of the wing."""
    tree = _tree(path)
    offenders = []
    for name, at_import, line in _imports(tree):
        root = name.split(".")[0]
        if root == "xeonfleet" and name != BOOTSTRAP:
            offenders.append(f"line {line}: {name} is controller code; a node has no xeonfleet installed")
        elif root in FLAT_NAMES and root != "siblings" and not _beside(path, root):
            offenders.append(f"line {line}: import {name} directly; node modules reach each other through sibling()")
        elif at_import and root not in sys.stdlib_module_names and root not in FLAT_NAMES and name != BOOTSTRAP:
            offenders.append(f"line {line}: {name} is not in the standard library; import it inside the function "
                             f"that uses it")
    for name, line in _sibling_names(tree):
        if not (NODE / f"{name}.py").exists():
            offenders.append(f"line {line}: sibling({name!r}) names no file of xeonfleet/node/")
    assert offenders == []


def test_the_rule_catches_a_controller_import_and_a_third_party_one_at_import_time(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy\nfrom xeonfleet.knobs import commands\ndef f():\n    import torch\n")
    with pytest.raises(AssertionError, match="numpy is not in the standard library"):
        test_a_node_module_imports_the_standard_library_and_its_siblings_only(bad)
    bad.write_text("from xeonfleet.knobs import commands\n")
    with pytest.raises(AssertionError, match="xeonfleet.knobs is controller code"):
        test_a_node_module_imports_the_standard_library_and_its_siblings_only(bad)


def test_on_the_controller_siblings_are_the_package_modules() -> None:
    """The package shape never loads a flat second copy: what sibling() gave is xeonfleet.node.NAME."""
    for path in MODULES:
        if path.parent != NODE or path.stem == "__init__":
            continue
        module = importlib.import_module(f"xeonfleet.node.{path.stem}")
        for name, _ in _sibling_names(_tree(path)):
            assert getattr(module, name) is importlib.import_module(f"xeonfleet.node.{name}"), (path.stem, name)


def _uploads() -> dict[str, dict[str, Path]]:
    """Every upload of node files, by remote directory: {remote file name: source}."""
    tune = {tune_deploy.LAUNCHER_LIB: packaged("node/launcher.py"), **tune_deploy.LAUNCHER_LIBS, **tune_deploy.HELPERS}
    groups: dict[str, dict[str, Path]] = {}
    for remote_path, source in tune.items():
        directory, _, name = remote_path.rpartition("/")
        groups.setdefault(f"tune deploy {directory}", {})[name] = source
    groups["benchmarks"] = {path.name: path for path in remote.runner_files()}
    groups["frameworks"] = {path.name: path for path in render.NODE_ENV_FILES}
    # The TensorFlow build and roll-out (xeonfleet/tfbuild/deploy.py) upload one script each.
    groups["tf build"] = {"tf_build.py": NODE / "tf_build.py"}
    groups["tf rollout"] = {"tf_rollout.py": NODE / "tf_rollout.py"}
    return groups


def _needs(source: Path) -> set[str]:
    """The files a module needs beside it on a node: its sibling() names and the flat siblings it imports."""
    tree = _tree(source)
    flat = {name.split(".")[0] for name, _, _ in _imports(tree)} & FLAT_NAMES
    return {f"{name}.py" for name in flat | {name for name, _ in _sibling_names(tree)}}


def test_every_uploader_ships_the_siblings_its_modules_import() -> None:
    missing = {f"{group}: {name} needs {needed}"
               for group, files in _uploads().items() for name, source in files.items() if source.suffix == ".py"
               for needed in sorted(_needs(source) - set(files))}
    assert missing == set()
    assert {"siblings.py", "topology.py", "instances.py"} <= set(_uploads()["benchmarks"])


@pytest.mark.parametrize("group", sorted(_uploads()))
def test_each_upload_imports_flat_with_the_standard_library_alone(group: str, tmp_path: Path) -> None:
    """The files as a node gets them, in one directory under their remote names, each imported by a Python
    without site-packages (-S: no xeonfleet, no numpy), from that directory, as a node's script would."""
    files = _uploads()[group]
    for name, source in files.items():
        shutil.copy(source, tmp_path / name)
    modules = [Path(name).stem for name in sorted(files) if name.endswith(".py")]
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    result = subprocess.run([sys.executable, "-S", "-c", code, *modules], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
