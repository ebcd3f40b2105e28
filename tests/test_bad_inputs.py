"""Every failure is one clear line, and nothing is lost: bad inputs and broken hosts, one row each.

Each row feeds one bad input (a broken inventory, profile, sysroot, store, hardware or job spec) or one
fault (a host stopped, cut mid-login or mid-probe or between two operations, a full disk on a node, a
node without SFTP, Ctrl-C) to the real command and checks its exit code and its message. No row may
show a Python traceback. Rows with a store also check that a re-run converges and earlier runs survive.

The offline rows are the table `OFFLINE`; the lab rows (real sshd hosts, real pyinfra, real SQLite)
are the functions below it, one per fault. Rows marked [bench] check work owned by xeonfleet/bench.
"""

from __future__ import annotations

import http.server
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xeonfleet.bench.jobs import JOBS_DIR, RUNNERS_DIR, JobError, load_jobs
from xeonfleet.knobs.status import FAIL, NA, PASS, UNKNOWN
from xeonfleet.audit.fleet import evaluate_fleet
from xeonfleet.connect.gather import duplicate_hosts
from xeonfleet.profiles import load_profile

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLOUD_VM = REPO / "tests" / "unit" / "fixtures" / "cloud-vm"
LAUNCHER = REPO / "xeonfleet" / "node" / "launcher.py"
TIMEOUT_S = 300


def run(program: str, *args: str, env: dict[str, str] | None = None, timeout: float = TIMEOUT_S,
        cwd: Path = REPO) -> subprocess.CompletedProcess:
    """One real command line from the repo root, as a user types it."""
    return subprocess.run([str(BIN / program), *args], cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, check=False)


