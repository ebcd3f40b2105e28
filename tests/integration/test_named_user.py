"""A fleet whose sshd refuses root (issue 22): a named login user with exactly the `xeonfleet sudoers` grants.

One lab of mis-tuned Ice Lake hosts that log in as `ops`, each playing one kind of node:
    audit     the audit drop-in only (and the benchmark dir ops owns, as the bench role says)
    tune      the tune drop-in only
    password  `ops ALL=(ALL:ALL) ALL`: sudo wants ops's password, given as host data _sudo_password
    nosudo    no sudo rights at all
The grants are installed the way a node's admin would (root inside the host: Lab.exec). Every run here is the
real CLI as a subprocess with stdin closed and a timeout, so a password prompt would fail the test, not hang it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_tune import changes, knob_failures
from xeonfleet import __version__
from xeonfleet.bench.remote import REMOTE_DIR
from xeonfleet.connect.privilege import dropin, role
from xeonfleet.lab.fleet import Lab

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LOGIN = "ops"
PASSWORD = "Xf-sudo-7Qm2-wy"  # distinctive: grepped for wherever it must not appear
ROLES = {"audit": "lab-01", "tune": "lab-02", "password": "lab-03", "nosudo": "lab-04"}
ROOT_RULES = ("memory.", "power.prefetcher.", "power.c1e", "power.c1_demotion")  # need SMBIOS or MSRs
# A venv any user can run: the session's bench env is built on the controller's python, which may live under
# /root (pyenv), where ops cannot reach.
USER_ENV = Path("/var/cache/xeonfleet-test/user-bench-env")


def _admin(lab: Lab, name: str, script: str, stdin: str | None = None) -> None:
    result = lab.exec(name, ["sh", "-ec", script], stdin=stdin)
    assert result.returncode == 0, f"{name}: {script}: {result.stderr}"


def _install_dropin(lab: Lab, name: str, role: str) -> None:
    path = f"/etc/sudoers.d/xeonfleet-{role}"
    _admin(lab, name, f"cat > {path}.new; visudo -c -q -f {path}.new; chmod 0440 {path}.new; mv {path}.new {path}",
           stdin=dropin(role, LOGIN, __version__))


@pytest.fixture(scope="module")
def lab(lab_factory) -> Lab:
    fleet = lab_factory(["icx-8380-2s-mistuned"], hosts=len(ROLES), login=LOGIN)
    _install_dropin(fleet, ROLES["audit"], "audit")
    _admin(fleet, ROLES["audit"], f"install -d -o {LOGIN} {REMOTE_DIR}")
    _install_dropin(fleet, ROLES["tune"], "tune")
    _admin(fleet, ROLES["password"], f"chpasswd; echo '{LOGIN} ALL=(ALL:ALL) ALL' > /etc/sudoers.d/ops; "
                                     "chmod 0440 /etc/sudoers.d/ops", stdin=f"{LOGIN}:{PASSWORD}\n")
    return fleet


def _inventory(tmp_path: Path, lab: Lab, names: list[str], **extra: dict) -> str:
    """An inventory of `names` with the lab's login; `extra[name]`: more host data for that host."""
    hosts = [(name, {**data, **extra.get(name.replace("-", "_"), {})})
             for name, data in lab.inventory_hosts() if name in names]
    path = tmp_path / f"inventory-{len(list(tmp_path.iterdir()))}.py"
    path.write_text(f"hosts = {hosts!r}\n")
    return str(path)


def _run(lab: Lab, argv: list[str], timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """A CLI from the repo root, stdin closed: a prompt would read EOF, never wait."""
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env={**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir), **(env or {})})


def _facts(lab: Lab, inventory: str) -> dict:
    result = _run(lab, [str(BIN / "xeonfleet"), "facts", inventory, "--format", "json"])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _audit(lab: Lab, inventory: str, tmp_path: Path) -> tuple[dict[str, dict[str, dict]], str]:
    """({host: {rule: finding}}, the table report) of one audit run (its own store)."""
    env = {"XEONFLEET_DB": str(tmp_path / "audit.db")}
    report = tmp_path / "audit.json"
    table = _run(lab, [str(BIN / "xeonfleet"), "audit", inventory], env=env)
    assert table.returncode in (0, 1), table.stderr
    result = _run(lab, [str(BIN / "xeonfleet"), "audit", inventory, "-o", str(report)], env=env)
    assert result.returncode in (0, 1), result.stderr
    nodes = json.loads(report.read_text())["nodes"]
    return ({host: {f["rule"]: f for f in node["findings"]} for host, node in nodes.items()},
            table.stdout + table.stderr)


def test_sshd_refuses_root_and_logs_the_named_user_in(lab, tmp_path):
    root = [(name, {**data, "ssh_user": "root"}) for name, data in lab.inventory_hosts()][:1]
    path = tmp_path / "root.py"
    path.write_text(f"hosts = {root!r}\n")
    result = _run(lab, [str(BIN / "xeonfleet"), "facts", str(path), "--format", "json"])
    assert result.returncode != 0
    assert "login refused" in result.stderr
    whoami = lab.exec(ROLES["nosudo"], ["sh", "-c", "grep -i '^PermitRootLogin' /etc/xeonfleet-lab/sshd_config"])
    assert whoami.stdout.split() == ["PermitRootLogin", "no"]


