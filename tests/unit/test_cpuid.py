"""CPUID through the cpuid driver: the leaf decoding (bit positions written here from the Intel SDM / ISA
extensions reference, not from the parser's table), cpu.isa and its sources, AMX usability, the probe ->
snapshot -> --sysroot round trip, the lab's cpuid: mapping, and the frameworks.isa AMX verdicts."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml

from xeonfleet import resources
from xeonfleet.node import env_checks, node_env
from xeonfleet.frameworks.dispatch import dispatch_rule_input
from xeonfleet.lab.hardware import HardwareProfileError, load_hardware
from xeonfleet.lab.sysroot import build_sysroot
from xeonfleet.parsers.cpuid import LEAVES, amx_usable, decode, leaf_runs, merge_isa, parse_leaves
from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.facts.probe import PROBE_PATH, run_probe_local
from xeonfleet.connect.snapshot import snapshot_from_lines

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() else None
DEVICE = Path("/dev/cpu/0/cpuid")
OWN_KEYS = ("isa", "isa_source", "avx10", "amx_usable", "amx_usable_reason", "microarch", "microarch_source")


def regs(eax: tuple[int, ...] = (), ebx: tuple[int, ...] = (), ecx: tuple[int, ...] = (),
         edx: tuple[int, ...] = (), eax_value: int = 0, ebx_value: int = 0) -> str:
    """"EAX EBX ECX EDX" with the given bits set, as the probe prints a leaf."""
    words = [eax_value | sum(1 << b for b in eax), ebx_value | sum(1 << b for b in ebx),
             sum(1 << b for b in ecx), sum(1 << b for b in edx)]
    return " ".join(f"{w:08x}" for w in words)


# A Sapphire Rapids-like CPU 0: highest basic leaf 0x20, leaf 7 has subleaf 1 (7.0 EAX = 1), AVX2 and
# AVX-512F (7.0 EBX 5, 16), AVX512_VNNI (ECX 11), AMX-BF16/AVX512-FP16/AMX-TILE/AMX-INT8 (EDX 22-25),
# AVX-VNNI and AVX512_BF16 (7.1 EAX 4, 5), FMA (1 ECX 12), XTILECFG/XTILEDATA (0DH.0 EAX 17, 18), XFD (0DH.1 EAX 4).
SPR_CPUID = {
    "0x0.0x0": regs(eax_value=0x20),
    "0x1.0x0": regs(ecx=(12,)),
    "0x7.0x0": regs(eax_value=1, ebx=(5, 16), ecx=(11,), edx=(22, 23, 24, 25)),
    "0x7.0x1": regs(eax=(4, 5)),
    "0xd.0x0": regs(eax=(0, 1, 2, 5, 6, 7, 17, 18)),
    "0xd.0x1": regs(eax=(0, 1, 2, 3, 4)),
    "0x24.0x0": regs(),
}
# Granite Rapids adds AMX-FP16 (7.1 EAX 21) and AMX-COMPLEX is 7.1 EDX 8; an AVX10.1/512 part sets 7.1 EDX 19
# and leaf 24H (so its highest basic leaf is at least 24H) EBX = version 1 with the 128/256/512 bits 16-18.
GNR_CPUID = {**SPR_CPUID, "0x7.0x1": regs(eax=(4, 5, 21))}
AVX10_CPUID = {**SPR_CPUID, "0x0.0x0": regs(eax_value=0x24), "0x7.0x1": regs(eax=(4, 5, 21), edx=(4, 8, 19)),
               "0x24.0x0": regs(ebx=(16, 17, 18), ebx_value=1)}
SPR_FLAGS = load_hardware("spr-8480-2s").cpu.flag_list


def leaves(dump: dict[str, str]) -> dict:
    errors: list[str] = []
    parsed = parse_leaves({name: [text] for name, text in dump.items()}, errors)
    assert errors == []
    return parsed


def test_the_bits_the_kernel_hides_are_read_from_cpuid() -> None:
    facts = decode(leaves(AVX10_CPUID))
    assert {k: facts.isa[k] for k in ("amx_fp16", "amx_complex", "avx_vnni_int8", "avx10", "avx512_fp16")} == {
        "amx_fp16": True, "amx_complex": True, "avx_vnni_int8": True, "avx10": True, "avx512_fp16": True}
    assert (facts.avx10_version, facts.avx10_vector_bits) == (1, 512)
    assert (facts.xfd, facts.xtiledata) == (True, True)
    spr = decode(leaves(SPR_CPUID))
    assert all(spr.isa[k] is False for k in ("amx_fp16", "amx_complex", "avx_vnni_int8", "avx10"))
    assert all(spr.isa[k] for k in ("fma", "avx2", "avx512f", "avx512_vnni", "amx_bf16", "amx_tile", "amx_int8",
                                    "avx_vnni", "avx512_bf16"))
    assert (spr.avx10_version, spr.avx10_vector_bits) == (None, None)


def test_leaves_the_cpu_does_not_have_are_never_read_as_bits() -> None:
    # Above the highest basic leaf Intel CPUs repeat the highest leaf's data: 24H must not be read.
    low = {**AVX10_CPUID, "0x0.0x0": regs(eax_value=0xD)}
    assert decode(leaves(low)).avx10_vector_bits is None and decode(leaves(low)).isa["avx10"] is True
    # 7.1 exists only when 7.0 EAX >= 1 (this machine's EPYC has EAX = 0)
    no_subleaf = {**GNR_CPUID, "0x7.0x0": regs(ebx=(5,))}
    assert decode(leaves(no_subleaf)).isa["amx_fp16"] is False
    # A leaf missing from the dump is unknown, not false; a dump without leaf 0 proves nothing.
    assert decode(leaves({k: v for k, v in GNR_CPUID.items() if k != "0x7.0x1"})).isa["amx_fp16"] is None
    assert set(decode(leaves({"0x7.0x0": SPR_CPUID["0x7.0x0"]})).isa.values()) == {None}
    errors: list[str] = []
    assert parse_leaves({"0x7.0x0": ["12 34"], "leaf7": ["0 0 0 0"]}, errors) == {}
    assert len(errors) == 2


def test_isa_is_true_from_either_source_and_false_only_when_a_source_can_say_no() -> None:
    isa, source = merge_isa(SPR_FLAGS, decode(leaves(GNR_CPUID)))
    assert (isa["amx_tile"], source["amx_tile"]) == (True, "cpuinfo")
    assert (isa["amx_fp16"], source["amx_fp16"]) == (True, "cpuid")
    assert (isa["avx10"], source["avx10"]) == (False, "cpuid")
    # Without CPUID: a flag the kernel prints is false when absent; one it never prints is unknown.
    isa, source = merge_isa(["avx2", "fma"], None)
    assert (isa["avx512_fp16"], source["avx512_fp16"]) == (False, "cpuinfo")
    assert (isa["amx_fp16"], source["amx_fp16"]) == (None, None)
    # The kernel hid amx_tile (no XFD): CPUID still says the CPU has it.
    hidden = [f for f in SPR_FLAGS if not f.startswith("amx")]
    isa, source = merge_isa(hidden, decode(leaves(SPR_CPUID)))
    assert (isa["amx_tile"], source["amx_tile"]) == (True, "cpuid")
    assert merge_isa(None, None) == ({k: None for k in isa}, {k: None for k in isa})


def test_amx_is_usable_only_when_the_kernel_shows_amx_tile_and_the_reason_says_why_not() -> None:
    hidden = [f for f in SPR_FLAGS if not f.startswith("amx")]
    spr = decode(leaves(SPR_CPUID))
    assert amx_usable(SPR_FLAGS, spr, None, "6.8.0-31-generic")[0] is True
    assert amx_usable(hidden, spr, None, "5.15.0-91-generic") == (
        False, "the CPU has AMX but kernel 5.15.0-91-generic predates Linux 5.16, the first to enable it: "
               "boot a 5.16+ kernel")
    no_xfd = decode(leaves({**SPR_CPUID, "0xd.0x1": regs(eax=(0, 1, 2, 3))}))
    assert amx_usable(hidden, no_xfd, None, "6.8.0")[1].startswith("the CPU reports AMX but not XFD")
    assert amx_usable(["avx2"], decode(leaves({**SPR_CPUID, "0x7.0x0": regs(eax_value=1)})), None, "6.8.0") == (
        False, "the CPU has no AMX (CPUID.(EAX=7,ECX=0):EDX[24] AMX-TILE clear)")
    usable, reason = amx_usable(hidden, None, "no dev/cpu/0/cpuid (cpuid driver not loaded)", "6.8.0")
    assert usable is False and reason.endswith("unknown: no dev/cpu/0/cpuid (cpuid driver not loaded)")
    assert amx_usable(None, None, None, None)[0] is None


def _profile(tmp: Path, text: str) -> Path:
    path = tmp / "profile.yaml"
    path.write_text(text)
    return path


def _cpuid_yaml(dump: dict[str, str]) -> str:
    return "cpuid:\n" + "".join(f'  "{leaf}": "{value}"\n' for leaf, value in dump.items())


def _facts(tmp: Path, profile_text: str) -> tuple[dict, Path]:
    root = tmp / "root"
    build_sysroot(load_hardware(_profile(tmp, profile_text)), root, "host")
    return node_facts_from_lines(run_probe_local(root)), root


def test_a_masked_granite_rapids_with_amx_fp16_only_in_cpuid_reads_graniterapids() -> None:
    masked = "include: spr-8480-2s\ncpu:\n  model: 167\n  model_name: Intel(R) Xeon(R) Processor\n"
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        gnr, _ = _facts(Path(tmp), masked + _cpuid_yaml(GNR_CPUID))
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        spr, _ = _facts(Path(tmp), masked + _cpuid_yaml(SPR_CPUID))
    assert "amx_fp16" not in gnr["cpu"]["flags"]  # the kernel never prints it
    assert (gnr["cpu"]["microarch"], gnr["cpu"]["microarch_source"]) == ("graniterapids", "flags")
    assert (gnr["cpu"]["isa"]["amx_fp16"], gnr["cpu"]["isa_source"]["amx_fp16"]) == (True, "cpuid")
    assert (spr["cpu"]["microarch"], spr["cpu"]["microarch_source"]) == ("sapphirerapids", "flags")


def test_the_lab_writes_cpuid_leaves_and_a_snapshot_of_them_gives_the_same_facts() -> None:
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        facts, root = _facts(Path(tmp), "include: icx-8380-2s\n" + _cpuid_yaml(AVX10_CPUID))
        assert (root / "dev/cpu/0/cpuid/0x7.0x1").read_text() == AVX10_CPUID["0x7.0x1"] + "\n"
        archive = Path(tmp) / "snap.tar.gz"
        snapshot_from_lines(run_probe_local(root, full_cpuinfo=True), archive)
        with tarfile.open(archive) as tar:
            tar.extractall(Path(tmp) / "snap", filter="data")
        assert node_facts_from_lines(run_probe_local(Path(tmp) / "snap")) == facts
    assert facts["cpu"]["avx10"] == {"version": 1, "vector_bits": 512}
    assert facts["power"]["msr"] is not None  # dev/cpu/N/ holds both the MSR and the CPUID files
    assert not [e for e in facts["errors"] if "MSR" in e or "cpuid" in e]


def _without_cpuid(name: str) -> str:
    """A shipped hardware profile's YAML with its cpuid: mapping dropped (the cpuid driver not loaded)."""
    data = yaml.safe_load(resources.packaged(f"data/hardware/{name}.yaml").read_text())
    del data["cpuid"]
    return yaml.safe_dump(data)


