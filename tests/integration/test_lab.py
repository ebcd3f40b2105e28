"""The lab fleet end to end: real namespaced sshd hosts, reached over real SSH (paramiko)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import paramiko
import pytest
from click.testing import CliRunner

from xeonfleet.cli.main import main
from xeonfleet.lab.errors import LabError
from xeonfleet.lab.fleet import Lab
from xeonfleet.lab.hardware import load_hardware
from xeonfleet.lab.ports import find_free_port_base, port_is_free

pytestmark = pytest.mark.lab
REPO_DIR = Path(__file__).resolve().parents[2]

HARDWARE = ["icx-8380-2s", "cloud-vm", "epyc-7763-2s", "icx-8380-2s"]  # lab-04 shares lab-01's profile
GOVERNOR = "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"


@pytest.fixture(scope="module")
def lab(lab_factory) -> Lab:
    return lab_factory(HARDWARE)


def ssh(lab: Lab, name: str, command: str) -> tuple[int, str]:
    """Run `command` on a lab host over SSH, checking its host key strictly like pyinfra does."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        "127.0.0.1",
        port=lab.host(name).port,
        username="root",
        key_filename=str(lab.client_key),
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    try:
        _, stdout, stderr = client.exec_command(command, timeout=30)
        out = stdout.read().decode() + stderr.read().decode()
        return stdout.channel.recv_exit_status(), out
    finally:
        client.close()