def test_host_without_sudo_gives_honest_unknowns(lab, tmp_path):
    names = [ROLES["nosudo"], ROLES["audit"]]
    inventory = _inventory(tmp_path, lab, names)
    facts = _facts(lab, inventory)[ROLES["nosudo"]]
    assert facts["cpu"]["physical_cores"] == 80  # what a user can read is read
    assert facts["bios"]["version"] is None and not facts["memory"]["dimms"] and facts["power"]["msr"] is None
    refused = [line for line in facts["errors"] if line.startswith("needs root:")]
    assert any("SMBIOS" in line for line in refused) and any("MSRs" in line for line in refused)
    assert all("xeonfleet sudoers --role audit" in line for line in refused)

    findings, table = _audit(lab, inventory, tmp_path)
    mine, granted = findings[ROLES["nosudo"]], findings[ROLES["audit"]]
    root_rules = [rule for rule in mine if rule.startswith(ROOT_RULES)]
    assert root_rules
    for rule in root_rules:  # never a FAIL for what it could not read, and the reason names the grant
        assert mine[rule]["status"] == "unknown", mine[rule]
        assert "xeonfleet sudoers --role audit" in mine[rule]["evidence"], mine[rule]
    # The granted host judges those rules (the mis-tuned board's 6 of 8 channels is a real FAIL there) and both
    # agree on every rule that needs no root.
    assert granted["memory.channels"]["status"] == "fail"
    for rule, finding in mine.items():
        if not rule.startswith(ROOT_RULES) and not rule.startswith("fleet."):
            assert finding["status"] == granted[rule]["status"], rule
    assert "needs root: SMBIOS" in table


def test_audit_with_exactly_the_audit_grant(lab, tmp_path):
    listed = lab.exec(ROLES["audit"], ["sudo", "-l", "-U", LOGIN]).stdout
    rules = [line.strip() for line in listed.partition("may run the following commands")[2].splitlines()[1:]]
    assert len(rules) == 1 and rules[0].startswith("(root) NOPASSWD: "), listed  # one rule, this drop-in's
    granted = set(rules[0].removeprefix("(root) NOPASSWD: ").split(", "))
    expected = {command for grant in role("audit", LOGIN).grants for command in grant.commands}
    assert granted == expected  # exactly the drop-in's commands: no ALL, no shell

    facts = _facts(lab, _inventory(tmp_path, lab, [ROLES["audit"]]))[ROLES["audit"]]
    assert not [line for line in facts["errors"] if line.startswith("needs root:")]
    assert facts["bios"]["version"] and len(facts["memory"]["dimms"]) > 0 and facts["power"]["msr"]
    as_root = lab.exec(ROLES["audit"], ["sh", "-c", "id -u"]).stdout.strip()
    assert as_root == "0"  # (Lab.exec is the admin) and the facts the login read match what root reads:
    from tests.integration.test_tune import node_facts
    root_facts = node_facts(lab, ROLES["audit"])
    for key in ("bios", "system"):
        assert facts[key] == root_facts[key]
    assert facts["memory"]["dimms"] == root_facts["memory"]["dimms"]
    assert facts["power"]["msr"] == root_facts["power"]["msr"]


def test_password_sudo_is_given_by_host_data_and_never_shown(lab, tmp_path):
    host = ROLES["password"]
    with_password = _inventory(tmp_path, lab, [host], lab_03={"_sudo_password": PASSWORD})
    facts = _facts(lab, with_password)[host]
    assert facts["bios"]["version"] and facts["memory"]["dimms"], facts["errors"]
    findings, table = _audit(lab, with_password, tmp_path)
    assert findings[host]["memory.channels"]["status"] == "fail"
    stored = subprocess.run(["sqlite3", str(tmp_path / "audit.db"), ".dump"], capture_output=True, text=True)
    for text in (json.dumps(facts), table, (tmp_path / "audit.json").read_text(), stored.stdout):
        assert PASSWORD not in text

    # Without it (or with a wrong one) the run ends by itself, the root reads are UNKNOWN with the reason.
    for data in ({}, {"_sudo_password": "not-the-password"}):
        inventory = _inventory(tmp_path, lab, [host], lab_03=data)
        facts = _facts(lab, inventory)[host]
        assert not facts["memory"]["dimms"] and any(line.startswith("needs root: SMBIOS") for line in facts["errors"])


def _pyinfra(lab: Lab, inventory: str, deploy: str, *options: str) -> subprocess.CompletedProcess:
    return _run(lab, [str(BIN / "pyinfra"), "-y", *options, inventory, deploy])


