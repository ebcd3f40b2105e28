"""The compatibility matrix and the spec validation (pure, controller side)."""

import pytest

from xeonfleet.stacks import (
    python_in_range,
    required_stacks_rule_input,
    validate_frameworks_spec,
    version_matches,
)


def env(stacks, python="3.11", **extra):
    return {"envs": [dict({"name": "ai", "backend": "venv", "python": python, "stacks": stacks}, **extra)]}


def test_profile_shape_resolves_to_pinned_requirements():
    (spec,) = validate_frameworks_spec(
        env({"intel-python": "2026.*", "openvino": "2026.*", "pytorch": {"variant": "ipex", "version": "2.8"}}), "p"
    )
    assert spec.pip_requirements() == [
        "numpy", "scikit-learn", "scikit-learn-intelex==2026.*", "openvino==2026.*",
        "torch==2.8.*", "intel-extension-for-pytorch==2.8.*",
    ]
    assert spec.conda_packages()[-2:] == ["pytorch=2.8.*", "intel-extension-for-pytorch=2.8.*"]


def test_default_variant_and_release_when_only_the_stack_is_named():
    (spec,) = validate_frameworks_spec(env({"openvino": None, "tensorflow": "*"}), "p")
    assert [(s.variant, s.pin) for s in spec.stacks] == [("runtime", "==2026.*"), ("stock", "==2.20.*")]


def test_exact_version_is_pinned_exactly():
    (spec,) = validate_frameworks_spec(env({"tensorflow": {"variant": "intel", "version": "2.14.0"}}), "p")
    assert spec.pip_requirements() == ["intel-tensorflow==2.14.0", "numpy<2"]


def test_release_fixes_go_to_pip_only_and_only_for_their_release():
    # TF 2.14.0 wheels ask numpy>=1.23.5 unbounded; numpy 2 breaks their import (seen on a lab host).
    (old, new) = (validate_frameworks_spec(env({"tensorflow": version}), "p")[0] for version in ("2.14.0", "2.15"))
    assert old.pip_requirements() == ["tensorflow-cpu==2.14.0", "numpy<2"]
    assert old.conda_packages() == ["tensorflow=2.14.0"]
    assert new.pip_requirements() == ["tensorflow-cpu==2.15.*"]


@pytest.mark.parametrize(
    ("stacks", "python", "message"),
    [
        ({"tf": "2.14"}, "3.11", "p.yaml: unknown stack 'tf' in env 'ai'; known stacks: faiss, inc, intel-python"),
        ({"tensorflow": {"variant": "intel"}}, "3.12",
         "tensorflow intel 2.14 needs Python >=3.9,<3.12, env 'ai' asks 3.12; works: tensorflow: {variant: stock"),
        ({"pytorch": {"variant": "ipex", "version": "2.9"}}, "3.11",
         "pytorch variant ipex has no release '2.9' (known: 2.8); works: pytorch: {variant: ipex, version: \"2.8\"}"),
        ({"inc": "3", "tensorflow": "2.20"}, "3.11",
         "inc 3 is validated with tensorflow 2.14, 2.15, 2.16, not 2.20; works: tensorflow: \"2.16\""),
        ({"inc": {"variant": "pt"}}, "3.11",
         "env 'ai': inc variant pt needs pytorch in the same env; add pytorch to its stacks"),
        ({"inc": {"variant": "pt"}, "pytorch": {"variant": "ipex"}}, "3.11",
         "inc 3 is validated with pytorch 2.13, 2.14, not 2.8; works: pytorch: \"2.14\""),
        ({"pytorch": {"variant": "cuda"}}, "3.11", "stack 'pytorch' has no variant 'cuda'; variants: ipex, plain"),
        ({"openvino": "latest"}, "3.11", "bad version 'latest'"),
        ({"openvino": {"version": "2026", "channel": "x"}}, "3.11", "has unknown keys ['channel']"),
        ({}, "3.11", "env 'ai' needs stacks"),
    ],
)
def test_impossible_or_malformed_stacks_fail_naming_a_fix(stacks, python, message):
    with pytest.raises(ValueError) as err:
        validate_frameworks_spec(env(stacks, python), "p.yaml")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_python_too_old_names_a_python_that_works():
    with pytest.raises(ValueError, match=r"openvino runtime 2026 needs Python >=3.10,<3.15, env 'ai' asks 3.9"):
        validate_frameworks_spec(env({"openvino": "2026.*"}, python="3.9"), "p")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([], "frameworks must be a mapping with an `envs:` list"),
        ({"envs": [], "extra": 1}, "unknown keys ['extra']"),
        ({"envs": ["ai"]}, "frameworks.envs[0] must be a mapping"),
        (env({"openvino": "2026"}, backend="docker"), "backend 'docker' is not one of venv, conda"),
        (env({"openvino": "2026"}, python="3"), "python must look like \"3.11\""),
        (env({"openvino": "2026"}, conda_tool="mamba"), "conda_tool 'mamba' is not one of micromamba, conda"),
        ({"envs": [{"name": "a b", "stacks": {"openvino": "2026"}}]}, "needs a name of letters"),
        ({"envs": env({"openvino": "2026"})["envs"] * 2}, "ai appears twice"),
    ],
)
def test_bad_spec_shapes(spec, message):
    with pytest.raises(ValueError, match=None) as err:
        validate_frameworks_spec(spec, "src")
    assert message in str(err.value)