def run_cli(wrapper: list[str], args: list[str]) -> subprocess.CompletedProcess:
    """The real `xeonfleet` entry point in a child process started through `wrapper` (setpriv)."""
    return subprocess.run(
        [*wrapper, sys.executable, "-c", "from xeonfleet.cli.main import main; main()", *args],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def overlay_lower(tree: Path) -> Path:
    """The lower dir of the overlay mounted at `tree`, read from this process's mountinfo."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, super_fields = line.partition(" - ")
        if fields.split()[4] == str(tree):
            options = dict(option.partition("=")[::2] for option in super_fields.split()[2].split(","))
            return Path(options["lowerdir"])
    raise AssertionError(f"no overlay mounted at {tree}")


def disk_usage(top: Path) -> int:
    return sum(path.lstat().st_blocks * 512 for path in top.rglob("*"))


def test_each_host_shows_its_own_hardware(lab: Lab) -> None:
    for host in lab.hosts:
        profile = load_hardware(host.hardware)
        rc, out = ssh(lab, host.name, f"hostname; grep -m1 'model name' /proc/cpuinfo; cat /{GOVERNOR}")
        lines = out.splitlines()
        assert lines[0] == host.name
        assert lines[1].split(":", 1)[1].strip() == profile.cpu.model_name
        if profile.has_cpufreq:
            assert (rc, lines[2]) == (0, profile.power.governor)
        else:
            assert rc != 0 and "No such file" in out


def test_governor_write_persists_across_sessions_and_restart(lab: Lab) -> None:
    name = "lab-01"  # icx-8380-2s: performance by default
    assert ssh(lab, name, f"echo powersave > /{GOVERNOR}")[0] == 0
    try:
        assert ssh(lab, name, f"cat /{GOVERNOR}") == (0, "powersave\n")
        assert (lab.host(name).tree_dir / GOVERNOR).read_text() == "powersave\n"

        lab.stop(name)
        assert [s.state for s in lab.status() if s.host.name == name] == ["down"]
        with pytest.raises(OSError):
            ssh(lab, name, "true")
        assert lab.start(name).answering
        assert ssh(lab, name, f"cat /{GOVERNOR}") == (0, "powersave\n")
    finally:
        ssh(lab, name, f"echo performance > /{GOVERNOR}")


def test_hosts_of_one_profile_share_one_read_only_tree_and_keep_their_own_identity(lab: Lab) -> None:
    first, twin, other = lab.host("lab-01"), lab.host("lab-04"), lab.host("lab-02")
    lower = overlay_lower(first.tree_dir)
    assert overlay_lower(twin.tree_dir) == lower != overlay_lower(other.tree_dir)
    assert len(list((lab.trees_dir / "shared").iterdir())) == len(set(HARDWARE))
    with pytest.raises(OSError) as info:
        (lower / GOVERNOR).write_text("powersave\n")
    assert info.value.errno == errno.EROFS

    # Identity (hostname, MACs, SMBIOS serials) is each host's own, in its own small layer.
    probe = "hostname; cat /sys/class/net/*/address; dmidecode -s system-serial-number"
    seen = {name: ssh(lab, name, probe) for name in ("lab-01", "lab-04")}
    assert seen["lab-01"][0] == seen["lab-04"][0] == 0, seen
    assert all(a != b for a, b in zip(seen["lab-01"][1].splitlines(), seen["lab-04"][1].splitlines())), seen
    for host in (first, twin):
        assert disk_usage(host.tree_dir.with_name("upper")) < 64 * 1024

    # A write by one host is copied up into its layer: its twin and the shared tree keep the old value.
    assert ssh(lab, "lab-04", f"echo powersave > /{GOVERNOR}")[0] == 0
    try:
        assert (twin.tree_dir.with_name("upper") / GOVERNOR).read_text() == "powersave\n"
        assert ssh(lab, "lab-01", f"cat /{GOVERNOR}") == (0, "performance\n")
        assert (lower / GOVERNOR).read_text() == "performance\n"
    finally:
        ssh(lab, "lab-04", f"echo performance > /{GOVERNOR}")


def test_sysctl_writes_stay_in_the_host(lab: Lab) -> None:
    real = Path("/proc/sys/vm/swappiness").read_text()
    new_value = "7" if real.strip() != "7" else "8"
    rc, out = ssh(lab, "lab-01", f"sysctl -w vm.swappiness={new_value}; cat /proc/sys/vm/swappiness")
    assert rc == 0, out
    assert out.splitlines()[-1] == new_value
    assert (lab.host("lab-01").tree_dir / "proc/sys/vm/swappiness").read_text().strip() == new_value
    assert Path("/proc/sys/vm/swappiness").read_text() == real
    assert ssh(lab, "lab-02", "cat /proc/sys/vm/swappiness")[1].strip() != new_value

    # A sysctl the profile does not define is read-only in the host, never the real kernel's.
    real_expire = Path("/proc/sys/vm/dirty_expire_centisecs").read_text()
    rc, out = ssh(lab, "lab-01", "sysctl -w vm.dirty_expire_centisecs=1234")
    assert rc != 0, out
    assert Path("/proc/sys/vm/dirty_expire_centisecs").read_text() == real_expire
    # Nor may an IRQ affinity write reach the real machine.
    real_affinity = Path("/proc/irq/default_smp_affinity").read_text()
    rc, out = ssh(lab, "lab-01", "echo 1 > /proc/irq/default_smp_affinity")
    assert rc != 0 and "Read-only file system" in out
    assert Path("/proc/irq/default_smp_affinity").read_text() == real_affinity


def test_etc_writes_land_in_the_hosts_upper_dir(lab: Lab) -> None:
    probe = "/etc/xeonfleet-lab-probe"
    assert ssh(lab, "lab-02", f"echo written-in-lab-02 > {probe}")[0] == 0
    assert not Path(probe).exists()
    assert (lab.host("lab-02").upper_dir / probe.lstrip("/")).read_text() == "written-in-lab-02\n"
    assert ssh(lab, "lab-03", f"test -e {probe}")[0] != 0


def test_exec_enters_the_host_and_a_tmpfs_there_fills_up(lab: Lab) -> None:
    assert lab.exec("lab-03", ["hostname"]).stdout == "lab-03\n"
    mounted = lab.exec("lab-03", ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", "/mnt"])
    assert mounted.returncode == 0, mounted.stderr
    try:
        rc, out = ssh(lab, "lab-03", "dd if=/dev/zero of=/mnt/fill bs=1k count=256")
        assert rc != 0 and "No space left" in out
        assert " /mnt " not in Path("/proc/self/mountinfo").read_text()
    finally:
        lab.exec("lab-03", ["umount", "/mnt"])


def test_up_again_keeps_the_running_hosts(lab: Lab) -> None:
    before = {host.name: host.pid for host in lab.hosts}
    statuses = lab.up(len(HARDWARE), HARDWARE, lab.hosts[0].port)
    assert all(status.answering for status in statuses)
    assert {host.name: host.pid for host in lab.hosts} == before


def test_cli_status_and_pyinfra_inventory(lab: Lab) -> None:
    status = CliRunner().invoke(main, ["lab", "status", "--lab-dir", str(lab.lab_dir)])
    assert status.exit_code == 0, status.output
    assert [line.split()[-1] for line in status.output.splitlines()[1:]] == ["up"] * len(HARDWARE)

    env = {**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir)}
    pyinfra = Path(sys.executable).with_name("pyinfra")
    result = subprocess.run(
        [str(pyinfra), "-y", "inventories/lab.py", "exec", "--", "hostname"],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for host in lab.hosts:
        assert f"[{host.name}] {host.name}" in result.stdout + result.stderr


def test_inventory_groups_hosts_by_hardware(lab: Lab) -> None:
    env = {**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir)}
    pyinfra = Path(sys.executable).with_name("pyinfra")
    result = subprocess.run(
        [str(pyinfra), "inventories/lab.py", "debug-inventory"],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    for host in lab.hosts:
        group = host.hardware.replace("-", "_")
        assert f"[{host.name}] \n--> Groups: lab_hosts, {group}," in output
        assert f'"ssh_port": {host.port},' in output


def test_inventory_without_a_lab_says_how_to_start_one(tmp_path: Path) -> None:
    env = {**os.environ, "XEONFLEET_LAB_DIR": str(tmp_path)}
    pyinfra = Path(sys.executable).with_name("pyinfra")
    result = subprocess.run(
        [str(pyinfra), "-y", "inventories/lab.py", "exec", "--", "hostname"],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "no lab running: run `xeonfleet lab up --hosts N`" in result.stdout + result.stderr


def test_resize_adds_and_removes_hosts(lab_factory) -> None:
    small = lab_factory(["cloud-vm"])
    base = small.hosts[0].port
    if not port_is_free(base + 1):
        pytest.skip(f"port {base + 1} was taken meanwhile")
    grown = small.up(2, ["cloud-vm"], base)
    assert [s.host.name for s in grown if s.answering] == ["lab-01", "lab-02"]
    removed = small.host("lab-02")
    shrunk = small.up(1, ["cloud-vm"], base)
    assert [s.host.name for s in shrunk if s.answering] == ["lab-01"]
    assert not removed.state_dir.exists() and not removed.tree_dir.exists()
    assert not Path(f"/proc/{removed.pid}").exists()


def test_a_host_that_cannot_boot_is_reported_with_its_cause(lab_factory) -> None:
    broken = lab_factory(["cloud-vm", "cloud-vm"])
    host = broken.hosts[0]
    broken.stop(host.name)
    shutil.rmtree(host.tree_dir / "sys")  # its /sys bind mount now fails inside host_init.sh
    status = broken.start(host.name)
    assert status.state == "error" and status.error.startswith("exited: mount:")
    assert not status.running
    # The delete is whiteouts in lab-01's own layer: lab-02, on the same shared tree, still has its /sys.
    assert ssh(broken, "lab-02", "cat /sys/devices/system/cpu/online") == (0, "0-7\n")

    # A lost tree layer (its overlay unmounted, its upper dir gone) is made again on the next start.
    subprocess.run(["umount", str(host.tree_dir)], check=True)
    shutil.rmtree(host.tree_dir.parent)
    assert broken.start(host.name).answering
    assert ssh(broken, host.name, "cat /sys/devices/system/cpu/online") == (0, "0-7\n")


def test_down_leaves_no_process_mount_or_namespace(lab_factory) -> None:
    doomed = lab_factory(["cloud-vm", "icx-8380-2s"])
    namespaces = set()
    for host in doomed.hosts:
        init = Path(f"/proc/{host.pid}/task/{host.pid}/children").read_text().split()[0]
        namespaces |= {os.readlink(f"/proc/{init}/ns/{kind}") for kind in ("mnt", "uts", "pid")}
    lab_dir = str(doomed.lab_dir)
    # As if `up` had been interrupted before saving one host's pid: down must still find it.
    state = json.loads(doomed.state_file.read_text())
    state["hosts"][0]["pid"] = None
    doomed.state_file.write_text(json.dumps(state))

    assert doomed.down() == 2
    assert not doomed.lab_dir.exists()
    assert lab_dir not in Path("/proc/self/mountinfo").read_text()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            assert lab_dir.encode() not in (proc / "cmdline").read_bytes()
            for kind in ("mnt", "uts", "pid"):
                assert os.readlink(proc / "ns" / kind) not in namespaces
        except FileNotFoundError:
            continue  # exited while we looked
        except PermissionError:
            continue  # outside our reach (the sandbox's own init), so not a process we started
    assert doomed.down() == 0


def test_a_lab_that_does_not_fit_says_so_in_one_line_before_it_starts(tmp_path: Path) -> None:
    """A trees tmpfs of 1 MiB cannot hold a profile's shared tree: refused before a host boots."""
    lab_dir = tmp_path / "lab"
    trees = lab_dir / "trees"
    trees.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "small", str(trees)], check=True)
    try:
        result = CliRunner().invoke(
            main, ["lab", "up", "--hosts", "3", "--hardware", "cloud-vm", "--lab-dir", str(lab_dir),
                   "--port-base", str(find_free_port_base(3, 24100))],
        )
        assert result.exit_code == 2, result.output
        assert result.output.count("\n") == 1
        assert f"3 more lab hosts need ~64 MiB of the trees tmpfs {trees} and 1 MiB is left" in result.output
        assert f": 0 fit; boot fewer hosts or remount it bigger: mount -o remount,size=... {trees}" in result.output
        assert not (lab_dir / "lab.json").exists() and not (lab_dir / "hosts").exists()
        assert os.listdir(trees) == []
    finally:
        Lab(lab_dir).down()
    assert not lab_dir.exists()


