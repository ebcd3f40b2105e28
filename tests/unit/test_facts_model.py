"""The node facts JSON model (NodeFactsJson) against real facts (every lab hardware profile, every corpus tree, this machine) and
against docs/facts.md, key for key; the exported JSON schema is the model's."""

from __future__ import annotations

import json
import re
import tempfile
import typing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from typing_extensions import is_typeddict  # typing's misses typing_extensions' TypedDict before 3.12

from xeonfleet.cli.facts import facts_command
from xeonfleet.parsers.contract import NodeFactsJson, PcieLinkJson, facts_json_schema, validate_facts
from xeonfleet.lab.hardware import list_hardware, load_hardware
from xeonfleet.lab.sysroot import build_sysroot
from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.facts.probe import run_probe_local

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "corpus"
TREES = sorted(path.name for path in CORPUS.iterdir() if (path / "root").is_dir())
DOCS_BLOCK = (REPO / "docs" / "facts.md").read_text().split("```")[1]
SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() else None


@pytest.mark.parametrize("name", list_hardware())
def test_facts_of_every_hardware_profile_fit_the_model(name: str) -> None:
    with tempfile.TemporaryDirectory(dir=SCRATCH, prefix="xeonfleet-facts-model-") as tmp:
        build_sysroot(load_hardware(name), Path(tmp) / "root", f"{name}-host")
        facts = node_facts_from_lines(run_probe_local(Path(tmp) / "root"))
    assert validate_facts(facts) is facts


@pytest.mark.parametrize("tree", TREES)
def test_facts_of_every_corpus_tree_fit_the_model(tree: str) -> None:
    validate_facts(node_facts_from_lines(run_probe_local(CORPUS / tree / "root")))


def test_facts_of_this_machine_fit_the_model() -> None:
    validate_facts(node_facts_from_lines(run_probe_local("/")))


@pytest.fixture(scope="module")
def cloud_vm_facts() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=SCRATCH, prefix="xeonfleet-facts-model-") as tmp:
        build_sysroot(load_hardware("cloud-vm"), Path(tmp) / "root", "vm")
        return node_facts_from_lines(run_probe_local(Path(tmp) / "root"))


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        (lambda f: f["cpu"].update(sockets="2"), ("cpu", "sockets")),  # a string where an int belongs
        (lambda f: f["cpu"].update(socket=2), ("cpu", "socket")),  # a key the contract does not have
        (lambda f: f["power"].pop("governor"), ("power", "governor")),  # keys are never dropped
        (lambda f: f["os"].update(thp="sometimes"), ("os", "thp")),
        (lambda f: f.update(schema_version=2), ("schema_version",)),
        (lambda f: f["numa"]["nodes"][0].update(cpus=None), ("numa", "nodes", 0, "cpus")),  # lists are never null
    ],
)
def test_a_fact_off_the_contract_is_refused_with_its_key(cloud_vm_facts: dict[str, Any], change: Any,
                                                         loc: tuple) -> None:
    facts = json.loads(json.dumps(cloud_vm_facts))
    validate_facts(facts)
    change(facts)
    with pytest.raises(ValidationError) as info:
        validate_facts(facts)
    assert [error["loc"] for error in info.value.errors()] == [loc]


def _typed_dict(hint: Any) -> Any:
    """The TypedDict inside a hint (`X`, `X | None`, `list[X]`, `Annotated[...]`), else None."""
    if is_typeddict(hint):
        return hint
    return next((found for arg in typing.get_args(hint) if (found := _typed_dict(arg))), None)


def _keys(model: Any) -> set[str]:
    return set(typing.get_type_hints(model))


def test_every_key_of_the_docs_is_in_the_model_and_back() -> None:
    """docs/facts.md names `section.key` for every leaf and `{a, b:int}` for the keys of each object."""
    sections = "|".join(_keys(NodeFactsJson))
    assert set(re.findall(r"^([a-z_]+)\b", DOCS_BLOCK, re.M)) == _keys(NodeFactsJson)
    documented = set(re.findall(rf"(?<![/\w.])(?:{sections})\.[a-z_][a-z0-9_]*\b", DOCS_BLOCK))  # cpu.avx10
    hints = typing.get_type_hints(NodeFactsJson, include_extras=True)
    declared = {f"{section}.{key}" for section, hint in hints.items()
                if section != "tools" and (model := _typed_dict(hint)) and typing.get_origin(hint) is not list
                for key in _keys(model)}
    assert documented == declared
    # The `{...}` after a key lists an object's keys (pcie once, for nics and disks alike).
    objects = 0
    for path, body in re.findall(r"^\s*([a-z_.]+)\s+\[?\{([^}]*)\}", DOCS_BLOCK, re.M):
        model: Any = PcieLinkJson if path == "pcie" else NodeFactsJson
        for part in [] if path == "pcie" else path.split("."):
            model = _typed_dict(typing.get_type_hints(model)[part])
        if model is None:  # a map with free keys (os.sysctl, power.msr ...)
            continue
        keys = set(re.findall(r"(?:^|[{,\s])([a-z_][a-z0-9_]*)(?=\s*[:,]|\s*$)", body.strip()))
        assert keys == _keys(model), path
        objects += 1
    assert objects >= 10  # cpu.isa, numa.nodes, memory.dimms, cstates, uncore, distro, nics, disks, pcie, tools, envs


def test_the_schema_is_the_models_and_requires_every_key() -> None:
    schema = facts_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) == _keys(NodeFactsJson) and schema["additionalProperties"] is False
    cpu = schema["$defs"]["CpuJson"]
    assert set(cpu["required"]) == set(cpu["properties"]) == _keys(typing.get_type_hints(NodeFactsJson)["cpu"])
    assert {"type": "integer"} in cpu["properties"]["sockets"]["anyOf"]  # an int, or null when unknown
    assert {"type": "null"} in cpu["properties"]["sockets"]["anyOf"]
    assert schema["$defs"]["FrameworkEnvJson"]["additionalProperties"] is True  # env records carry more keys


def test_facts_schema_option_prints_the_schema_without_an_inventory() -> None:
    result = CliRunner().invoke(facts_command, ["--schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == facts_json_schema()