def output_of(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def assert_clean_failure(result: subprocess.CompletedProcess, code: int, pattern: str) -> None:
    """Exit code `code`, a line matching `pattern`, and never a traceback."""
    text = output_of(result)
    assert "Traceback" not in text, text[-3000:]
    assert result.returncode == code, f"exit {result.returncode}, wanted {code}:\n{text[-3000:]}"
    assert re.search(pattern, text, re.MULTILINE), f"no line matching {pattern!r} in:\n{text[-3000:]}"


def audit_runs(db: Path) -> list[tuple[int, int, int]]:
    """(run id, nodes, unreachable) of every stored audit."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, nodes, unreachable FROM audit_runs ORDER BY id").fetchall()


# --- offline rows: no host needed ---------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input: files written under a temp dir, the command (`{tmp}`, `{repo}` expanded), what it says."""

    name: str
    args: tuple[str, ...]
    code: int
    pattern: str
    files: dict[str, str] = field(default_factory=dict)
    program: str = "xeonfleet"


def _profile(body: str) -> dict[str, str]:
    return {"p.yaml": "include: xeon-ai-base\n" + body}


AUDIT_WITH_PROFILE = ("audit", "--sysroot", str(CLOUD_VM), "--db", ":memory:", "--profile", "{tmp}/p.yaml")

OFFLINE = [
    Case("facts: inventory raises NameError", ("facts", "{tmp}/inv.py"), 2,
         r"^error: cannot load inventory .*inv\.py: NameError: name 'x' is not defined \(line 3\)$",
         {"inv.py": "hosts = ['a']\n\nprint(x)\n"}),
    Case("audit: inventory raises NameError", ("audit", "{tmp}/inv.py"), 2,
         r"^error: cannot load inventory .*inv\.py: NameError: name 'x' is not defined \(line 3\)$",
         {"inv.py": "hosts = ['a']\n\nprint(x)\n"}),
    Case("audit: inventory raises RuntimeError", ("audit", "{tmp}/inv.py"), 2,
         r"^error: cannot load inventory .*inv\.py: RuntimeError: CMDB unreachable \(line 1\)$",
         {"inv.py": "raise RuntimeError('CMDB unreachable')\n"}),
    Case("facts: inventory with a syntax error", ("facts", "{tmp}/inv.py"), 2,
         r"^error: cannot load inventory .*inv\.py: SyntaxError: .* \(line 1\)$", {"inv.py": "hosts = [\n"}),
    Case("audit: inventory file missing", ("audit", "{tmp}/missing.py"), 2,
         r"^error: inventory file .*missing\.py not found: pass an existing pyinfra inventory file$"),
    Case("audit: inventory without hosts", ("audit", "{tmp}/inv.py"), 2, r"^error: inventory .*inv\.py has no hosts",
         {"inv.py": "hosts = []\n"}),
    Case("audit: neither inventory nor sysroot", ("audit",), 2, r"^error: give either an INVENTORY"),
    Case("facts: --sysroot an empty directory", ("facts", "--sysroot", "{tmp}/empty"), 2,
         r"^error: .*/empty has no proc/cpuinfo: pass the root of a snapshot \(it holds proc/ and sys/\)$",
         {"empty/.keep": ""}),
    Case("audit: --sysroot the snapshot's etc/", ("audit", "--sysroot", str(CLOUD_VM / "etc"), "--db", ":memory:"), 2,
         r"^error: .*cloud-vm/etc has no proc/cpuinfo: pass the root of a snapshot"),
    Case("facts: --sysroot a directory that does not exist", ("facts", "--sysroot", "{tmp}/nowhere"), 2,
         r"^error: sysroot .*nowhere is not a directory: pass the root of an extracted snapshot"),
    Case("profile: bool key given a string", AUDIT_WITH_PROFILE, 2,
         r"^error: .*p\.yaml:3: `bios\.hyperthreading` must be true or false, got 'yes'$",
         _profile("bios:\n  hyperthreading: 'yes'\n")),
    Case("profile: integer key given a word", AUDIT_WITH_PROFILE, 2,
         r"^error: .*p\.yaml:3: `cpu\.min_fma_units` must be an integer, got 'two'$",
         _profile("cpu:\n  min_fma_units: two\n")),
    Case("profile: list key given a string", AUDIT_WITH_PROFILE, 2,
         r"^error: .*p\.yaml:3: `cpu\.isa_required` must be a list of ISA names",
         _profile("cpu:\n  isa_required: avx512f\n")),
    Case("profile: string key given a number", AUDIT_WITH_PROFILE, 2,
         r"^error: .*p\.yaml:3: `power\.driver` must be a cpufreq driver name such as intel_pstate, got 5$",
         _profile("power:\n  driver: 5\n")),
    Case("profile: sysctl outside the range the kernel documents", AUDIT_WITH_PROFILE, 2,
         r"^error: .*p\.yaml:5: `os\.sysctl\.vm\.swappiness` must be an integer from 0 to 200 "
         r"\(kernel Documentation/admin-guide/sysctl/vm\.rst\), got 500$",
         _profile("os:\n  sysctl:\n    kernel.nmi_watchdog: '0'\n    vm.swappiness: 500\n")),
    Case("profile: negative thread count", AUDIT_WITH_PROFILE, 2,
         r"^error: .*p\.yaml:3: `runtime\.omp_num_threads` must be physical_cores, cores_per_instance or a positive "
         r"integer, got -4$", _profile("runtime:\n  omp_num_threads: -4\n")),
    Case("profile: section given a list", AUDIT_WITH_PROFILE, 2, r"^error: .*p\.yaml:2: section `numa` must be a mapping$",
         _profile("numa: [1]\n")),
    Case("profile: frameworks given a string", AUDIT_WITH_PROFILE, 2, r"^error: .*p\.yaml:2: .*frameworks",
         _profile("frameworks: openvino\n")),
    Case("profile: unknown key", AUDIT_WITH_PROFILE, 2,
         r"^error: .*p\.yaml:3: unknown key `bios\.hyperthreadin` \(known: hwp_native, hyperthreading\)$",
         _profile("bios:\n  hyperthreadin: true\n")),
    Case("profile: bad YAML", AUDIT_WITH_PROFILE, 2, r"^error: .*p\.yaml:\d+: invalid YAML",
         _profile("bios: {hyperthreading: true\n")),
    Case("profile: include cycle", AUDIT_WITH_PROFILE, 2, r"^error: .*p\.yaml:1: include cycle",
         {"p.yaml": "include: p\n"}),
    Case("audit: unknown profile name", ("audit", "--sysroot", str(CLOUD_VM), "--db", ":memory:", "--profile", "nope"),
         2, r"^error: .*nope\.yaml: no such profile \(known: "),
    Case("audit: -o where nothing can be written",
         ("audit", "--sysroot", str(CLOUD_VM), "--db", ":memory:", "-o", "/proc/no/audit.json"), 2,
         r"^error: cannot write /proc/no/audit\.json: "),
    Case("report: --db in a directory that does not exist", ("report", "--db", "{tmp}/no-dir/x.db"), 2,
         r"^xeonfleet bench: no results store at .*/no-dir/x\.db: run `xeonfleet audit INVENTORY` or"),
    Case("report: a corrupt store file", ("report", "--db", "{tmp}/corrupt.db"), 2,
         r"^xeonfleet bench: results store .*corrupt\.db: not a SQLite database .*; move it away or set XEONFLEET_DB$",
         {"corrupt.db": "this is not a database\n" * 100}),
    Case("report: -o FILE on a store without benchmark runs", ("report", "--db", "{tmp}/empty.db", "-o", "{tmp}/r.html"),
         2, r"^xeonfleet bench: no benchmark runs in the results store", {"empty.db": ""}),
    Case("lab: hardware profile with a bad key", ("lab", "up", "--hosts", "1", "--hardware", "{tmp}/hw.yaml",
                                                  "--lab-dir", "{tmp}/lab"), 2,
         r"^xeonfleet lab: .*hw\.yaml:3: cpu\.bogus_key: unknown key; known keys: ",
         {"hw.yaml": "include: cloud-vm\ncpu:\n  bogus_key: 3\n"}),
    Case("lab: unknown hardware name", ("lab", "up", "--hosts", "1", "--hardware", "nope", "--lab-dir", "{tmp}/lab"),
         2, r"^xeonfleet lab: unknown hardware nope; choose from: "),
    Case("lab: stop a host that does not exist", ("lab", "stop", "lab-99", "--lab-dir", "{tmp}/lab"), 2,
         r"^xeonfleet lab: "),
    Case("bench: unknown job", ("bench", "run", "inventories/lab.py", "--jobs", "nope", "--db", "{tmp}/b.db"), 2,
         r"^xeonfleet bench: unknown job\(s\) nope; choose light, all or names from: "),
    Case("launcher: --instances not a number", (str(LAUNCHER), "--instances", "two", "--", "app"), 2,
         r"--instances must be a number or auto, got 'two'", program="python"),
]


@pytest.mark.parametrize("case", OFFLINE, ids=[c.name for c in OFFLINE])
def test_offline_bad_input(case: Case, tmp_path: Path) -> None:
    for relative, content in case.files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(content)
    args = [a.format(tmp=tmp_path, repo=REPO) for a in case.args]
    result = run(case.program, *args, env={"XEONFLEET_LAB_DIR": str(tmp_path / "lab")})
    assert_clean_failure(result, case.code, case.pattern)
    assert not (tmp_path / "no-dir").exists(), "a read-only command created a store directory"
    if "corrupt.db" in case.files:
        assert (tmp_path / "corrupt.db").read_text() == case.files["corrupt.db"], "the corrupt store was touched"


def test_benchmark_spec_with_a_bad_key(tmp_path: Path) -> None:
    """A job YAML with a typo'd key: one line naming the file, the key and the allowed ones."""
    jobs = tmp_path / "benchmarks"
    shutil.copytree(RUNNERS_DIR, jobs / "runners")
    (jobs / "gemm-fp32.yaml").write_text((JOBS_DIR / "gemm-fp32.yaml").read_text() + "parms: {}\n")
    with pytest.raises(JobError) as raised:
        load_jobs(jobs)
    message = str(raised.value)
    assert "\n" not in message and "gemm-fp32.yaml" in message and "unknown key(s) parms" in message


def test_corrupt_store_does_not_lose_the_audit_and_a_fixed_store_converges(tmp_path: Path) -> None:
    """audit into a corrupt store: the report is printed, the store problem is one warning line, the file
    is left alone; moved away, the next audit is stored."""
    corrupt = tmp_path / "xeonfleet.db"
    corrupt.write_text("garbage\n" * 50)
    result = run("xeonfleet", "audit", "--sysroot", str(CLOUD_VM), "--db", str(corrupt))
    assert_clean_failure(result, 1, r"^warning: audit not stored: results store .*: not a SQLite database")
    assert "Fleet: 1 node(s) audited" in result.stdout
    assert corrupt.read_text() == "garbage\n" * 50
    corrupt.rename(tmp_path / "corrupt.db.bak")
    again = run("xeonfleet", "audit", "--sysroot", str(CLOUD_VM), "--db", str(corrupt))
    assert again.returncode == 1 and audit_runs(corrupt) == [(1, 1, 0)]


def test_store_locked_by_another_writer(tmp_path: Path) -> None:
    """Another writer holds the store: one line after $XEONFLEET_DB_TIMEOUT, nothing half-written; once it
    is released the same audit is stored next to the earlier run."""
    db = tmp_path / "xeonfleet.db"
    first = run("xeonfleet", "audit", "--sysroot", str(CLOUD_VM), "--db", str(db))
    assert first.returncode == 1 and audit_runs(db) == [(1, 1, 0)]
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\n"
         "print('locked', flush=True)\nsys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        locked = run("xeonfleet", "audit", "--sysroot", str(CLOUD_VM), "--db", str(db),
                     env={"XEONFLEET_DB_TIMEOUT": "1"})
        assert time.monotonic() - started < 30
        assert_clean_failure(locked, 1, r"^warning: audit not stored: results store .*: still locked after 1s by "
                                        r"another writer; retry when it is done \(or raise \$XEONFLEET_DB_TIMEOUT\)$")
    finally:
        holder.communicate("", timeout=30)
    again = run("xeonfleet", "audit", "--sysroot", str(CLOUD_VM), "--db", str(db))
    assert again.returncode == 1 and audit_runs(db) == [(1, 1, 0), (2, 1, 0)]


