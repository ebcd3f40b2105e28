"""deploys/audit_agent.py on lab hosts: an offline install from the controller's wheelhouse, the agent run on the
node as its own user with exactly the audit grant, a real node_exporter serving its textfile, the fleet read back
from a real PostgreSQL store with `xeonfleet audit --from-store`, and the store's password nowhere but the agent's
env file.

Lab hosts run no systemd, so the deploy writes the units and installs the cron fallback; the test runs the
installed cron entry's command as the entry's user (runuser, as cron would), over SSH, sampling the host's
process list while it runs. The lab's SMBIOS table and MSR devices are root-only (0400/0600) as on a real kernel,
so what the agent reads of them it reads through its sudoers drop-in. lab-01 (mis-tuned) writes to the shared
PostgreSQL store through a URL with a password, lab-02 keeps its history on the node.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_audit import ssh
from tests.integration.test_tune import changes
from tests.pg_server import free_port, server, unavailable_reason  # noqa: F401  (server: the fixture)
from xeonfleet.audit import agent as agent
from xeonfleet.cli.audit import FORMATS
from xeonfleet.connect.privilege import OD

pytestmark = [pytest.mark.lab, pytest.mark.timeout(1200)]
if unavailable_reason() and not os.environ.get("CI"):
    pytestmark.append(pytest.mark.skip(reason=f"audit agent test needs PostgreSQL: {unavailable_reason()}"))

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SHARED, LOCAL = "lab-01", "lab-02"
UNIT_FILE = f"{agent.SYSTEMD_DIR}/{agent.UNIT}.service"
TIMER_FILE = f"{agent.SYSTEMD_DIR}/{agent.UNIT}.timer"
TEXTFILE_LINK = f"{agent.TEXTFILE_DIR}/{agent.TEXTFILE}"
# Distinctive, so a grep finds it wherever it leaked; the throwaway server trusts local connections, so any
# password is accepted and the URL works as a site's would.
PASSWORD = "Xf-agent-pw-4c1d9e7"
DMI_TABLE = "/sys/firmware/dmi/tables/DMI"


@pytest.fixture(scope="module")
def secret_url(server: str) -> str:
    return server.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(["icx-8380-2s-mistuned", "icx-8380-2s"])


@pytest.fixture(scope="module")
def inventory(lab, secret_url, tmp_path_factory) -> Path:
    hosts = dict(lab.inventory_hosts())
    hosts[SHARED] = {**hosts[SHARED], agent.DB_KEY: secret_url}
    path = tmp_path_factory.mktemp("agent") / "agent_inventory.py"
    path.write_text(f"import json\nagent_hosts = list(json.loads({json.dumps(json.dumps(hosts))}).items())\n")
    return path


def pyinfra(inventory: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "pyinfra"), "-y", *options, str(inventory), "deploys/audit_agent.py"], cwd=REPO,
                          capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def deployed(inventory) -> subprocess.CompletedProcess:
    first = pyinfra(inventory)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return first


def ssh_run(lab, name: str, command: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """A shell command on a lab host, its exit status kept (tests.lab_ssh.ssh asserts 0)."""
    host = lab.host(name)
    return subprocess.run(["ssh", "-i", str(lab.client_key), "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o",
                           "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", str(host.port), "root@127.0.0.1",
                           command], capture_output=True, text=True, timeout=timeout, check=False)


def cron_entry(lab, name: str) -> tuple[str, str]:
    """(user, command) of the installed cron.d entry."""
    (entry,) = [line for line in ssh(lab, name, f"cat {agent.CRON_FILE}").splitlines()
                if line and not line.startswith(("#", "SHELL="))]
    fields = entry.split(maxsplit=6)
    return fields[5], fields[6]


@dataclass(frozen=True)
class AgentRun:
    """One run of the agent's cron command: its exit status, the process list sampled while it ran, its log."""

    returncode: int
    processes: list[str]  # `ps -eo user:32,args` lines
    log: str