def test_tune_with_exactly_the_tune_grant_rerun_and_restore(lab, tmp_path):
    host = ROLES["tune"]
    inventory = _inventory(tmp_path, lab, [host])
    before = knob_failures(lab, host)
    assert before  # the mis-tuned board has knobs to set

    first = _pyinfra(lab, inventory, "deploys/ai_node.py", "--sudo")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert changes(first.stdout + first.stderr).get(host, 0) > 0
    assert knob_failures(lab, host) == []
    again = _pyinfra(lab, inventory, "deploys/ai_node.py", "--sudo")
    assert again.returncode == 0 and changes(again.stdout + again.stderr) == {}, again.stdout[-3000:]

    restored = _pyinfra(lab, inventory, "deploys/restore.py", "--sudo")
    assert restored.returncode == 0, restored.stdout[-3000:] + restored.stderr[-2000:]
    assert knob_failures(lab, host) == before


def test_hosts_that_cannot_get_root_fail_in_one_line_and_the_others_go_on(lab, tmp_path):
    inventory = _inventory(tmp_path, lab, [ROLES["nosudo"], ROLES["tune"], ROLES["password"]],
                           lab_03={"_sudo_password": PASSWORD})
    result = _pyinfra(lab, inventory, "deploys/ai_node.py", "--sudo", "--dry")
    out = result.stdout + result.stderr
    assert (f"[{ROLES['nosudo']}] error: sudo asks {LOGIN} for a password and none is given "
            f"(or {LOGIN} may not use sudo): install the NOPASSWD drop-in `xeonfleet sudoers --role tune --user ops`, "
            "or set host data `_sudo_password`") in out
    assert "sudo password:" not in out and PASSWORD not in out
    assert f"[{ROLES['tune']}] Ready: deploys/ai_node.py" in out
    assert f"[{ROLES['password']}] Ready: deploys/ai_node.py" in out
    assert "Traceback" not in out

    plain = _pyinfra(lab, _inventory(tmp_path, lab, [ROLES["tune"]]), "deploys/ai_node.py", "--dry")
    assert (f"[{ROLES['tune']}] error: logged in as {LOGIN}, not root, and this deploy changes the node as root: "
            "run it with `--sudo`") in plain.stdout + plain.stderr


def test_password_sudo_deploy_installs_the_dropins(lab, tmp_path):
    host = ROLES["password"]
    inventory = _inventory(tmp_path, lab, [host], lab_03={"_sudo_password": PASSWORD,
                                                           "xeonfleet_sudoers_user": LOGIN})
    first = _pyinfra(lab, inventory, "deploys/sudoers.py", "--sudo")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert changes(first.stdout + first.stderr) == {host: 1}
    assert lab.exec(host, ["visudo", "-c", "-q"]).returncode == 0
    again = _pyinfra(lab, inventory, "deploys/sudoers.py", "--sudo")
    assert again.returncode == 0 and changes(again.stdout + again.stderr) == {}
    # Now the probe gets its root reads through the NOPASSWD drop-in: no password needed.
    facts = _facts(lab, _inventory(tmp_path, lab, [host]))[host]
    assert facts["memory"]["dimms"], facts["errors"]
    _admin(lab, host, "rm /etc/sudoers.d/xeonfleet-audit")


@pytest.fixture(scope="module")
def user_env() -> Path:
    """numpy in a venv on the system python, which every user can run."""
    python = USER_ENV / "bin" / "python"
    if not python.exists() or subprocess.run([str(python), "-c", "import numpy"]).returncode != 0:
        base = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
        subprocess.run([base, "-m", "venv", "--clear", str(USER_ENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "numpy"], check=True, timeout=600)
    return USER_ENV


def test_bench_run_as_the_named_user(lab, user_env, tmp_path):
    host = ROLES["audit"]
    inventory = _inventory(tmp_path, lab, [host], lab_01={"xeonfleet_bench_env": str(user_env)})
    db = tmp_path / "bench.db"
    result = _run(lab, [str(BIN / "xeonfleet"), "bench", "run", inventory, "--jobs", "gemm-fp32", "--db", str(db)],
                  timeout=600, env={"XDG_DATA_HOME": str(tmp_path / "data")})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"{host}: complete" in result.stdout
    owner = lab.exec(host, ["stat", "-c", "%U", REMOTE_DIR + "/runners"]).stdout.strip()
    assert owner == LOGIN  # the jobs ran as the login user, not root


def test_lab_sudoers_option_installs_the_role_for_the_login(lab_factory, tmp_path):
    fleet = lab_factory(["spr-8480-2s"], login=LOGIN, sudoers=["audit"])
    listed = fleet.exec("lab-01", ["sudo", "-l", "-U", LOGIN]).stdout
    assert "/usr/bin/od -An -v -tx1 /sys/firmware/dmi/tables/DMI" in listed and "ALL" not in listed.split("NOPASSWD:")[1]
    facts = _facts(fleet, _inventory(tmp_path, fleet, ["lab-01"]))["lab-01"]
    assert facts["memory"]["dimms"] and facts["power"]["msr"], facts["errors"]