def test_spec_hash_changes_with_what_gets_installed():
    a = validate_frameworks_spec(env({"openvino": "2026.*"}), "p")[0]
    b = validate_frameworks_spec(env({"openvino": "2025.*"}), "p")[0]
    assert a.spec_hash() == validate_frameworks_spec(env({"openvino": "2026.*"}), "p")[0].spec_hash()
    assert a.spec_hash() != b.spec_hash()


@pytest.mark.parametrize(
    ("installed", "pin", "ok"),
    [("2.8.0+cpu", "==2.8.*", True), ("2.80.0", "==2.8.*", False), ("2026.4.1", "==2026.*", True),
     ("2.14.0", "==2.14.0", True), ("2.14.1", "==2.14.0", False)],
)
def test_version_matches(installed, pin, ok):
    assert version_matches(installed, pin) is ok


def test_python_ranges():
    assert python_in_range("3.11", ">=3.9,<3.12")
    assert not python_in_range("3.12", ">=3.9,<3.12")
    with pytest.raises(ValueError, match="bad python range"):
        python_in_range("3.11", "~3.9")


def _record(**over):
    rec = {"name": "ai", "backend": "venv", "ok": True,
           "stacks": {"openvino": {"variant": "runtime"}, "intel-python": {"variant": "sklearnex"}},
           "versions": {"openvino": "2026.4.1", "scikit-learn-intelex": "2026.2.0"}}
    rec.update(over)
    return rec


SPEC = validate_frameworks_spec(env({"openvino": "2026.*", "intel-python": "2026.*"}), "p")


def test_rule_input_pass_with_evidence():
    result = required_stacks_rule_input([_record()], SPEC)
    assert result["status"] == "pass"
    assert result["evidence"] == ["env ai: openvino 2026.4.1, scikit-learn-intelex 2026.2.0"]


@pytest.mark.parametrize(
    ("records", "evidence"),
    [
        ([], "env ai: missing (no xeonfleet-env.json)"),
        ([_record(ok=False, error="openvino: boom")], "env ai: smoke test failed: openvino: boom"),
        ([_record(versions={"openvino": "2025.1.0", "scikit-learn-intelex": "2026.2.0"})],
         "env ai: openvino 2025.1.0, profile wants ==2026.*"),
        ([_record(stacks={"openvino": {"variant": "runtime"}})], "env ai: stack intel-python not installed"),
        ([_record(backend="conda")], "env ai: backend conda, profile wants venv"),
    ],
)
def test_rule_input_fail_names_the_gap(records, evidence):
    result = required_stacks_rule_input(records, SPEC)
    assert result["status"] == "fail"
    assert evidence in result["evidence"]
    assert result["remedy"] == "pyinfra INVENTORY deploys/frameworks.py"


def test_rule_input_unknown_without_fact():
    assert required_stacks_rule_input(None, SPEC)["status"] == "unknown"


def test_every_variant_has_a_support_status_and_the_ended_ones_say_when_and_what_next():
    from xeonfleet.stacks import SUPPORT_STATUSES, load_catalogue

    for stack, entry in load_catalogue().items():
        for variant, data in entry["variants"].items():
            support = data["support"]
            assert support["status"] in SUPPORT_STATUSES, (stack, variant)
            if support["status"] != "maintained":
                assert {"since", "successor", "source"} <= set(support), (stack, variant)
    assert load_catalogue()["pytorch"]["variants"]["ipex"]["support"]["status"] == "end-of-life"
    assert load_catalogue()["tensorflow"]["variants"]["intel"]["support"]["status"] == "end-of-life"


def test_support_rule_fails_a_node_running_ipex_and_names_version_date_and_successor():
    from xeonfleet.stacks import support_rule_input

    ipex = {"name": "torch", "stacks": {"pytorch": {"variant": "ipex", "release": "2.8", "pin": "==2.8.*"}},
            "versions": {"torch": "2.8.0", "intel-extension-for-pytorch": "2.8.0"}}
    plain = {"name": "ai", "stacks": {"openvino": {"variant": "runtime", "release": "2026", "pin": "==2026.*"}},
             "versions": {"openvino": "2026.4.1"}}
    result = support_rule_input([ipex, plain])
    assert result["status"] == "fail"
    (line,) = result["evidence"]
    assert line.startswith("env torch: pytorch ipex (torch 2.8.0, intel-extension-for-pytorch 2.8.0): end-of-life since 2026-04; "
                           "successor: pytorch: {variant: plain}")
    assert "intel/intel-extension-for-pytorch#867" in line
    assert support_rule_input([plain]) == {"status": "pass", "evidence": ["env ai: openvino runtime (openvino 2026.4.1): maintained"]}
    assert support_rule_input([])["status"] == "unknown" and support_rule_input(None)["status"] == "unknown"