def test_a_tree_that_runs_out_of_room_is_one_line_and_boots_nothing(tmp_path: Path) -> None:
    """An 8-socket profile's tree (58,000 files) on a tmpfs of 30,000 inodes: past the fit check's
    allowance for a shared tree, ENOSPC while building it is a one-line error, not a traceback."""
    big = tmp_path / "spr-8s.yaml"
    big.write_text("include: spr-8480-2s\nsockets: 8\n")
    lab_dir = tmp_path / "lab"
    trees = lab_dir / "trees"
    trees.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300m,nr_inodes=30000", "small", str(trees)], check=True)
    try:
        result = CliRunner().invoke(
            main, ["lab", "up", "--hosts", "2", "--hardware", str(big), "--lab-dir", str(lab_dir),
                   "--port-base", str(find_free_port_base(2, 24200))],
        )
        assert result.exit_code == 2, result.output
        assert result.output.count("\n") == 1
        assert "cannot build the spr-8s tree at " in result.output
        assert "No space left on device; if the trees tmpfs is full, give it more room: " in result.output
        assert list((trees / "shared").iterdir()) == []  # the half-built tree is gone
        assert not (lab_dir / "lab.json").exists() and not any(Path(f"{trees}/hosts").glob("*/tree/*"))
    finally:
        Lab(lab_dir).down()
    assert not lab_dir.exists()


def test_taken_port_is_a_one_line_error(tmp_path: Path) -> None:
    port = find_free_port_base(1, 24000)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with pytest.raises(LabError, match=rf"port {port} on 127.0.0.1 \(for lab-01\) is taken; pick another base"):
            Lab(tmp_path / "api").up(1, ["cloud-vm"], port)
        result = CliRunner().invoke(
            main, ["lab", "up", "--hosts", "1", "--hardware", "cloud-vm", "--port-base", str(port),
                   "--lab-dir", str(tmp_path / "cli")],
        )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "--port-base" in result.output
    assert not (tmp_path / "api" / "lab.json").exists()


@pytest.mark.parametrize(
    ("wrapper", "message"),
    [
        (["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], "needs root"),
        (["setpriv", "--bounding-set=-sys_admin"], "needs CAP_SYS_ADMIN"),
    ],
)
def test_without_privileges_up_says_why_in_one_line(tmp_path: Path, wrapper: list[str], message: str) -> None:
    result = run_cli(wrapper, ["lab", "up", "--hosts", "1", "--hardware", "cloud-vm", "--lab-dir", str(tmp_path)])
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1
