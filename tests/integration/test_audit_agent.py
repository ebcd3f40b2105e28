"""deploys/audit_agent.py on lab hosts: an offline install from the controller's wheelhouse, the unit's
command run on the node, a real node_exporter serving its textfile, and the fleet read back from a
real PostgreSQL store with `xeonfleet audit --from-store`.

Lab hosts run no systemd, so the deploy writes the units and installs the cron fallback; the test runs
the installed unit's ExecStart itself, over SSH, with the unit's EnvironmentFile. lab-01 (mis-tuned)
writes to the shared PostgreSQL store, lab-02 keeps its history on the node.
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
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_audit import ssh
from tests.integration.test_tune import changes
from tests.pg_server import free_port, server, unavailable_reason  # noqa: F401  (server: the fixture)
from xeonfleet.audit import agent as agent

pytestmark = [pytest.mark.lab, pytest.mark.timeout(1200)]
if unavailable_reason() and not os.environ.get("CI"):
    pytestmark.append(pytest.mark.skip(reason=f"audit agent test needs PostgreSQL: {unavailable_reason()}"))

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SHARED, LOCAL = "lab-01", "lab-02"
UNIT_FILE = f"{agent.SYSTEMD_DIR}/{agent.UNIT}.service"
TEXTFILE = f"{agent.TEXTFILE_DIR}/{agent.TEXTFILE}"


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(["icx-8380-2s-mistuned", "icx-8380-2s"])


@pytest.fixture(scope="module")
def inventory(lab, server, tmp_path_factory) -> Path:
    hosts = dict(lab.inventory_hosts())
    hosts[SHARED] = {**hosts[SHARED], agent.DB_KEY: server}
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


def exec_start(lab, name: str) -> str:
    """The installed unit's ExecStart, run the way systemd would: with its EnvironmentFile exported."""
    unit = ssh(lab, name, f"cat {UNIT_FILE}")
    (command,) = re.findall(r"^ExecStart=(.*)$", unit, re.M)
    (env_file,) = re.findall(r"^EnvironmentFile=(.*)$", unit, re.M)
    return f"set -a && . {env_file} && set +a && {command}"


@pytest.fixture(scope="module")
def agent_runs(lab, deployed) -> dict[str, subprocess.CompletedProcess]:
    """Each node's agent run (the unit's command over SSH), as its timer would start it."""
    runs = {}
    for name in (SHARED, LOCAL):
        host = lab.host(name)
        runs[name] = subprocess.run(
            ["ssh", "-i", str(lab.client_key), "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o",
             "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", str(host.port), "root@127.0.0.1",
             exec_start(lab, name)], capture_output=True, text=True, timeout=300, check=False)
    return runs


def test_deploy_installs_offline_and_a_rerun_changes_nothing(lab, inventory, deployed, server):
    for name in (SHARED, LOCAL):
        listing = ssh(lab, name, f"stat -c '%a %n' {agent.ENV_FILE} {UNIT_FILE} {agent.CRON_FILE} "
                                 f"{agent.SYSTEMD_DIR}/{agent.UNIT}.timer {agent.AGENT_DIR}/bin/xeonfleet")
        assert listing.split("\n")[0] == f"600 {agent.ENV_FILE}"
        assert len(listing.split()) == 10, listing
        # The venv holds exactly what the wheelhouse had: pip installed with --no-index.
        frozen = ssh(lab, name, f"{agent.AGENT_DIR}/bin/pip list --format=freeze --disable-pip-version-check")
        assert re.search(r"^xeonfleet==0\.1\.0$", frozen, re.M) and re.search(r"^psycopg-binary==", frozen, re.M)
        cron = ssh(lab, name, f"cat {agent.CRON_FILE}")
        assert exec_start(lab, name).split("&& set +a && ")[1] in cron  # cron runs the unit's command
    assert f"XEONFLEET_DB={server}" in ssh(lab, SHARED, f"cat {agent.ENV_FILE}")
    assert f"XEONFLEET_DB={agent.LOCAL_DB}" in ssh(lab, LOCAL, f"cat {agent.ENV_FILE}")
    again = pyinfra(inventory)
    assert again.returncode == 0, again.stderr[-2000:]
    assert changes(again.stdout) == {}, again.stdout[-3000:]


def test_unit_command_writes_a_textfile_that_node_exporter_serves(lab, agent_runs):
    assert agent_runs[SHARED].returncode == 1, agent_runs[SHARED].stderr  # mis-tuned: rules fail, the run works
    assert agent_runs[LOCAL].returncode in (0, 1), agent_runs[LOCAL].stderr
    assert "warning" not in agent_runs[SHARED].stderr  # stored, no store problem
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


def test_from_store_reports_the_shared_nodes_without_ssh(lab, inventory, agent_runs, server):
    env = {**os.environ, "XEONFLEET_LAB_DIR": str(lab.lab_dir)}

    def from_store(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "xeonfleet"), "audit", "--from-store", "--db", server, "--format", "json",
                               *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)

    fleet = from_store()
    assert fleet.returncode == 1, fleet.stderr
    report = json.loads(fleet.stdout)
    assert list(report["nodes"]) == [SHARED]
    governor = next(f for f in report["nodes"][SHARED]["findings"] if f["rule"] == "power.governor")
    assert governor["status"] == "fail" and "powersave" in governor["evidence"]
    # Given the inventory, the node that keeps its history locally is named, not silently missing.
    named = from_store(str(inventory))
    assert json.loads(named.stdout)["unreachable"] == {
        LOCAL: "no audit of this host in the store (is its audit agent installed?)"}
    # lab-02's own store, on the node, has its run.
    local = ssh(lab, LOCAL, f"{agent.AGENT_DIR}/bin/xeonfleet audit --from-store --db {agent.LOCAL_DB} --format json "
                            f"|| true")
    assert list(json.loads(local)["nodes"]) == [LOCAL]


def test_bad_host_data_fails_that_host_alone_in_one_line(lab, inventory, tmp_path):
    bad = tmp_path / "bad_inventory.py"
    bad.write_text(inventory.read_text().replace("agent_hosts = ", "_hosts = ")
                   + f"_hosts[1][1][{agent.DB_KEY!r}] = '/var/tmp/fleet.db'\nagent_hosts = _hosts\n")
    result = pyinfra(bad)
    assert (f"[{LOCAL}] error: host data {agent.DB_KEY}: '/var/tmp/fleet.db' is not a postgresql:// URL"
            in result.stdout + result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert changes(result.stdout).get(LOCAL) is None
