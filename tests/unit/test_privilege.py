"""A probe split by privilege: the login user reads what it may, the root-only reads (SMBIOS, MSRs, CPUID) go
through `sudo -n` with fixed command lines, and `xeonfleet sudoers` prints the drop-in that grants exactly them.

The probe runs for real as `nobody` (setpriv) on generated lab trees whose root-only files are made 0400, and
on this machine's own / ; the drop-in is checked by the real visudo and, in a private mount namespace (nothing
on the machine changes), installed for `nobody` so the real sudo lets the probe read through it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from xeonfleet import __version__
from xeonfleet.audit.rules import evaluate_node
from xeonfleet.bench.remote import REMOTE_DIR
from xeonfleet.cli.main import main
from xeonfleet.connect import privilege
from xeonfleet.connect.snapshot import snapshot_from_lines
from xeonfleet.facts.probe import ALL_PARTS, probe_command, run_probe_local
from xeonfleet.knobs import msr
from xeonfleet.knobs.status import UNKNOWN
from xeonfleet.lab.hardware import load_hardware
from xeonfleet.lab.sysroot import build_sysroot
from xeonfleet.parsers.cpuid import CPUID_DIR, LEAVES
from xeonfleet.parsers.node import DMI_TABLE, node_facts_from_lines
from xeonfleet.parsers.sections import parse_probe_output
from xeonfleet.profiles import load_profile

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() else None
BASE = load_profile("xeon-ai-base")
MSR_DEVICE = "dev/cpu/0/msr"
HARDWARE = "icx-8380-2s-mistuned"  # MSRs and uncore set, 12 of 16 DIMMs: its memory and MSR rules FAIL as root
GRANT = "(grant it with `xeonfleet sudoers --role audit`, or probe as root)"
# Sudoers' special characters (they would need a backslash) and its wildcards other than [0-9] classes.
_UNSAFE = re.compile(r"[*?,:=\\()!]")

can_switch_user = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                                     reason="needs root and setpriv to run the probe as nobody")
needs_visudo = pytest.mark.skipif(not shutil.which("visudo"), reason="no visudo (apt-get install sudo)")


def _as_nobody(root: str, parts: tuple[str, ...] = ALL_PARTS) -> list[str]:
    result = subprocess.run([*NOBODY, "sh", "-c", probe_command(parts, root, pack=False)], capture_output=True,
                            text=True, errors="replace",
                            timeout=60, check=False, cwd="/")
    return result.stdout.splitlines()


# --- the command lists -------------------------------------------------------------------------------------

def test_every_root_read_is_a_fixed_od_command_without_wildcards() -> None:
    commands = privilege.smbios_reads() + privilege.msr_reads() + privilege.cpuid_reads()
    assert commands == [c for grant in privilege.PROBE_GRANTS for c in grant.commands]
    for command in commands:
        assert command.startswith(f"{privilege.OD} -An -v -tx"), command
        assert not _UNSAFE.search(command), command
        assert not re.sub(r"\[0-9\]", "", command).count("["), command
    assert privilege.smbios_reads() == [f"/usr/bin/od -An -v -tx1 /{DMI_TABLE}"]


def test_the_msr_reads_are_the_knobs_registers_of_any_cpu_number() -> None:
    reads = privilege.msr_reads()
    assert len(reads) == len(msr.ADDRESSES) * privilege.CPU_NUMBER_DIGITS
    for address in msr.ADDRESSES:
        assert f"/usr/bin/od -An -v -tx8 -j {address} -N 8 /dev/cpu/[0-9][0-9][0-9]/msr" in reads
    assert "/usr/bin/od -An -v -tx8 -j 420 -N 8 /dev/cpu/[0-9]/msr" in reads  # 0x1a4: MISC_FEATURE_CONTROL


def test_the_cpuid_reads_cover_the_parsers_leaves_at_the_drivers_offsets() -> None:
    """A read at first | subleaf << 32 of 16 x N bytes gives leaves first .. first + N - 1 of that subleaf."""
    covered = set()
    for command in privilege.cpuid_reads():
        offset, size = map(int, re.search(r"-j (\d+) -N (\d+) ", command).groups())
        covered |= {((offset & 0xFFFFFFFF) + i, offset >> 32) for i in range(size // 16)}
    assert set(LEAVES) <= covered and len(privilege.cpuid_reads()) == 2  # one sudo od per subleaf
    assert (0x7, 1) in covered and len(covered) == 0x25 + 7  # 7.1: AMX-FP16, AVX-VNNI-INT8, AVX10
    assert all(c.endswith(f" /{CPUID_DIR}") for c in privilege.cpuid_reads())


def test_the_bench_note_names_the_benchmarks_node_directory() -> None:
    assert privilege.BENCH_DIR == REMOTE_DIR


# --- the drop-in -------------------------------------------------------------------------------------------

def _visudo(text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "dropin"
    path.write_text(text)
    return subprocess.run(["visudo", "-c", "-f", str(path)], capture_output=True, text=True, check=False)


@needs_visudo
@pytest.mark.parametrize("user", ["ops", "%xeon-ops"])
@pytest.mark.parametrize("role", privilege.ROLES)
def test_every_role_passes_visudo(role: str, user: str, tmp_path: Path) -> None:
    checked = _visudo(privilege.dropin(role, user, "1.0"), tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_audit_dropin_grants_exactly_the_probe_reads() -> None:
    text = privilege.dropin("audit", "ops", "1.0")
    rules = [line for line in text.splitlines() if not line.startswith("#")]
    aliases = "XEONFLEET_AUDIT_OPS_SMBIOS, XEONFLEET_AUDIT_OPS_MSR, XEONFLEET_AUDIT_OPS_CPUID"
    assert rules[-2:] == [f"Defaults!{aliases} !requiretty", f"ops ALL=(root) NOPASSWD: {aliases}"]
    listed = [line.strip().removesuffix(", \\").partition(" = ")[2] or line.strip().removesuffix(", \\")
              for line in rules[:-2] if not line.endswith("= \\")]
    assert sorted(listed) == sorted(privilege.smbios_reads() + privilege.msr_reads() + privilege.cpuid_reads())
    assert "ALL" not in " ".join(rules[:-1]).split()
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "/etc/sudoers.d/xeonfleet-audit" in header and "visudo -c -f" in header


@needs_visudo
def test_every_dropin_for_one_user_and_the_agents_pass_together(tmp_path: Path) -> None:
    """One sudoers configuration holding each role's drop-in for ops and the audit agent's: sudo refuses two
    definitions of one alias, so each file names its own."""
    texts = [privilege.dropin(role, "ops", "1.0") for role in privilege.ROLES]
    texts.append(privilege.dropin("audit", "xeonfleet-agent", "1.0", "/etc/sudoers.d/xeonfleet-agent"))
    checked = _visudo("".join(texts), tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert texts[-1].startswith("# /etc/sudoers.d/xeonfleet-agent: generated by")


def test_the_tune_dropin_says_why_it_is_all() -> None:
    text = privilege.dropin("tune", "deploy", "1.0")
    assert "Cmnd_Alias XEONFLEET_TUNE_DEPLOY_ALL = ALL" in text
    assert "`sudo -H -n sh -c '<command>'`" in text and "sudoers cannot narrow this role" in text
    # ALL must not lift requiretty for other users: the default is scoped to this one
    assert "Defaults:deploy !requiretty" in text and "Defaults!" not in text


def test_the_bench_dropin_is_the_audit_grant_plus_its_directory() -> None:
    bench, audit = privilege.dropin("bench", "ops", "1"), privilege.dropin("audit", "ops", "1")
    code = [line.replace("XEONFLEET_BENCH_", "XEONFLEET_AUDIT_") for line in bench.splitlines() if line[:1] != "#"]
    assert code == [line for line in audit.splitlines() if not line.startswith("#")]
    assert f"install -d -o ops {REMOTE_DIR}" in bench
    assert f"install -d -g ops -m 2775 {REMOTE_DIR}" in privilege.dropin("bench", "%ops", "1")


@pytest.mark.parametrize("user", ["root", "ALL", "OPS", "a b", "ops,root", "ops:x", "-x", ""])
def test_names_sudoers_would_read_otherwise_are_refused(user: str) -> None:
    with pytest.raises(ValueError, match="--user"):
        privilege.dropin("audit", user, "1")


def test_the_command_prints_the_dropin_or_one_error_line() -> None:
    result = CliRunner().invoke(main, ["sudoers", "--role", "audit", "--user", "ops"])
    assert result.exit_code == 0 and result.output == privilege.dropin("audit", "ops", __version__)
    bad = CliRunner().invoke(main, ["sudoers", "--role", "audit", "--user", "root"])
    assert bad.exit_code == 2 and bad.output.count("\n") == 1 and bad.output.startswith("error: --user root")
    assert CliRunner().invoke(main, ["sudoers", "--role", "admin", "--user", "ops"]).exit_code == 2


# --- the probe as a user without root ----------------------------------------------------------------------

def test_the_section_marks_root_only_files() -> None:
    out = parse_probe_output(["@@@ xeonfleet-probe 1", f"@@@ unreadable {DMI_TABLE} needs-root",
                              "@@@ unreadable sys/other", "@@@ end"])
    assert out.needs_root == {DMI_TABLE} and out.unreadable == [DMI_TABLE, "sys/other"]


@pytest.fixture(scope="module")
def root_only_tree() -> Iterator[Path]:
    """A generated lab tree whose SMBIOS table and MSR devices are root-only (0400), with a root-only (empty)
    CPUID device in place of the snapshot's leaf files, as on a live host; the tree itself is open to all."""
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        os.chmod(tmp, 0o755)
        root = Path(tmp) / "root"
        build_sysroot(load_hardware(HARDWARE), root, "privilege")
        shutil.rmtree(root / CPUID_DIR)
        (root / CPUID_DIR).write_bytes(b"")  # the device's leaves cannot be a file: leaf N is at offset N
        for path in [root / DMI_TABLE, root / CPUID_DIR, *root.glob("dev/cpu/*/msr")]:
            path.chmod(0o400)
        yield root