class _QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    """A real HTTP server (python's http.server) on a free port of 127.0.0.1, where an inventory expects sshd."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


INVENTORY_COMMANDS = [("facts",), ("audit", "--db", ":memory:")]


@pytest.mark.parametrize("command", INVENTORY_COMMANDS, ids=["facts", "audit"])
def test_a_port_that_speaks_http_is_not_an_ssh_server(command: tuple[str, ...], http_port: int,
                                                     tmp_path: Path) -> None:
    """An HTTP server where sshd was expected: one line quoting what it answered (not paramiko's banner error,
    its thread's traceback, nor "connection lost"); the other host is still reported."""
    inventory = tmp_path / "inv.py"
    inventory.write_text(f"hosts = ['@local', ('web', {{'ssh_hostname': '127.0.0.1', 'ssh_port': {http_port}}})]\n")
    result = run("xeonfleet", command[0], str(inventory), *command[1:])
    # http.server answers the client's "SSH-2.0-..." line as an HTTP/0.9 request: an error page, no status line.
    assert_clean_failure(result, 2, r'^web: unreachable: not an SSH server \(it answered "<!DOCTYPE HTML>"\)$')
    assert "SSH protocol banner" not in output_of(result) and "connection lost" not in output_of(result)
    assert re.search(r"^@local ", result.stdout, re.MULTILINE), result.stdout


@pytest.mark.parametrize("command", INVENTORY_COMMANDS, ids=["facts", "audit"])
def test_a_host_listed_twice_is_one_warning(command: tuple[str, ...], tmp_path: Path) -> None:
    """@local in two groups with different profiles: pyinfra keeps the later one; one warning line names both
    entries and the key, then every host is still gathered (the other one, down, reported as refused)."""
    inventory = tmp_path / "inv.py"
    inventory.write_text(
        f"hosts = [('@local', {{'xeonfleet_profile': 'xeon-ai-base'}}), "
        f"('down', {{'ssh_hostname': '127.0.0.1', 'ssh_port': {_closed_port()}}})]\n"
        "online = [('@local', {'xeonfleet_profile': 'inference-online'})]\n")
    result = run("xeonfleet", command[0], str(inventory), *command[1:])
    assert_clean_failure(result, 2, r"^warning: inventory .*inv\.py: host @local is listed twice \(hosts entry 1, "
                                    r"online entry 1\): the later entry overrides xeonfleet_profile$")
    assert output_of(result).count("listed twice") == 1
    assert re.search(r"^down: unreachable: connection refused", result.stderr, re.MULTILINE), result.stderr
    assert re.search(r"^@local ", result.stdout, re.MULTILINE), result.stdout
    if command[0] == "audit":
        assert "@local  [inference-online]" in result.stdout


@pytest.mark.parametrize(("groups", "lines"), [
    ({"hosts": ["a", ("b", {"x": 1})], "gpu": [("b", {"x": 1})]}, []),  # roles, as inventories/lab.py has
    ({"hosts": ["a", ("b", {"x": 1})], "gpu": [("b", {"y": 2})]}, []),  # data added, nothing overridden
    ({"hosts": ["a", "b", "a"]}, ["host a is listed twice (hosts entries 1 and 3): it is one host, with both "
                                  "entries' data merged"]),
    ({"hosts": ([("a", {"ssh_port": 1, "x": 1})], {}), "all": [("a", {"ssh_port": 2, "x": 2})]},
     ["host a is listed twice (hosts entry 1, all entry 1): the later entry overrides ssh_port, x"]),
], ids=["same data in two groups", "data added", "twice in a group", "overridden by all"])
def test_duplicate_hosts(groups: dict, lines: list[str]) -> None:
    assert duplicate_hosts(groups) == lines


def _node(kernel: str) -> dict:
    return {"os": {"kernel": kernel}, "cpu": {"model_name": "Xeon 8380"}}


def _fleet_findings(kernels: list[str]) -> dict[str, object]:
    facts = {f"n{i}": _node(k) for i, k in enumerate(kernels)}
    profile = load_profile("xeon-ai-base")
    return {f.host: f for f in evaluate_fleet({}, facts, {h: profile for h in facts}) if f.rule == "fleet.os.kernel"}


def test_fleet_rule_on_a_one_node_fleet_has_no_peers() -> None:
    finding = _fleet_findings(["5.15"])["n0"]
    assert (finding.status, finding.evidence) == (NA, "5.15 (no peers to compare)")


def test_fleet_rule_without_a_majority_reports_the_spread() -> None:
    """6 nodes on 4 kernels: no value holds a majority, so nobody is judged against a plurality of 2."""
    findings = _fleet_findings(["5.15", "5.15", "5.4", "5.4", "6.1", "6.5"])
    assert {f.status for f in findings.values()} == {UNKNOWN}
    assert findings["n4"].evidence == "6.1; no majority among 6 peers: 5.15 on 2, 5.4 on 2, 6.1 on 1, 6.5 on 1"
    assert findings["n4"].remedy == "choose one os.kernel for the group and align every node to it"


def test_fleet_rule_with_a_majority_flags_the_odd_node() -> None:
    findings = _fleet_findings(["5.15", "5.15", "5.15", "5.4"])
    assert [findings[h].status for h in ("n0", "n1", "n2", "n3")] == [PASS, PASS, PASS, FAIL]
    assert findings["n3"].expected == "5.15 (on 3/4 peers)"


# --- lab rows: real hosts -----------------------------------------------------------------------

HARDWARE = ["icx-8380-2s", "icx-8380-2s-mistuned", "cloud-vm"]


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(HARDWARE)


def lab_env(lab, db: Path | None = None) -> dict[str, str]:
    env = {"XEONFLEET_LAB_DIR": str(lab.lab_dir)}
    if db is not None:
        env["XEONFLEET_DB"] = str(db)
    return env


def ssh(lab, name: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
    host = lab.host(name)
    result = subprocess.run(
        ["ssh", "-i", str(lab.client_key), "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=yes", "-p", str(host.port), "root@127.0.0.1", command],
        capture_output=True, text=True, timeout=120, check=False)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def cut_host(lab, tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """cut_host(name, n) -> an inventory of the lab in which host `name` is reached through a proxy that
    drops its SSH connection after n bytes from the server (the proxy's port is not in known_hosts);
    `tally=PATH` makes the proxy write each connection's byte count there."""
    proxies: list[subprocess.Popen] = []

    def make(name: str, cut_after: int, tally: Path | None = None) -> Path:
        hosts = lab.inventory_hosts()
        data = dict(hosts)[name]
        command = [sys.executable, "-m", "tests.cut_proxy", str(data["ssh_port"]), str(cut_after)]
        proxy = subprocess.Popen(command + ([str(tally)] if tally else []), cwd=REPO, stdout=subprocess.PIPE, text=True)
        proxies.append(proxy)
        port = int(proxy.stdout.readline())
        proxied = {**data, "ssh_port": port, "ssh_strict_host_key_checking": "no", "ssh_known_hosts_file": "/dev/null"}
        inventory = tmp_path / f"cut_{name}_{cut_after}.py"
        inventory.write_text(f"hosts = {[(h, proxied if h == name else d) for h, d in hosts]!r}\n")
        return inventory

    yield make
    for proxy in proxies:
        proxy.kill()
        proxy.wait()


def test_stopped_host_is_refused_then_comes_back_and_nothing_is_lost(lab, tmp_path: Path) -> None:
    """A stopped host: "connection refused" (not an auth error), the others audited and stored; back up,
    the next audit judges it again and the earlier runs are still in the store."""
    db = tmp_path / "audit.db"
    first = run("xeonfleet", "audit", "inventories/lab.py", "--failures-only", env=lab_env(lab, db))
    assert first.returncode == 1, output_of(first)
    lab.stop("lab-02")
    try:
        facts = run("xeonfleet", "facts", "inventories/lab.py", env=lab_env(lab))
        assert_clean_failure(facts, 2, r"^lab-02: unreachable: connection refused \(no sshd listening")
        assert "lab-01" in facts.stdout and "lab-03" in facts.stdout
        down = run("xeonfleet", "audit", "inventories/lab.py", "--failures-only", env=lab_env(lab, db))
        assert_clean_failure(down, 2, r"^lab-02: unreachable: connection refused")
    finally:
        assert lab.start("lab-02").answering
    back = run("xeonfleet", "audit", "inventories/lab.py", "--failures-only", env=lab_env(lab, db))
    assert back.returncode == 1 and "lab-02  [xeon-ai-base]" in back.stdout, output_of(back)
    assert [(nodes, unreachable) for _, nodes, unreachable in audit_runs(db)] == [(3, 0), (2, 1), (3, 0)]


@pytest.mark.parametrize(("cut_after", "pattern"), [
    (1500, r"^lab-01: unreachable: connection lost \(the host closed the connection during SSH login"),
    (8000, r"^lab-01: probe failed: connection lost \(the host closed the SSH session"),
], ids=["during login", "mid-probe"])
def test_host_dies_mid_session(lab, cut_host, cut_after: int, pattern: str) -> None:
    """A host that goes away during login or while probing: "connection lost", never "Authentication error"."""
    result = run("xeonfleet", "facts", str(cut_host("lab-01", cut_after)), env=lab_env(lab))
    assert_clean_failure(result, 2, pattern)
    assert "Authentication" not in output_of(result)
    assert "lab-02" in result.stdout and "lab-03" in result.stdout


def test_sigint_during_an_audit_stores_nothing_then_a_rerun_converges(lab, tmp_path: Path) -> None:
    """Ctrl-C while hosts are being gathered (one host never answers, so the gather is still running):
    one line, exit 130, no half run in the store; the next audit is stored next to the earlier one."""
    db = tmp_path / "audit.db"
    assert run("xeonfleet", "audit", "inventories/lab.py", env=lab_env(lab, db)).returncode == 1
    silent = socket.socket()  # accepts TCP connections and never sends an SSH banner
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    hosts = lab.inventory_hosts() + [("silent", {**lab.inventory_hosts()[0][1], "ssh_port": silent.getsockname()[1]})]
    inventory = tmp_path / "inv.py"
    inventory.write_text(f"hosts = {hosts!r}\n")
    try:
        audit = subprocess.Popen([str(BIN / "xeonfleet"), "audit", str(inventory), "--timeout", "30"], cwd=REPO,
                                 env={**os.environ, **lab_env(lab, db)}, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        time.sleep(4)
        audit.send_signal(signal.SIGINT)
        out, err = audit.communicate(timeout=60)
    finally:
        silent.close()
    assert "Traceback" not in out + err, err
    assert (audit.returncode, err.strip().splitlines()[-1]) == (130, "xeonfleet: interrupted")
    assert len(audit_runs(db)) == 1
    assert run("xeonfleet", "audit", "inventories/lab.py", env=lab_env(lab, db)).returncode == 1
    assert [run_id for run_id, _, _ in audit_runs(db)] == [1, 2]


def test_frameworks_deploy_without_host_data_is_one_line_per_host(lab) -> None:
    result = run("pyinfra", "-y", "inventories/lab.py", "deploys/frameworks.py", env=lab_env(lab))
    text = output_of(result)
    for name in ("lab-01", "lab-02", "lab-03"):
        assert_clean_failure(result, 1, rf"\[{name}\] error: no frameworks spec: set host data `xeonfleet_profile` .*"
                                        r"e\.g\. pyinfra INVENTORY deploys/frameworks\.py "
                                        r"--data xeonfleet_profile=xeon-ai-stack$")
    assert "ValueError" not in text


@pytest.mark.parametrize(("data", "pattern"), [
    ("xeonfleet_profile=nope", r"\[lab-0\d\] error: .*nope\.yaml: no such profile"),
    ("frameworks_root=relative/envs",
     r"\[lab-0\d\] error: host data frameworks_root 'relative/envs' must be an absolute path"),
], ids=["unknown profile", "relative frameworks_root"])
def test_frameworks_deploy_bad_host_data(lab, data: str, pattern: str) -> None:
    result = run("pyinfra", "-y", "inventories/lab.py", "deploys/frameworks.py", "--limit", "lab-01",
                 "--data", "xeonfleet_profile=xeon-ai-stack", "--data", data, env=lab_env(lab))
    assert_clean_failure(result, 1, pattern)


def test_frameworks_install_on_a_full_disk(lab) -> None:
    """The env root on a 1 MiB tmpfs in the node: one line with the free and needed space, before pip
    starts; with the disk freed the same deploy goes ahead (its --dry plan lists the env)."""
    ssh(lab, "lab-03", "mkdir -p /mnt/tiny && mount -t tmpfs -o size=1m tmpfs /mnt/tiny")
    try:
        full = run("pyinfra", "-y", "inventories/lab.py", "deploys/frameworks.py", "--limit", "lab-03",
                   "--data", "xeonfleet_profile=xeon-ai-stack", "--data", "frameworks_root=/mnt/tiny/envs",
                   env=lab_env(lab))
        assert_clean_failure(full, 1, r"\[lab-03\] xeonfleet: not enough disk space for /mnt/tiny/envs/ai: \d+ MiB "
                                      r"free in /mnt/tiny/envs, need \d+ MiB; free space or set host data frameworks_root$")
    finally:
        ssh(lab, "lab-03", "umount /mnt/tiny")
    dry = run("pyinfra", "inventories/lab.py", "deploys/frameworks.py", "--limit", "lab-03", "--dry",
              "--data", "xeonfleet_profile=xeon-ai-stack", "--data", "frameworks_root=/mnt/tiny/envs", env=lab_env(lab))
    assert dry.returncode == 0 and "Framework env ai" in output_of(dry), output_of(dry)


def test_frameworks_install_runs_out_of_disk_midway_then_converges(lab, tmp_path: Path) -> None:
    """The env root on a tmpfs with room but few inodes: the free-space check passes, pip then fills
    it (ENOSPC) mid-install: one line; on a roomy filesystem the same deploy builds the env."""
    spec = {"envs": [{"name": "vs", "backend": "venv", "python": "3.11", "stacks": {"faiss": "1.15"}}]}
    inventory = tmp_path / "inv.py"
    inventory.write_text(f"hosts = {[(n, {**d, 'frameworks': spec, 'frameworks_root': '/mnt/ino/envs'}) for n, d in lab.inventory_hosts() if n == 'lab-03']!r}\n")
    ssh(lab, "lab-03", "mkdir -p /mnt/ino && mount -t tmpfs -o size=600m,nr_inodes=2500 tmpfs /mnt/ino")
    try:
        full = run("pyinfra", "-y", str(inventory), "deploys/frameworks.py", env=lab_env(lab))
        assert_clean_failure(full, 1, r"\[lab-03\] xeonfleet: no space left on device while installing")
    finally:
        ssh(lab, "lab-03", "umount /mnt/ino")
    ssh(lab, "lab-03", "mount -t tmpfs -o size=600m tmpfs /mnt/ino")
    try:
        fixed = run("pyinfra", "-y", str(inventory), "deploys/frameworks.py", env=lab_env(lab))
        assert fixed.returncode == 0, output_of(fixed)[-3000:]
        assert ssh(lab, "lab-03", "/mnt/ino/envs/vs/bin/python -c 'import faiss'", check=False).returncode == 0
    finally:
        ssh(lab, "lab-03", "umount /mnt/ino")


@pytest.fixture(scope="module")
def no_sftp_lab(lab_factory):
    """A one-host lab whose sshd has no SFTP subsystem (as on many hardened hosts)."""
    lab = lab_factory(["cloud-vm"])
    config = lab.lab_dir / "ssh" / "sshd_config"
    config.write_text("".join(line for line in config.read_text().splitlines(keepends=True)
                              if not line.startswith("Subsystem sftp")))
    lab.stop("lab-01")
    assert lab.start("lab-01").answering
    return lab


def test_frameworks_deploy_on_a_host_without_sftp_falls_back_to_scp(no_sftp_lab) -> None:
    """The node helper is uploaded over scp, with one line saying so; the env root on a full tmpfs then
    stops the env build in one line (so no install runs here)."""
    ssh(no_sftp_lab, "lab-01", "mkdir -p /mnt/tiny && mount -t tmpfs -o size=1m tmpfs /mnt/tiny")
    result = run("pyinfra", "-y", "inventories/lab.py", "deploys/frameworks.py", "--data",
                 "xeonfleet_profile=xeon-ai-stack", "--data", "frameworks_root=/mnt/tiny/envs", env=lab_env(no_sftp_lab))
    assert_clean_failure(result, 1, r"\[lab-01\] no SFTP subsystem in this host's sshd: file transfers use scp")
    assert "Unable to establish SFTP" not in output_of(result)
    assert re.search(r"Upload the node env helper\s*\n\s+\[lab-01\] Success", output_of(result)), output_of(result)
    assert ssh(no_sftp_lab, "lab-01", "test -s /opt/xeonfleet/lib/node_env.py", check=False).returncode == 0


def test_host_dies_between_two_operations_and_a_rerun_converges(lab, cut_host, tmp_path: Path) -> None:
    """lab-01's session drops part-way through the tune deploy's operations: it fails alone with pyinfra's
    one-line error while the other hosts finish; the re-run on the live fleet converges (a second one
    changes nothing). Where to cut is measured: a --dry run's bytes (the facts, which come first) and a full
    run's give the operations' bytes (they send back little: one command). SSH pads every packet with a random
    length, so a session's bytes move by more than the operations send: each try measures the facts again in
    the state it starts from, cuts a quarter, a half or three quarters into the operations, and a try whose cut
    fell outside them (the host finished, or died while its facts loaded) is restored and tried again."""
    def tallied(*options: str) -> int:
        tally = tmp_path / f"tally-{len(list(tmp_path.glob('tally-*')))}"
        result = run("pyinfra", "-y", str(cut_host("lab-01", 10**9, tally)), "deploys/ai_node.py", "--limit",
                     "lab-01", *options, env=lab_env(lab))
        assert result.returncode == 0, output_of(result)[-3000:]
        return max(int(n) for n in tally.read_text().split())

    facts_bytes = tallied("--dry")
    operations_bytes = tallied() - facts_bytes
    for attempt in range(9):  # every host restored: a missed try tuned the others too
        restored = run("pyinfra", "-y", "inventories/lab.py", "deploys/restore.py", env=lab_env(lab))
        assert restored.returncode == 0, output_of(restored)[-3000:]
        cut = tallied("--dry") + operations_bytes * (1 + attempt % 3) // 4
        result = run("pyinfra", "-y", str(cut_host("lab-01", cut)), "deploys/ai_node.py", env=lab_env(lab))
        operations = output_of(result).partition("--> Beginning operation run")[2]
        if result.returncode != 0 and "[lab-01] Error: " in operations:
            break
    assert_clean_failure(result, 1, r"\[lab-01\] Error: ")
    assert "[lab-01] Error: " in operations and "[lab-02] Success" in operations  # died between operations
    rerun = run("pyinfra", "-y", "inventories/lab.py", "deploys/ai_node.py", env=lab_env(lab))
    assert rerun.returncode == 0, output_of(rerun)[-3000:]
    again = run("pyinfra", "-y", "inventories/lab.py", "deploys/ai_node.py", env=lab_env(lab))
    assert again.returncode == 0 and re.search(r"Grand total\s+\d+\s+-\s+-\s+\d+", output_of(again)), output_of(again)
    restore = run("pyinfra", "-y", "inventories/lab.py", "deploys/restore.py", env=lab_env(lab))
    assert restore.returncode == 0, output_of(restore)[-2000:]


def test_host_dies_while_the_tune_deploy_reads_its_facts(lab, cut_host) -> None:
    """lab-01's session drops while the deploy loads (mid-probe, as the audit row above): that host fails
    alone in one line and the others are tuned; no traceback."""
    result = run("pyinfra", "-y", str(cut_host("lab-01", 8000)), "deploys/ai_node.py", "--dry", env=lab_env(lab))
    text = output_of(result)
    assert "Traceback" not in text and "AttributeError" not in text, text[-3000:]
    assert re.search(r"\[lab-01\].*(its facts could not be read|Error|lost)", text), text[-3000:]
    assert re.search(r"\[lab-02\] Ready: deploys/ai_node.py", text), text[-3000:]


def test_launcher_on_a_lab_host_plans_over_the_usable_cpus(lab) -> None:
    """The lab host's /sys lists 160 CPUs; the process may use only this machine's: the plan stays inside
    them (numactl would print its usage otherwise), and asking for more is one error line."""
    launcher = shlex.quote(str(REPO / "xeonfleet" / "node" / "launcher.py"))
    allowed = ssh(lab, "lab-01", "grep Cpus_allowed_list /proc/self/status").stdout.split()[-1]
    result = ssh(lab, "lab-01", f"PYTHONPATH={shlex.quote(str(REPO))} python3 {launcher} --instances auto -- true")
    assert "usage: numactl" not in result.stdout + result.stderr
    assert f"this process may use" in result.stderr and f"allowed CPUs {allowed}" in result.stderr
    too_big = ssh(lab, "lab-01", f"PYTHONPATH={shlex.quote(str(REPO))} python3 {launcher} "
                                 "--cores-per-instance 999 -- true", check=False)
    assert too_big.returncode == 2 and too_big.stdout == ""
    assert too_big.stderr.splitlines()[-1].startswith("xeonfleet-run: 999 cores per instance is more than")


def test_deploys_audit_with_a_broken_profile_is_one_line(lab, tmp_path: Path) -> None:
    profile = tmp_path / "broken.yaml"
    profile.write_text("include: xeon-ai-base\npower:\n  governor: 3\n")
    result = run("pyinfra", "inventories/lab.py", "deploys/audit.py", "--limit", "lab-01",
                 "--data", f"xeonfleet_profile={profile}", env=lab_env(lab))
    assert_clean_failure(result, 1, r"broken\.yaml:3: `power\.governor` must be")


def test_snapshot_of_a_host_not_in_the_inventory(lab, tmp_path: Path) -> None:
    result = run("xeonfleet", "snapshot", "lab-99", "-i", "inventories/lab.py", "-o", str(tmp_path / "s.tar.gz"),
                 env=lab_env(lab))
    assert_clean_failure(result, 2, r"^error: host lab-99 is not in inventory inventories/lab\.py: choose one of lab-01")


# --- [bench] rows: xeonfleet bench run on the lab -----------------------------------------------


def bench_env(lab, tmp_path: Path) -> dict[str, str]:
    """The lab, and raw results kept in the test's own directory."""
    return {**lab_env(lab), "XEONFLEET_RESULTS_DIR": str(tmp_path / "raw")}


def bench_runs(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT run_id FROM bench_runs ORDER BY started")]


def test_bench_run_where_every_job_skips_is_incomplete(lab, tmp_path: Path) -> None:
    """[bench] No env with numpy on the node: every job skips, so the run measured nothing: exit 1."""
    db = tmp_path / "bench.db"
    result = run("xeonfleet", "bench", "run", "inventories/lab.py", "--jobs", "gemm-fp32", "--limit", "lab-03",
                 "--db", str(db), env=bench_env(lab, tmp_path))
    assert_clean_failure(result, 1, r"INCOMPLETE run .*: lab-03 measured nothing")
    report = run("xeonfleet", "report", "--db", str(db), "-o", str(tmp_path / "bench.html"))
    assert "Traceback" not in output_of(report)
    assert (tmp_path / "bench.html").read_text().startswith("<!DOCTYPE html>")


def test_bench_run_with_a_full_disk_on_the_node(lab, tmp_path: Path) -> None:
    """[bench] The node's benchmark directory on a full 64 KiB tmpfs: one line naming the host, no
    traceback; with the disk freed a re-run stores its run and the earlier one is still there."""
    db = tmp_path / "bench.db"
    first = run("xeonfleet", "bench", "run", "inventories/lab.py", "--jobs", "gemm-fp32", "--limit", "lab-03",
                "--db", str(db), env=bench_env(lab, tmp_path))
    assert "Traceback" not in output_of(first)
    ssh(lab, "lab-03", "mkdir -p /var/lib/xeonfleet/bench && mount -t tmpfs -o size=64k tmpfs /var/lib/xeonfleet/bench"
                       " && (dd if=/dev/zero of=/var/lib/xeonfleet/bench/fill bs=4k 2>/dev/null; true)")
    try:
        full = run("xeonfleet", "bench", "run", "inventories/lab.py", "--jobs", "gemm-fp32", "--limit", "lab-03",
                   "--db", str(db), env=bench_env(lab, tmp_path))
        text = output_of(full)
        assert "Traceback" not in text, text[-3000:]
        assert full.returncode != 0 and re.search(r"lab-03.*(No space left|disk full|space)", text), text[-3000:]
    finally:
        ssh(lab, "lab-03", "umount /var/lib/xeonfleet/bench")
    again = run("xeonfleet", "bench", "run", "inventories/lab.py", "--jobs", "gemm-fp32", "--limit", "lab-03",
                "--db", str(db), env=bench_env(lab, tmp_path))
    assert "Traceback" not in output_of(again)
    runs = bench_runs(db)
    assert len(runs) >= 2 and runs[0] in runs


def test_bench_run_on_a_host_without_sftp(no_sftp_lab, tmp_path: Path) -> None:
    """[bench] Runner uploads and result fetches on a host without SFTP: scp, one line saying so."""
    result = run("xeonfleet", "bench", "run", "inventories/lab.py", "--jobs", "gemm-fp32", "--db",
                 str(tmp_path / "bench.db"), env=bench_env(no_sftp_lab, tmp_path))
    text = output_of(result)
    assert "Traceback" not in text and "Unable to establish SFTP" not in text, text[-3000:]
    # Either fixed by itself (scp, one line saying so) or one line naming the host and the host-data fix.
    assert re.search(r"file transfers use scp|ssh_file_transfer_protocol\W+scp\W+for lab-01", text), text[-3000:]
    assert result.returncode == 1 and len(bench_runs(tmp_path / "bench.db")) == 1
