"""deploys/ai_node.py and deploys/restore.py with the real pyinfra CLI on lab fleets.

Guarantees checked (issue 4): after the deploy the audit passes every tunable rule; a second run changes
nothing; --dry changes nothing (checksums of each host's writable layers); restore returns every host's
facts to their pre-deploy values and removes what the deploy added; a host killed mid-run does not stop
the others and the next run converges; wrong host data fails that host alone with nothing applied.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xeonfleet.knobs.status import NA, PASS
from xeonfleet.knobs import knobs_for
from xeonfleet.lab.fleet import Lab
from xeonfleet.lab.hosts import LabHost
from xeonfleet.parsers.node import node_facts_from_lines
from xeonfleet.facts.probe import probe_command
from xeonfleet.profiles import load_profile
from xeonfleet.audit.rules import evaluate_node

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
PYINFRA = str(Path(sys.executable).parent / "pyinfra")
ADDED_PATHS = ("/etc/profile.d/xeonfleet-ai.sh", "/etc/sysctl.d/90-xeonfleet.conf", "/usr/local/bin/xeonfleet-run",
               "/etc/systemd/system/xeonfleet-tune.service", "/usr/local/sbin/xeonfleet-tune.sh",
               "/etc/systemd/system/multi-user.target.wants/xeonfleet-tune.service",
               "/var/lib/xeonfleet", "/usr/local/lib/xeonfleet")


def pyinfra(lab: Lab, *argv: str, options: tuple[str, ...] = (), inventory: str = "inventories/lab.py",
            ) -> subprocess.CompletedProcess:
    """`pyinfra -y [OPTIONS] INVENTORY ARGV...` from the repo root against this lab."""
    return subprocess.run([PYINFRA, "-y", *options, inventory, *argv], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir)}, timeout=300)


def changes(output: str) -> dict[str, int]:
    """Operations that ran commands, per host ("[lab-01] Success" lines)."""
    counts: dict[str, int] = {}
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("] Success"):
            name = line[1:line.index("]")]
            counts[name] = counts.get(name, 0) + 1
    return counts


def node_facts(lab: Lab, name: str) -> dict:
    result = lab.exec(name, ["sh", "-c", probe_command()])
    return node_facts_from_lines(result.stdout.splitlines())


def knob_failures(lab: Lab, name: str, profile: str = "xeon-ai-base") -> list[str]:
    """Tunable rules (power/os/runtime/numa.balancing: the knobs) that are neither pass nor n/a."""
    loaded = load_profile(profile)
    knob_ids = {knob.id for knob in knobs_for(loaded)}
    return [f"{f.rule}={f.status} ({f.evidence})" for f in evaluate_node(name, node_facts(lab, name), loaded)
            if f.rule in knob_ids and f.status not in (PASS, NA)]


def layer_checksum(host: LabHost) -> str:
    """Everything a deploy can write on a host: its overlay upper dir and its generated /proc + /sys tree."""
    digest = hashlib.sha256()
    for top in (host.upper_dir, host.tree_dir):
        for path in sorted(top.rglob("*")):
            digest.update(str(path.relative_to(top)).encode())
            if path.is_symlink():
                digest.update(os.readlink(path).encode())
            elif path.is_file():
                digest.update(oct(path.stat().st_mode).encode() + path.read_bytes())
    return digest.hexdigest()


def present(lab: Lab, name: str, paths: tuple[str, ...]) -> list[str]:
    result = lab.exec(name, ["sh", "-c", " ".join(f"[ -e {p} ] || [ -L {p} ] && echo {p};" for p in paths)])
    return result.stdout.split()


def test_dry_apply_rerun_restore(lab_factory) -> None:
    lab = lab_factory(["icx-8380-2s-mistuned", "clx-6248-2s", "cloud-vm"])
    names = [h.name for h in lab.hosts]
    before = {name: node_facts(lab, name) for name in names}
    assert any(knob_failures(lab, name) for name in names), "the lab should start mis-tuned"

    # A first SSH login writes by itself (root's shell start-up files, e.g. pyenv shims); take the
    # baseline after one, so the comparison sees only what pyinfra --dry does.
    assert pyinfra(lab, "exec", "--", "true").returncode == 0
    sums = {h.name: layer_checksum(h) for h in lab.hosts}
    dry = pyinfra(lab, "deploys/ai_node.py", options=("--dry",))
    assert dry.returncode == 0, dry.stderr + dry.stdout
    assert {h.name: layer_checksum(h) for h in lab.hosts} == sums, "--dry changed a host"

    first = pyinfra(lab, "deploys/ai_node.py")
    assert first.returncode == 0, first.stderr + first.stdout
    assert changes(first.stdout + first.stderr), "the first run should change the mis-tuned hosts"
    for name in names:
        assert knob_failures(lab, name) == [], name
    assert "manual fix needed (not tunable): numa.snc" in first.stdout + first.stderr

    second = pyinfra(lab, "deploys/ai_node.py")
    assert second.returncode == 0, second.stderr + second.stdout
    assert changes(second.stdout + second.stderr) == {}, second.stdout

    restored = pyinfra(lab, "deploys/restore.py")
    assert restored.returncode == 0, restored.stderr + restored.stdout
    for name in names:
        after = node_facts(lab, name)
        differing = sorted(k for k in before[name] if before[name][k] != after.get(k))
        assert differing == [], f"{name}: {differing}"
        assert present(lab, name, ADDED_PATHS) == [], name
    again = pyinfra(lab, "deploys/restore.py")
    assert again.returncode == 0 and changes(again.stdout + again.stderr) == {}


def test_killed_host_does_not_stop_others(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory(["icx-8380-2s-mistuned"], hosts=3)
    victim, survivors = "lab-02", ["lab-01", "lab-03"]
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen([PYINFRA, "-y", "inventories/lab.py", "deploys/ai_node.py"], cwd=REPO, stdout=out,
                                stderr=subprocess.STDOUT, env={**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir)})
        deadline = time.monotonic() + 120
        while "Starting operation" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        lab.stop(victim)
        proc.wait(timeout=300)
    for name in survivors:
        assert knob_failures(lab, name) == [], log.read_text()
    assert lab.start(victim).answering
    rerun = pyinfra(lab, "deploys/ai_node.py")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert knob_failures(lab, victim) == []
    assert set(changes(rerun.stdout)) <= {victim}


def test_wrong_host_data_fails_that_host_alone(lab_factory, tmp_path: Path) -> None:
    lab = lab_factory(["icx-8380-2s-mistuned"], hosts=4)
    bad_profile = tmp_path / "schedutil.yaml"
    bad_profile.write_text("include: xeon-ai-base\npower:\n  governor: schedutil\n")
    overrides = {
        "lab-01": {"xeonfleet_cores_per_instance": 64},
        "lab-02": {"xeonfleet_profile": str(bad_profile)},
        "lab-03": {"xeonfleet_install_packages": False},
    }
    lab.exec("lab-03", ["rm", "-f", "/usr/bin/cpupower"])  # a whiteout in that host's overlay only
    inventory = tmp_path / "inventory.py"
    inventory.write_text(
        "from xeonfleet.lab.fleet import Lab\n"
        f"OVERRIDES = {overrides!r}\n"
        "hosts = [(name, {**data, **OVERRIDES.get(name, {})}) for name, data in Lab().inventory_hosts()]\n"
    )
    assert pyinfra(lab, "exec", "--", "true").returncode == 0  # login side effects happen before the baseline
    sums = {h.name: layer_checksum(h) for h in lab.hosts}
    run = pyinfra(lab, "deploys/ai_node.py", inventory=str(inventory))
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "xeonfleet_cores_per_instance=64 is larger than a NUMA node (20 physical cores)" in output
    assert "governor 'schedutil' is not offered" in output
    assert "cpupower required by the profile (os.tools) but absent" in output
    for name in overrides:
        assert layer_checksum(lab.host(name)) == sums[name], f"{name} was changed despite its error"
    assert knob_failures(lab, "lab-04") == [], output


GRUB_LINE = 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"'
# The lab has no boot loader: this stand-in for Debian's update-grub writes the cmdline the next boot
# would get where grub.cfg would be, so the test can see the boot config was (re)built from the file.
STAND_IN_UPDATE_GRUB = "#!/bin/sh\nmkdir -p /boot/grub\ngrep '^GRUB_CMDLINE_LINUX_DEFAULT=' /etc/default/grub > /boot/grub/grub.cfg\n"


def test_kernel_cmdline_goes_into_grub_and_restore_takes_it_out(lab_factory, tmp_path: Path) -> None:
    """xeonfleet_kernel_cmdline: true edits /etc/default/grub and rebuilds the boot config; a host
    without update-grub/grub2-mkconfig fails in one line with its file untouched; restore rebuilds too."""
    lab = lab_factory(["icx-8380-2s-mistuned"], hosts=2)
    for name in ("lab-01", "lab-02"):
        lab.exec(name, ["sh", "-c", f"mkdir -p /etc/default && echo {shlex.quote(GRUB_LINE)} > /etc/default/grub"])
    lab.exec("lab-01", ["sh", "-c", f"printf '%s' {shlex.quote(STAND_IN_UPDATE_GRUB)} > /usr/sbin/update-grub && "
                                    "chmod +x /usr/sbin/update-grub"])
    inventory = tmp_path / "inventory.py"
    inventory.write_text("from xeonfleet.lab.fleet import Lab\n"
                         "hosts = [(name, {**data, 'xeonfleet_kernel_cmdline': True}) "
                         "for name, data in Lab().inventory_hosts()]\n")

    def grub(name: str) -> str:
        return lab.exec(name, ["sh", "-c", "cat /etc/default/grub /boot/grub/grub.cfg 2>/dev/null"]).stdout

    run = pyinfra(lab, "deploys/ai_node.py", inventory=str(inventory))
    output = run.stdout + run.stderr
    wanted = 'GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_idle.max_cstate=1"\n'
    assert grub("lab-01") == wanted * 2, output  # the file and the rebuilt boot config
    assert run.returncode != 0
    assert ("no update-grub or grub2-mkconfig on this host: add intel_idle.max_cstate=1 to its boot loader "
            "by hand") in output
    assert grub("lab-02") == GRUB_LINE + "\n"

    again = pyinfra(lab, "deploys/ai_node.py", options=("--limit", "lab-01"), inventory=str(inventory))
    assert again.returncode == 0 and changes(again.stdout + again.stderr) == {}, again.stdout
    assert grub("lab-01") == wanted * 2  # in the file, not yet booted: left as it is

    restored = pyinfra(lab, "deploys/restore.py", options=("--limit", "lab-01"), inventory=str(inventory))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert grub("lab-01") == (GRUB_LINE + "\n") * 2


def test_missing_numactl_is_installed_by_apt_and_removed_by_restore(lab_factory) -> None:
    """A host whose numactl package is gone (dpkg --remove in its overlay only): the deploy installs it with
    apt-get, the audit's tool rule passes, and restore removes the package it installed."""
    lab = lab_factory(["icx-8380-2s"], hosts=1)
    removed = lab.exec("lab-01", ["sh", "-c", "DEBIAN_FRONTEND=noninteractive dpkg --remove numactl"])
    assert removed.returncode == 0, removed.stderr
    assert node_facts(lab, "lab-01")["tools"]["numactl"] is False

    run = pyinfra(lab, "deploys/ai_node.py")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert node_facts(lab, "lab-01")["tools"]["numactl"] is True
    assert knob_failures(lab, "lab-01") == []

    restored = pyinfra(lab, "deploys/restore.py")
    assert restored.returncode == 0, restored.stdout[-3000:] + restored.stderr[-2000:]
    assert node_facts(lab, "lab-01")["tools"]["numactl"] is False
    assert lab.exec("lab-01", ["dpkg-query", "-W", "-f=${Status}", "numactl"]).stdout.strip() != "install ok installed"