@can_switch_user
def test_a_user_without_root_names_each_root_only_file_once(root_only_tree: Path) -> None:
    lines = _as_nobody(str(root_only_tree))
    marked = [line for line in lines if line.startswith("@@@ unreadable")]
    assert marked == [f"@@@ unreadable {MSR_DEVICE} needs-root", f"@@@ unreadable {CPUID_DIR} needs-root",
                      f"@@@ unreadable {DMI_TABLE} needs-root"]
    assert lines[-1] == "@@@ end" and not [line for line in lines if "/msr/0x" in line]


@can_switch_user
def test_facts_read_without_root_are_null_with_the_reason_and_their_rules_unknown(root_only_tree: Path) -> None:
    as_root = node_facts_from_lines(run_probe_local(root_only_tree))
    facts = node_facts_from_lines(_as_nobody(str(root_only_tree)))
    assert facts["memory"]["dimms"] == [] and facts["bios"]["vendor"] is None
    assert facts["power"]["msr"] is None and facts["cpu"]["isa"]["amx_fp16"] is None
    assert f"needs root: SMBIOS /{DMI_TABLE} {GRANT}: BIOS and DIMMs unknown" in facts["errors"]
    assert f"needs root: MSRs /{MSR_DEVICE} {GRANT}: power.msr unknown" in facts["errors"]
    assert any(e.startswith(f"needs root: CPUID /{CPUID_DIR} {GRANT}: cpu.isa") for e in facts["errors"])
    # what a user may read is read all the same
    for key in ("cpu", "numa", "os"):
        assert {k: v for k, v in facts[key].items() if k not in ("isa", "isa_source", "avx10", "amx_usable_reason")} \
            == {k: v for k, v in as_root[key].items() if k not in ("isa", "isa_source", "avx10", "amx_usable_reason")}
    assert facts["power"]["governor"] == as_root["power"]["governor"] and facts["power"]["uncore"]

    judged = {f.rule: f for f in evaluate_node("h", as_root, BASE)}
    unjudged = {f.rule: f for f in evaluate_node("h", facts, BASE)}
    msr_rules = [rule for rule in unjudged if rule.startswith(("power.prefetcher.", "power.c1"))]
    memory_rules = [rule for rule in unjudged if rule.startswith("memory.")]
    assert msr_rules and memory_rules
    assert {judged[rule].status for rule in msr_rules + memory_rules} - {UNKNOWN}  # root can judge them
    for rule in msr_rules + memory_rules:
        assert unjudged[rule].status == UNKNOWN, (rule, unjudged[rule].status, unjudged[rule].evidence)