def test_a_profile_without_cpuid_leaves_the_cpuid_only_keys_null_and_says_why() -> None:
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        facts, root = _facts(Path(tmp), _without_cpuid("icx-8380-2s"))
        assert not (root / "dev/cpu/0/cpuid").exists()
    assert [facts["cpu"]["isa"][k] for k in ("amx_fp16", "avx10", "avx512_fp16")] == [None, None, False]
    assert any(e.startswith("no dev/cpu/0/cpuid") for e in facts["errors"])
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp, pytest.raises(HardwareProfileError, match="CPUID leaf"):
        load_hardware(_profile(Path(tmp), 'include: icx-8380-2s\ncpuid:\n  "7.1": "0 0 0 0"\n'))


def test_the_probe_reads_exactly_the_leaves_the_parser_decodes() -> None:
    (line,) = re.findall(r'^CPUID_LEAVES="([^"]*)"', PROBE_PATH.read_text(), re.M)
    assert line.split() == [f"0x{leaf:x}.0x{subleaf:x}" for leaf, subleaf in LEAVES]
    (reads,) = re.findall(r'^CPUID_READS="([^"]*)"', PROBE_PATH.read_text(), re.M)
    assert reads.split() == [f"0x{first:x}-0x{last:x}.0x{subleaf:x}" for first, subleaf, last in leaf_runs()]
    assert leaf_runs() == ((0x0, 0, 0x24), (0x7, 1, 0xD))  # two reads: subleaf 0 up to 24H, subleaf 1 from 7 to 0DH