def run_as_cron_would(lab, name: str) -> AgentRun:
    """The cron entry's command as cron runs it (as its user, from the user's home; runuser), the host's process
    list sampled every 0.1 s until it ends."""
    user, command = cron_entry(lab, name)
    script = (f"cd \"$(getent passwd {shlex.quote(user)} | cut -d: -f6)\" && "
              f"runuser -u {shlex.quote(user)} -- sh -c {shlex.quote(command)} & pid=$!; "
              f"while kill -0 $pid 2>/dev/null; do ps -eo user:32,args; sleep 0.1; done > /tmp/agent-ps.txt; "
              f"wait $pid; echo $?")
    before = ssh(lab, name, f"cat {agent.LOG_FILE} 2>/dev/null || true")
    result = ssh_run(lab, name, script)
    assert result.returncode == 0, result.stderr
    log = ssh(lab, name, f"cat {agent.LOG_FILE}")
    return AgentRun(int(result.stdout.split()[-1]), ssh(lab, name, "cat /tmp/agent-ps.txt").splitlines(),
                    log[len(before):])


@pytest.fixture(scope="module")
def agent_runs(lab, deployed) -> dict[str, AgentRun]:
    """Each node's agent run, as its cron entry would start it."""
    return {name: run_as_cron_would(lab, name) for name in (SHARED, LOCAL)}


def _mode_owner(lab, name: str, *paths: str) -> dict[str, str]:
    listing = ssh(lab, name, f"stat -c '%n %a %U:%G' {' '.join(paths)}")
    return {path: rest for path, _, rest in (line.partition(" ") for line in listing.splitlines())}


def test_deploy_installs_offline_and_a_rerun_changes_nothing(lab, inventory, deployed, server, secret_url):
    owner = f"{agent.AGENT_USER}:{agent.AGENT_USER}"
    for name in (SHARED, LOCAL):
        assert _mode_owner(lab, name, agent.ENV_FILE, UNIT_FILE, TIMER_FILE, agent.CRON_FILE, agent.SUDOERS_FILE,
                           agent.STATE_DIR, agent.LOG_DIR, agent.AGENT_DIR, f"{agent.AGENT_DIR}/bin/xeonfleet") == {
            agent.ENV_FILE: f"600 {owner}", UNIT_FILE: "644 root:root", TIMER_FILE: "644 root:root",
            agent.CRON_FILE: "644 root:root", agent.SUDOERS_FILE: "440 root:root", agent.STATE_DIR: f"755 {owner}",
            agent.LOG_DIR: f"750 {owner}", agent.AGENT_DIR: "755 root:root",
            f"{agent.AGENT_DIR}/bin/xeonfleet": "755 root:root"}
        # The venv holds exactly what the wheelhouse had: pip installed with --no-index.
        frozen = ssh(lab, name, f"{agent.AGENT_DIR}/bin/pip list --format=freeze --disable-pip-version-check")
        assert re.search(r"^xeonfleet==0\.1\.0$", frozen, re.M) and re.search(r"^psycopg-binary==", frozen, re.M)
        # A system account: no login shell, a locked password, its state dir for a home and no other.
        passwd = ssh(lab, name, f"getent passwd {agent.AGENT_USER}").strip().split(":")
        assert int(passwd[2]) < 1000 and (passwd[5], passwd[6]) == (agent.STATE_DIR, agent.NOLOGIN)
        assert ssh(lab, name, f"passwd -S {agent.AGENT_USER}").split()[1] == "L"
        assert ssh(lab, name, f"test -e /home/{agent.AGENT_USER} || echo none").strip() == "none"
        # The drop-in is the audit role for the agent alone, and the node's sudo takes it.
        assert ssh(lab, name, f"cat {agent.SUDOERS_FILE}") == agent.agent_dropin()
        assert ssh_run(lab, name, "visudo -c").returncode == 0
        # Cron and systemd run the same command as the same user.
        user, command = cron_entry(lab, name)
        unit = ssh(lab, name, f"cat {UNIT_FILE}")
        assert re.findall(r"^ExecStart=(.*)$", unit, re.M) == [command.split("&& set +a && ")[1].split(" >> ")[0]]
        assert re.findall(r"^User=(.*)$", unit, re.M) == [user] == [agent.AGENT_USER]
        assert ssh(lab, name, f"readlink {TEXTFILE_LINK}").strip() == agent.AGENT_TEXTFILE
    assert f"XEONFLEET_DB={secret_url}" in ssh(lab, SHARED, f"cat {agent.ENV_FILE}")
    assert f"XEONFLEET_DB={agent.LOCAL_DB}" in ssh(lab, LOCAL, f"cat {agent.ENV_FILE}")
    again = pyinfra(inventory)
    assert again.returncode == 0, again.stderr[-2000:]
    assert changes(again.stdout) == {}, again.stdout[-3000:]