@can_switch_user
def test_a_snapshot_keeps_the_reads_its_login_was_refused(root_only_tree: Path, tmp_path: Path) -> None:
    """Offline, the snapshot of a probe without grants says "needs root" as the live facts did, not "no SMBIOS"."""
    live = node_facts_from_lines(_as_nobody(str(root_only_tree)))
    tarball = tmp_path / "snap.tar.gz"
    snapshot_from_lines(_as_nobody(str(root_only_tree)), tarball)
    with tarfile.open(tarball) as tar:
        tar.extractall(tmp_path / "snap", filter="data")
    offline = node_facts_from_lines(run_probe_local(tmp_path / "snap"))
    refused = sorted(e for e in live["errors"] if e.startswith("needs root:"))
    assert refused and sorted(e for e in offline["errors"] if e.startswith("needs root:")) == refused
    memory = {f.rule: f for f in evaluate_node("h", offline, BASE)}["memory.channels"]
    assert memory.status == UNKNOWN and "xeonfleet sudoers --role audit" in memory.evidence


@can_switch_user
@pytest.mark.skipif(not Path("/dev/cpu/0/cpuid").exists(), reason="no cpuid driver on this machine")
def test_the_live_probe_without_a_grant_never_waits_for_a_password() -> None:
    """On this machine's own /: sudo, if installed, refuses nobody; -n means no prompt, so no hang."""
    lines = _as_nobody("", ("cpu",))
    assert f"@@@ unreadable {CPUID_DIR} needs-root" in lines and lines[-1] == "@@@ end"
    assert any(e.startswith(f"needs root: CPUID /{CPUID_DIR}") for e in node_facts_from_lines(lines)["errors"])


