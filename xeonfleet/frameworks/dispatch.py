"""The `frameworks.isa` rule's judgement: per env, stack and precision, the ISA that really ran
(recorded by node_env.py's checks) against the ISA the node's CPU flags allow for that precision.

A precision the flags give no native path for is not judged (an AVX2-only node is never failed
for lacking VNNI). A failure names the framework, the precision and the fix that changes the
outcome: the variable that capped the kernels and the file that sets it, or a build that has them.
"""

from __future__ import annotations

from typing import Any

from xeonfleet.frameworks import isa_names
from xeonfleet.frameworks.node_env import CHECKS_VERSION
from xeonfleet.frameworks.stacks import load_catalogue

# The stacks whose checks run per-precision kernels (INC only in its `pt` variant; the others have
# no ISA to judge).
JUDGED_STACKS = ("pytorch", "tensorflow", "openvino", "inc")
_ISA_CAPS = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")
# The data types a precision's kernel must have read, as oneDNN and OpenVINO spell them.
_SRC_TYPES = {"fp32": ("f32",), "bf16": ("bf16",), "int8": ("u8", "s8", "i8")}


def flags_of(cpu_isa: dict[str, bool]) -> set[str]:
    """The cpu.isa fact ({flag: present}) as the set of flags present."""
    return {flag for flag, present in cpu_isa.items() if present}


def expected_text(flags: set[str]) -> str:
    wanted = [f"{p} {isa_names.wanted_isa(p, flags)}" for p in isa_names.precisions_for(flags)]
    return (", ".join(wanted) + " or better") if wanted else "no AI ISA on this CPU"


def _capping_variable(knobs: dict[str, Any], stack: str) -> str | None:
    """The variable in force that keeps oneDNN off its best kernels, if any."""
    capped = next((name for name in _ISA_CAPS if name in knobs), None)
    if capped is None and stack == "tensorflow" and (knobs.get("TF_ENABLE_ONEDNN_OPTS") or {}).get("value") == "0":
        return "TF_ENABLE_ONEDNN_OPTS"
    return capped


def _fix(env: dict[str, Any], stack: str, result: dict[str, Any]) -> str:
    """What changes the outcome: a variable that capped oneDNN (with the file that sets it), else
    another build of the stack (its maintained variant, or another release of it)."""
    knobs = env.get("runtime_knobs") or {}
    name = _capping_variable(knobs, stack)
    if name:
        where = knobs[name].get("set_in") or "the environment deploys/frameworks.py ran in"
        return f"remove {name}={knobs[name]['value']} from {where}"
    reports = f" (its oneDNN reports {result['max_isa']})" if result.get("max_isa") else ""
    entry = load_catalogue()[stack]
    if result.get("variant") == entry["default_variant"]:
        return f"no variable caps it: this {stack} build lacks the kernel{reports}; pin another {stack} release"
    default = entry["variants"][entry["default_variant"]]
    return (f"no variable caps it: this build lacks the kernel{reports}; use {stack}: "
            f"{{variant: {entry['default_variant']}, version: \"{default['default_release']}\"}}")


def _judge(env: dict[str, Any], stack: str, result: dict[str, Any], precision: str, wanted: str) -> tuple[bool | None, str]:
    """One precision of one stack -> (True pass / False fail / None not judged, evidence)."""
    found = (result.get("precisions") or {}).get(precision)
    label = f"{stack} {precision}"
    if found is None:
        return None, f"{label}: not run"
    if "skipped" in found:
        return None, f"{label}: not checked ({found['skipped']})"
    if "error" in found:
        return False, f"{label}: the kernel failed: {found['error'].splitlines()[0]}"
    isa, kernel = found.get("isa"), found.get("kernel")
    speed = f", {found['gflops']} G{'OP' if precision == 'int8' else 'FLOP'}/s" if found.get("gflops") else ""
    ran = f"{label} ran {isa or 'no oneDNN kernel'} ({kernel or found.get('op')}{speed})"
    fix = _fix(env, stack, result)
    src = found.get("src_type")
    if src and src.lower() not in _SRC_TYPES[precision]:
        return False, f"{ran} on {src} data, not {precision}: {fix}"
    if not isa_names.meets(isa, wanted):
        return False, f"{ran}, CPU allows {wanted}: {fix}"
    return True, ran


def dispatch_rule_input(envs: list[dict[str, Any]] | None, cpu_isa: dict[str, bool] | None) -> dict[str, Any]:
    """Compare every env record's per-precision kernels with what the CPU flags allow.

    Returns {"status": "pass"|"fail"|"unknown", "evidence": [str], "expected": str}; evidence lists
    the failures when there are any, else everything that was judged.
    """
    flags = flags_of(cpu_isa or {})
    expected = expected_text(flags)
    if not flags or not isa_names.precisions_for(flags):
        return {"status": "unknown", "evidence": ["no AVX2/AVX-512/AMX flags in cpuinfo: nothing to judge"],
                "expected": expected}
    passed, failed, notes = [], [], []
    for env in envs or []:
        stacks = {name: result for name, result in (env.get("stacks") or {}).items() if name in JUDGED_STACKS}
        if stacks and (env.get("checks_version") or 0) < CHECKS_VERSION:
            notes.append(f"env {env.get('name')}: its record predates the per-precision checks")
            continue
        for stack, result in stacks.items():
            if "precisions" not in result:
                continue
            for precision in isa_names.precisions_for(flags):
                verdict, text = _judge(env, stack, result, precision, isa_names.wanted_isa(precision, flags))
                bucket = {True: passed, False: failed, None: notes}[verdict]
                bucket.append(f"env {env.get('name')}: {text}")
    if failed:
        return {"status": "fail", "evidence": failed, "expected": expected}
    if passed:
        return {"status": "pass", "evidence": passed + notes, "expected": expected}
    return {"status": "unknown", "evidence": notes or ["no env ran a per-precision kernel (no torch, TensorFlow or OpenVINO env)"],
            "expected": expected}