def test_the_agent_runs_as_its_user_and_writes_only_its_own_files(lab, agent_runs):
    for name, run in agent_runs.items():
        processes = [line.split(None, 1) for line in run.processes[1:]]
        # The shell cron starts and the audit's python (its console script's interpreter), not runuser or ssh.
        audits = [(user, args) for user, args in processes
                  if re.match(rf"(sh -c set -a|{agent.AGENT_DIR}/bin/python\S*) .*{agent.AGENT_DIR}/bin/xeonfleet audit",
                              args)]
        assert {args.split()[0].rstrip("0123456789.") for _, args in audits} == {"sh", f"{agent.AGENT_DIR}/bin/python"}, \
            run.processes[:30]
        assert {user for user, _ in audits} == {agent.AGENT_USER}, audits
        # Its root-only reads ran through sudo, as root, with the drop-in's fixed command lines only.
        reads = [args for _, args in processes if args.startswith("sudo ")]
        assert all(re.match(rf"sudo -n (-l )?{OD} -An -v -tx\d ", args) for args in reads), reads
        written = [agent.AGENT_TEXTFILE, agent.LOG_FILE] + ([agent.LOCAL_DB] if name == LOCAL else [])
        owners = _mode_owner(lab, name, *written)
        assert all(value.endswith(f"{agent.AGENT_USER}:{agent.AGENT_USER}") for value in owners.values()), owners
        if name == LOCAL:
            assert owners[agent.LOCAL_DB].startswith("600 ")
        # It cannot change its own code.
        assert ssh_run(lab, name, f"runuser -u {agent.AGENT_USER} -- test -w {agent.AGENT_DIR}/bin/xeonfleet"
                       ).returncode == 1


def _root_refusals(report: dict, host: str) -> list[str]:
    return [f"{f['rule']}: {f['evidence']}" for f in report["nodes"][host]["findings"] if "needs root" in f["evidence"]]


def test_the_audit_grant_is_what_reads_the_root_only_files(lab, agent_runs):
    """The agent's run judged the SMBIOS and MSR rules; the same command without the drop-in reads them UNKNOWN,
    needing root: the files are the agent's to read only through the grant."""
    assert ssh_run(lab, LOCAL, f"runuser -u {agent.AGENT_USER} -- test -r {DMI_TABLE}").returncode == 1
    audit = (f"cd {agent.STATE_DIR} && runuser -u {agent.AGENT_USER} -- {agent.AGENT_DIR}/bin/xeonfleet audit --local "
             f"--node-name {LOCAL} --format json --db {agent.STATE_DIR}/check.db")
    granted = json.loads(ssh_run(lab, LOCAL, audit).stdout)
    assert _root_refusals(granted, LOCAL) == []
    memory = [f for f in granted["nodes"][LOCAL]["findings"] if f["rule"].startswith("memory.")]
    assert memory and {f["status"] for f in memory} - {"unknown"}
    aside = f"{agent.SUDOERS_FILE}.aside"  # a name with a dot: sudo's includedir skips it
    try:
        ssh(lab, LOCAL, f"mv {agent.SUDOERS_FILE} {aside}")
        refused = json.loads(ssh_run(lab, LOCAL, audit).stdout)
    finally:
        ssh(lab, LOCAL, f"mv {aside} {agent.SUDOERS_FILE} && rm -f {agent.STATE_DIR}/check.db*")
    refusals = _root_refusals(refused, LOCAL)
    assert any(line.startswith("memory.") and f"needs root: SMBIOS {DMI_TABLE}" in line for line in refusals), refusals


def test_unit_command_writes_a_textfile_that_node_exporter_serves(lab, agent_runs):
    assert agent_runs[SHARED].returncode == 1, agent_runs[SHARED].log  # mis-tuned: rules fail, the run works
    assert agent_runs[LOCAL].returncode in (0, 1), agent_runs[LOCAL].log
    assert "warning" not in agent_runs[SHARED].log  # stored, no store problem
    port = free_port()
    pid = ssh(lab, SHARED, f"setsid prometheus-node-exporter --web.listen-address=127.0.0.1:{port} "
                           f"--collector.disable-defaults --collector.textfile "
                           f"--collector.textfile.directory={agent.TEXTFILE_DIR} >/tmp/node-exporter.log 2>&1 "
                           f"</dev/null & echo $!").strip()
    try:
        page = _scrape(f"http://127.0.0.1:{port}/metrics")
    finally:
        ssh(lab, SHARED, f"kill {shlex.quote(pid)}")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(page) for s in family.samples}
    assert samples[("node_textfile_scrape_error", ())] == 0
    assert samples[("xeonfleet_rule_status", (("category", "power"), ("host", SHARED), ("rule", "power.governor"),
                                              ("status", "fail")))] == 1
    assert samples[("xeonfleet_audit_host_up", (("host", SHARED),))] == 1
    assert any(name == "node_textfile_mtime_seconds" and dict(labels)["file"].endswith(agent.TEXTFILE)
               for name, labels in samples)