# --- the drop-in, installed, lets the probe read through sudo ----------------------------------------------

def _can_unshare_mounts() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-m", "true"], capture_output=True, check=False).returncode == 0


# In a private mount namespace: the drop-in over /etc/sudoers.d, the tree's SMBIOS table and MSR device
# (root-only copies) over /sys/firmware and /dev/cpu, with this machine's real cpuid device kept.
_NAMESPACE = """set -e
mount --bind "$T/sudoers.d" /etc/sudoers.d
mount -t tmpfs none /sys/firmware
mkdir -p /sys/firmware/dmi/tables
cp "$TREE/sys/firmware/dmi/tables/DMI" /sys/firmware/dmi/tables/DMI
chmod 0400 /sys/firmware/dmi/tables/DMI
if [ -e /dev/cpu/0/cpuid ]; then : > "$T/cpu/0/cpuid"; mount --bind /dev/cpu/0/cpuid "$T/cpu/0/cpuid"; fi
mount --rbind "$T/cpu" /dev/cpu
cd /
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "$PROBE"
echo "@@@ sudo -l of a widened command line"
setpriv --reuid=65534 --regid=65534 --clear-groups sudo -n -l /usr/bin/od -An -v -tx8 -j 420 -N 8 \\
    /dev/cpu/0 /etc/shadow /dev/cpu/0/msr 2>&1 || echo "refused $?"
"""


needs_sudo_namespace = pytest.mark.skipif(
    not _can_unshare_mounts() or not shutil.which("sudo") or not shutil.which("setpriv"),
    reason="needs root, unshare -m, setpriv and sudo (apt-get install sudo)")


def _through_sudo(tree: Path, dropin: str) -> tuple[list[str], str]:
    """(the probe's lines as nobody with `dropin` installed, what sudo -l said of a widened MSR read)."""
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        (work / "sudoers.d").mkdir()
        (work / "sudoers.d/xeonfleet-audit").write_text(dropin)
        (work / "sudoers.d/xeonfleet-audit").chmod(0o440)
        (work / "cpu/0").mkdir(parents=True)
        shutil.copyfile(tree / MSR_DEVICE, work / "cpu/0/msr")
        (work / "cpu/0/msr").chmod(0o400)
        env = {**os.environ, "T": str(work), "TREE": str(tree),
               "PROBE": probe_command(("cpu", "memory", "power"), "", pack=False)}
        result = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", _NAMESPACE], env=env,
                                capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    probe, _, widened = result.stdout.partition("@@@ sudo -l of a widened command line\n")
    return probe.splitlines(), widened


@needs_sudo_namespace
def test_the_audit_dropin_lets_a_user_read_exactly_the_root_only_files(root_only_tree: Path) -> None:
    lines, widened = _through_sudo(root_only_tree, privilege.dropin("audit", "nobody", "test"))
    assert widened.strip().endswith("refused 1")  # no `*` in the grant: the extra file is not let through
    assert not [line for line in lines if line.startswith("@@@ unreadable")]
    facts, tree = node_facts_from_lines(lines), node_facts_from_lines(run_probe_local(root_only_tree))
    assert facts["memory"]["dimms"] == tree["memory"]["dimms"] and facts["bios"] == tree["bios"]
    assert facts["power"]["msr"] == tree["power"]["msr"] == {"0x1a4": 0x3, "0x1fc": 0x2904005F, "0xe2": 0x14000403}
    if Path("/dev/cpu/0/cpuid").exists():  # the real device, read by root directly and by nobody through sudo
        live = [line for line in run_probe_local("/", ("cpu",)) if line.startswith(f"{CPUID_DIR}/")]
        assert len(live) == len(LEAVES) and [line for line in lines if line.startswith(f"{CPUID_DIR}/")] == live


@needs_sudo_namespace
def test_a_dropin_without_one_kind_of_read_still_grants_the_others(root_only_tree: Path) -> None:
    """As a drop-in from an older xeonfleet, whose MSR list differs: only the MSRs need root."""
    dropin = privilege.dropin("audit", "nobody", "test").replace("-N 8 /dev/cpu/", "-N 16 /dev/cpu/")
    lines, _ = _through_sudo(root_only_tree, dropin)
    assert [line for line in lines if line.startswith("@@@ unreadable")] == [f"@@@ unreadable {MSR_DEVICE} needs-root"]
    facts = node_facts_from_lines(lines)
    assert facts["power"]["msr"] is None and facts["bios"]["vendor"] is not None