@pytest.mark.skipif(not os.access(DEVICE, os.R_OK), reason="needs a readable /dev/cpu/0/cpuid (root, cpuid driver)")
def test_the_live_device_is_read_with_od_and_survives_a_snapshot(tmp_path: Path) -> None:
    lines = run_probe_local("/", parts=("cpu",))
    assert len([line for line in lines if line.startswith("dev/cpu/0/cpuid/")]) == len(LEAVES)
    live = node_facts_from_lines(lines)["cpu"]
    with open(DEVICE, "rb") as device:  # what the cpuid driver gives a pread at leaf | subleaf << 32
        ebx = int.from_bytes(os.pread(device.fileno(), 16, 7)[4:8], "little")
    assert live["isa"]["avx2"] is bool(ebx >> 5 & 1) and live["isa_source"]["avx512f"] == "cpuid"
    snapshot_from_lines(run_probe_local("/", full_cpuinfo=True), tmp_path / "snap.tar.gz")
    with tarfile.open(tmp_path / "snap.tar.gz") as tar:
        tar.extractall(tmp_path / "snap", filter="data")
    again = node_facts_from_lines(run_probe_local(tmp_path / "snap"))["cpu"]
    assert {k: again[k] for k in OWN_KEYS} == {k: live[k] for k in OWN_KEYS}


