"""The `frameworks.isa` rule's judgement: per env, stack and precision, the ISA that really ran
(recorded by node_env.py's checks) against the ISA the node's CPU flags allow for that precision.

A precision the flags give no native path for is not judged (an AVX2-only node is never failed
for lacking VNNI). A failure names the framework, the precision and the fix that changes the
outcome: the variable that capped the kernels and the file that sets it, or a build that has them.
An AMX precision that did not run on AMX is told apart by cause: AMX present but not usable here (the
check's arch_prctl request was denied, or the node facts say the kernel did not enable the tile
state), where no stack could do better, from a stack that did not dispatch AMX it was granted.
"""

from __future__ import annotations

from typing import Any

from xeonfleet.node import isa_names
from xeonfleet.node.node_env import CHECKS_VERSION
from xeonfleet.stacks import load_catalogue

# The stacks whose checks run per-precision kernels (INC only in its `pt` variant; the others have
# no ISA to judge).
JUDGED_STACKS = ("pytorch", "tensorflow", "openvino", "inc")
_ISA_CAPS = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")
# The data types a precision's kernel must have read, as oneDNN and OpenVINO spell them.
_SRC_TYPES = {"fp32": ("f32",), "bf16": ("bf16",), "int8": ("u8", "s8", "i8")}
# What a denied arch_prctl(ARCH_REQ_XCOMP_PERM) means (arch/x86/kernel/fpu/xstate.c) and what fixes it.
_AMX_DENIED = {
    "EINVAL": "the kernel does not know ARCH_REQ_XCOMP_PERM: Linux before 5.16; boot a 5.16+ kernel",
    "EOPNOTSUPP": "the kernel has no AMX tile state to grant",
    "EPERM": "a seccomp filter refuses arch_prctl; allow it in the container's seccomp profile",
    "ENOSPC": "a sigaltstack too small for the AMX state; request AMX before installing it, or give it room",
}


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


def _amx_unusable(permission: str | None, amx_usable: bool | None, amx_reason: str | None) -> str | None:
    """Why no stack could run AMX here, from the check's own request or else the node facts; None when
    nothing says it was unusable."""
    if permission and permission.startswith("denied"):
        code = permission.partition("(")[2].rstrip(")")
        why = _AMX_DENIED.get(code, "")
        if code == "EOPNOTSUPP" and amx_reason:
            why += f" ({amx_reason})"
        return f"arch_prctl(ARCH_REQ_XCOMP_PERM) {permission}" + (f": {why}" if why else "")
    if amx_usable is False and permission != "granted":
        return amx_reason or "cpu.amx_usable is false"
    return None


def _judge(env: dict[str, Any], stack: str, result: dict[str, Any], precision: str, wanted: str,
           amx: tuple[bool | None, str | None]) -> tuple[bool | None, str]:
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
        if isa_names.family(wanted) == "amx":
            unusable = _amx_unusable(result.get("amx_permission"), *amx)
            if unusable:
                return False, f"{ran}: AMX present but not usable here ({unusable})"
            if result.get("amx_permission") == "granted":
                return False, f"{ran}, CPU allows {wanted}: AMX was granted, this stack did not dispatch AMX: {fix}"
        return False, f"{ran}, CPU allows {wanted}: {fix}"
    return True, ran


def dispatch_rule_input(envs: list[dict[str, Any]] | None, cpu_isa: dict[str, bool] | None,
                        amx_usable: bool | None = None, amx_reason: str | None = None) -> dict[str, Any]:
    """Compare every env record's per-precision kernels with what the CPU flags allow; amx_usable and
    amx_reason (cpu.amx_usable, cpu.amx_usable_reason) name the cause when AMX cannot run here.

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
                verdict, text = _judge(env, stack, result, precision, isa_names.wanted_isa(precision, flags),
                                       (amx_usable, amx_reason))
                bucket = {True: passed, False: failed, None: notes}[verdict]
                bucket.append(f"env {env.get('name')}: {text}")
    if failed:
        return {"status": "fail", "evidence": failed, "expected": expected}
    if passed:
        return {"status": "pass", "evidence": passed + notes, "expected": expected}
    return {"status": "unknown", "evidence": notes or ["no env ran a per-precision kernel (no torch, TensorFlow or OpenVINO env)"],
            "expected": expected}