# Every new knob away from its hardware default, so each one changes on every host that has it.
NEW_KNOBS_PROFILE = """\
include: xeon-ai-base
power:
  c1e: true
  c1_demotion: true
  prefetchers: {l2_streamer: false, l2_adjacent: false, dcu_streamer: false, dcu_ip: false,
                dcu_next_page: false, l2_amp: false}
  uncore_min: max
  uncore_max: 2000000
"""
NEW_KNOB_PREFIXES = ("power.prefetcher.", "power.c1e", "power.c1_demotion", "power.uncore_")


def register_files(host: LabHost) -> dict[str, bytes]:
    """The bytes of every simulated MSR device and uncore limit file of a host's generated tree."""
    tree = host.tree_dir
    paths = [*(tree / "dev/cpu").rglob("msr"), *(tree / "sys/devices/system/cpu/intel_uncore_frequency").rglob("*")]
    return {str(p.relative_to(tree)): p.read_bytes() for p in sorted(paths) if p.is_file()}


@pytest.mark.skipif(not Path("/dev/cpu").is_dir(), reason="no /dev/cpu on this machine to mount the lab's MSR files on")
def test_msr_and_uncore_knobs_dry_apply_rerun_restore(lab_factory, tmp_path: Path) -> None:
    """Prefetchers, C1E, C1 auto-demotion and uncore limits on Ice Lake, Sapphire Rapids, mistuned Ice Lake
    and EPYC: --dry changes nothing, apply makes them pass (n/a on AMD and where a microarch lacks the
    control), the boot script re-applies them, a re-run changes nothing, restore puts every byte back."""
    lab = lab_factory(["icx-8380-2s", "spr-8480-2s", "icx-8380-2s-mistuned", "epyc-7763-2s"])
    profile_path = tmp_path / "new-knobs.yaml"
    profile_path.write_text(NEW_KNOBS_PROFILE)
    inventory = tmp_path / "inventory.py"
    inventory.write_text("from xeonfleet.lab.fleet import Lab\n"
                         f"hosts = [(name, {{**data, 'xeonfleet_profile': {str(profile_path)!r}}}) "
                         "for name, data in Lab().inventory_hosts()]\n")
    profile = load_profile(str(profile_path))
    names = [h.name for h in lab.hosts]
    before = {name: node_facts(lab, name) for name in names}
    registers = {h.name: register_files(h) for h in lab.hosts}

    def new_knobs(name: str) -> dict[str, tuple[str, str]]:
        return {f.rule: (f.status, f.evidence) for f in evaluate_node(name, node_facts(lab, name), profile)
                if f.rule.startswith(NEW_KNOB_PREFIXES)}

    assert pyinfra(lab, "exec", "--", "true", inventory=str(inventory)).returncode == 0
    sums = {h.name: layer_checksum(h) for h in lab.hosts}
    dry = pyinfra(lab, "deploys/ai_node.py", options=("--dry",), inventory=str(inventory))
    assert dry.returncode == 0, dry.stdout[-3000:]
    assert {h.name: layer_checksum(h) for h in lab.hosts} == sums, "--dry changed a host"

    first = pyinfra(lab, "deploys/ai_node.py", inventory=str(inventory))
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    icx, spr, mistuned, epyc = (new_knobs(name) for name in names)
    for verdicts in (icx, spr, mistuned):
        assert {status for status, _ in verdicts.values()} <= {PASS, NA}, verdicts
        assert verdicts["power.c1e"] == (PASS, "on") and verdicts["power.prefetcher.l2_streamer"] == (PASS, "off")
        assert verdicts["power.uncore_min"][0] == PASS
    assert icx["power.prefetcher.l2_amp"] == (NA, "icelake-server has no L2 adaptive multipath probability "
                                                  "(AMP) prefetcher control")
    assert spr["power.prefetcher.l2_amp"] == (PASS, "off")
    assert {status for status, _ in epyc.values()} == {NA}
    msr = node_facts(lab, "lab-01")["power"]["msr"]
    # 0x1a4 bits 0-3 set (prefetchers off); C1E bit 1 of 0x1fc and C1 demotion bit 26 of 0xe2 set, nothing else moved.
    assert msr == {"0x1a4": 0xF, "0x1fc": 0x2904005F, "0xe2": 0x4000403}
    boot = lab.exec("lab-01", ["sh", "/usr/local/sbin/xeonfleet-tune.sh"])
    assert boot.returncode == 0 and "set-msr-bit" in lab.exec("lab-01", ["cat", "/usr/local/sbin/xeonfleet-tune.sh"]).stdout

    second = pyinfra(lab, "deploys/ai_node.py", inventory=str(inventory))
    assert second.returncode == 0 and changes(second.stdout + second.stderr) == {}, second.stdout[-3000:]

    restored = pyinfra(lab, "deploys/restore.py", inventory=str(inventory))
    assert restored.returncode == 0, restored.stdout[-3000:] + restored.stderr[-2000:]
    for host in lab.hosts:
        assert register_files(host) == registers[host.name], f"{host.name}: an MSR or uncore file differs"
        after = node_facts(lab, host.name)
        assert sorted(k for k in before[host.name] if before[host.name][k] != after.get(k)) == [], host.name