# The frameworks.isa verdicts on an AMX node whose BF16 matmul ran on AVX-512.
SPR_ISA = {"avx2": True, "avx512f": True, "avx512_vnni": True, "avx512_bf16": True, "amx_tile": True,
           "amx_int8": True, "amx_bf16": True}
RAN = "env ai: pytorch bf16 ran avx512_core_bf16 (brg_matmul:avx512_core_bf16)"


def _record(**stack: object) -> dict:
    precisions = {"bf16": {"isa": "avx512_core_bf16", "kernel": "brg_matmul:avx512_core_bf16", "src_type": "bf16"}}
    return {"name": "ai", "ok": True, "checks_version": node_env.CHECKS_VERSION, "runtime_knobs": {},
            "stacks": {"pytorch": {"variant": "plain", "precisions": precisions, **stack}}}


def test_amx_present_but_not_usable_is_told_apart_from_a_stack_that_did_not_dispatch_it() -> None:
    denied = dispatch_rule_input([_record(amx_permission="denied (EINVAL)")], SPR_ISA)
    assert denied["status"] == "fail"
    assert denied["evidence"] == [
        f"{RAN}: AMX present but not usable here (arch_prctl(ARCH_REQ_XCOMP_PERM) denied (EINVAL): the kernel "
        "does not know ARCH_REQ_XCOMP_PERM: Linux before 5.16; boot a 5.16+ kernel)"]
    reason = "the CPU has AMX but kernel 5.15.0 predates Linux 5.16, the first to enable it: boot a 5.16+ kernel"
    old_kernel = dispatch_rule_input([_record()], SPR_ISA, False, reason)
    assert old_kernel["evidence"] == [f"{RAN}: AMX present but not usable here ({reason})"]
    granted = dispatch_rule_input([_record(amx_permission="granted")], SPR_ISA, True, "enabled")
    assert granted["status"] == "fail"
    assert granted["evidence"] == [
        f"{RAN}, CPU allows avx512_core_amx: AMX was granted, this stack did not dispatch AMX: no variable caps "
        "it: this pytorch build lacks the kernel; pin another pytorch release"]


def test_each_check_asks_for_amx_before_its_kernels_and_records_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = env_checks.request_amx_permission()
    if "amx_tile" in env_checks.cpu_flags():
        assert answer == "granted"
    else:  # no AMX tile state to grant here (EOPNOTSUPP), or a kernel before 5.16 (EINVAL)
        assert answer in ("denied (EOPNOTSUPP)", "denied (EINVAL)")
    monkeypatch.setitem(env_checks.CHECKS, "faiss", lambda variant: {"ok": True})
    out = io.StringIO()
    with redirect_stdout(out):
        env_checks.cmd_check("faiss", "cpu")
    result = json.loads(out.getvalue().split(env_checks.RESULT_PREFIX, 1)[1])
    assert result == {"ok": True, "amx_permission": answer}


def test_the_captured_epyc_guest_decodes_its_cpuid_dump() -> None:
    cpu = node_facts_from_lines(run_probe_local(CORPUS / "kvm-epyc-zen3-2vcpu" / "root"))["cpu"]
    assert (cpu["isa"]["avx2"], cpu["isa_source"]["avx2"]) == (True, "cpuinfo")
    assert (cpu["isa"]["avx512f"], cpu["isa_source"]["avx512f"]) == (False, "cpuid")  # CPUID.7.0:EBX = 219c07ab
    assert (cpu["isa"]["amx_fp16"], cpu["isa_source"]["amx_fp16"]) == (False, "cpuid")  # 7.0 EAX = 0: no subleaf 1
    assert cpu["avx10"] == {"version": None, "vector_bits": None}
    assert (cpu["amx_usable"], cpu["amx_usable_reason"]) == (
        False, "the CPU has no AMX (CPUID.(EAX=7,ECX=0):EDX[24] AMX-TILE clear)")