def _scrape(url: str) -> str:
    """node_exporter's page, once it listens (it starts in well under the deadline)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def from_store(lab, url: str, *args: str, fmt: str = "json") -> subprocess.CompletedProcess:
    """`xeonfleet audit --from-store` on the controller, the URL given the way the agent gets it: $XEONFLEET_DB."""
    env = {**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir), "XEONFLEET_DB": url}
    return subprocess.run([str(BIN / "xeonfleet"), "audit", "--from-store", "--format", fmt, *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_from_store_reports_the_shared_nodes_without_ssh(lab, inventory, agent_runs, secret_url):
    fleet = from_store(lab, secret_url)
    assert fleet.returncode == 1, fleet.stderr
    report = json.loads(fleet.stdout)
    assert list(report["nodes"]) == [SHARED]
    governor = next(f for f in report["nodes"][SHARED]["findings"] if f["rule"] == "power.governor")
    assert governor["status"] == "fail" and "powersave" in governor["evidence"]
    # Given the inventory, the node that keeps its history locally is named, not silently missing.
    named = from_store(lab, secret_url, str(inventory))
    assert json.loads(named.stdout)["unreachable"] == {
        LOCAL: "no audit of this host in the store (is its audit agent installed?)"}
    # lab-02's own store, on the node, has its run.
    local = ssh(lab, LOCAL, f"{agent.AGENT_DIR}/bin/xeonfleet audit --from-store --db {agent.LOCAL_DB} --format json "
                            f"|| true")
    assert list(json.loads(local)["nodes"]) == [LOCAL]


def _stored_rows(url: str) -> str:
    """Every row of every table of the store, as text."""
    import psycopg

    with psycopg.connect(url) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]
        assert "audit_findings" in tables
        return "\n".join(str(row[0]) for table in tables
                         for row in connection.execute(f'SELECT CAST(t AS text) FROM "{table}" t'))


def test_the_store_password_is_only_in_the_agents_env_file(lab, deployed, agent_runs, secret_url):
    where = {
        "the deploy's output": deployed.stdout + deployed.stderr,
        "the process list during the run": "\n".join(agent_runs[SHARED].processes),
        "the agent's log": agent_runs[SHARED].log + ssh(lab, SHARED, f"cat {agent.LOG_FILE}"),
        "the textfile": ssh(lab, SHARED, f"cat {TEXTFILE_LINK}"),
        "the unit, timer and cron files": ssh(lab, SHARED, f"cat {UNIT_FILE} {TIMER_FILE} {agent.CRON_FILE}"),
        "the stored rows": _stored_rows(secret_url),
    }
    for fmt in FORMATS:
        report = from_store(lab, secret_url, fmt=fmt)
        assert report.returncode == 1 and report.stdout, (fmt, report.stderr)
        where[f"the {fmt} report"] = report.stdout + report.stderr
    assert agent_runs[SHARED].processes and _stored_rows(secret_url).count(SHARED) > 0
    assert [what for what, text in where.items() if PASSWORD in text] == []
    assert PASSWORD in ssh(lab, SHARED, f"cat {agent.ENV_FILE}")  # where it is meant to be, for its user alone
    assert ssh_run(lab, SHARED, f"runuser -u nobody -- cat {agent.ENV_FILE}").returncode != 0


def test_bad_host_data_fails_that_host_alone_in_one_line(lab, inventory, tmp_path):
    bad = tmp_path / "bad_inventory.py"
    bad.write_text(inventory.read_text().replace("agent_hosts = ", "_hosts = ")
                   + f"_hosts[1][1][{agent.DB_KEY!r}] = '/var/tmp/fleet.db'\nagent_hosts = _hosts\n")
    result = pyinfra(bad)
    assert (f"[{LOCAL}] error: host data {agent.DB_KEY}: '/var/tmp/fleet.db' is not a postgresql:// URL"
            in result.stdout + result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert changes(result.stdout).get(LOCAL) is None
