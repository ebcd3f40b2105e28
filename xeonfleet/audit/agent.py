"""The node-side audit agent: each node audits itself on a timer, for fleets past one controller.

A controller audits a few thousand nodes over SSH; beyond that, or where Prometheus already watches
the fleet, every node runs `xeonfleet audit --local` itself, hourly, and publishes the findings
two ways: a textfile for node_exporter's textfile collector (the `--format prom` output), and rows in
the results store named by its `XEONFLEET_DB` (a shared PostgreSQL store when host data
`xeonfleet_agent_db` gives one, else a SQLite file on the node), which `xeonfleet audit --from-store`
reports without SSH.

The agent is a system user of its own (`xeonfleet-agent`: no password, no login shell, no home but its state
directory), never root. `--local` probes the live host (not `--sysroot /`, a tree the probe reads as is), so its
root-only reads (SMBIOS, MSRs, CPUID) go through `sudo -n` as the drop-in /etc/sudoers.d/xeonfleet-agent grants:
`xeonfleet sudoers --role audit` for that user alone, put in place only once visudo accepted it. The venv and
wheelhouse are root's and only readable to it; what it writes is its own: the state directory (its SQLite store,
0600, and the textfile, which node_exporter's directory links to: the agent needs no write access there) and the
cron entry's log. The store URL, which may carry a password, is in one place only: the env file, 0600 and the
agent's, read by systemd (EnvironmentFile=) or sourced by the cron entry; never in an argument, a unit or the
cron line.

Nodes never reach a package index: the controller builds xeonfleet's wheel and downloads its
dependencies once (`build_wheelhouse`), uploads that wheelhouse, and the node installs it with
`pip --no-index` into a venv of its own. A controller without an index too passes a wheelhouse built
elsewhere (host data `xeonfleet_agent_wheelhouse`).

The systemd service and timer are always written (they define the command); a node booted with
systemd enables the timer, one without it (a container, a lab host) gets a cron.d entry running the
same command as the same user.
"""

from __future__ import annotations

import email.parser
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from pyinfra import host
from pyinfra.api import FactBase, deploy, operation
from pyinfra.operations import files, server, systemd

from xeonfleet import __version__
from xeonfleet.frameworks.wheelhouse import (LINUX_X86_64_PLATFORMS, MANIFEST, cache_root, download_command,
                                             is_complete, manifest_for)
from xeonfleet.connect.file_transfer import use_working_file_transfer
from xeonfleet.connect.hostcommand import HostCommand, fail_host
from xeonfleet.connect.privilege import dropin
from xeonfleet.connect.sudo_access import require_root
from xeonfleet.connect.sudoers_file import sudoers_dropin
from xeonfleet.profiles import DEFAULT_PROFILE, ProfileError, load_profile, profile_path
from xeonfleet.resources import packaged
from xeonfleet.store import POSTGRES_SCHEMES
from xeonfleet.render import render
from xeonfleet.knobs.commands import sh

AGENT_USER = "xeonfleet-agent"  # its own group too; a system account (useradd -r), locked, no login shell
NOLOGIN = "/usr/sbin/nologin"  # the same path on Debian, Ubuntu, RHEL and SUSE
AGENT_DIR = "/opt/xeonfleet/agent"  # the venv, root's; the wheelhouse below it
WHEELHOUSE = f"{AGENT_DIR}/wheelhouse"
STAMP = f"{AGENT_DIR}/installed-wheel.sha256"  # which wheel the venv holds, so a rebuilt one is reinstalled
ETC_DIR = "/etc/xeonfleet"  # root's (0755), never the agent's
ENV_FILE = f"{ETC_DIR}/audit-agent.env"  # 0600, the agent's: a PostgreSQL URL may carry a password
# The agent's home and all it writes but its log: 0755, node_exporter (another user) reads the textfile in it.
STATE_DIR = f"/var/lib/{AGENT_USER}"
LOCAL_DB = f"{STATE_DIR}/results.db"  # the node's own history when no shared store is given (the store: 0600)
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"  # Debian's --collector.textfile.directory
TEXTFILE = "xeonfleet.prom"
AGENT_TEXTFILE = f"{STATE_DIR}/{TEXTFILE}"  # written by the agent; TEXTFILE_DIR/TEXTFILE is a root-owned link to it
UNIT = "xeonfleet-audit-agent"
SYSTEMD_DIR = "/etc/systemd/system"
CRON_FILE = f"/etc/cron.d/{UNIT}"
LOG_DIR = f"/var/log/{AGENT_USER}"  # 0750, the agent's: the cron entry appends its output (systemd: the journal)
LOG_FILE = f"{LOG_DIR}/audit.log"
SUDOERS_FILE = f"/etc/sudoers.d/{AGENT_USER}"
EXTRAS = "postgres"  # psycopg, so any node can write to a shared PostgreSQL store
# Host data the deploy reads (besides xeonfleet_profile).
DB_KEY, TEXTFILE_KEY, WHEELHOUSE_KEY = "xeonfleet_agent_db", "xeonfleet_agent_textfile_dir", "xeonfleet_agent_wheelhouse"


class AgentError(ValueError):
    """Unusable host data or wheelhouse: one line naming it and the fix; the host is left untouched."""


class AgentNode(FactBase):
    """The node's python3 (X.Y, when it can make a venv), whether systemd runs, the installed wheel, whether visudo
    is there (sudo with it) and whether the agent's textfile exists."""

    def command(self) -> str:
        return (f"python3 -c 'import ensurepip, sys; print(\"python %d.%d\" % sys.version_info[:2])' 2>/dev/null; "
                f"[ -d /run/systemd/system ] && echo systemd; "
                f"[ -f {STAMP} ] && echo \"installed $(cat {STAMP})\"; "
                f"command -v visudo >/dev/null 2>&1 && echo visudo; "
                f"[ -e {AGENT_TEXTFILE} ] && echo textfile; true")

    def process(self, output: list[str]) -> dict[str, Any]:
        words = dict(line.partition(" ")[::2] for line in output)
        return {"python": words.get("python") or None, "systemd": "systemd" in words,
                "installed": words.get("installed") or None, "visudo": "visudo" in words,
                "textfile": "textfile" in words}


class AgentFile(NamedTuple):
    """One file the deploy writes: its content, mode and owner (root's unless it is the agent's own)."""

    content: str
    mode: str
    user: str = "root"


@dataclass(frozen=True)
class AgentSettings:
    """What one node's agent runs: every value the unit, timer and cron templates need."""

    node: str
    profile: str
    textfile_dir: str
    db: str

    def command(self) -> str:
        """The one audit command line, shared by the service's ExecStart and the cron entry."""
        return sh(f"{AGENT_DIR}/bin/xeonfleet", "audit", "--local", "--node-name", self.node,
                  "--profile", self.profile, "--format", "prom", "-o", AGENT_TEXTFILE)

    def files(self) -> dict[str, AgentFile]:
        """{path on the node: AgentFile} of the env file, the units and the cron fallback."""
        values = {"node": self.node, "profile": self.profile, "command": self.command(), "env_file": ENV_FILE,
                  "db": self.db, "unit": UNIT, "log_file": LOG_FILE, "user": AGENT_USER, "state_dir": STATE_DIR,
                  "shared": self.db.startswith(POSTGRES_SCHEMES),
                  # Spread thousands of cron nodes over the hour, stable per node.
                  "minute": int(hashlib.sha256(self.node.encode()).hexdigest(), 16) % 60}
        return {
            ENV_FILE: AgentFile(render("xeonfleet-audit-agent.env.j2", **values), "0600", AGENT_USER),
            f"{SYSTEMD_DIR}/{UNIT}.service": AgentFile(render(f"{UNIT}.service.j2", **values), "0644"),
            f"{SYSTEMD_DIR}/{UNIT}.timer": AgentFile(render(f"{UNIT}.timer.j2", **values), "0644"),
            CRON_FILE: AgentFile(render(f"{UNIT}.cron.j2", **values), "0644"),
        }


def agent_dropin() -> str:
    """The agent's drop-in: exactly the probe's root-only reads, for the agent's user alone."""
    return dropin("audit", AGENT_USER, __version__, SUDOERS_FILE)


def settings_from_host_data(node: str, data: Any) -> AgentSettings:
    """Validate the host's agent data on the controller, before anything is sent. Raises AgentError."""
    profile = data.get("xeonfleet_profile") or DEFAULT_PROFILE
    if "/" in profile or profile.endswith((".yaml", ".yml")):
        raise AgentError(f"host data xeonfleet_profile: {profile!r} is a file on the controller; the agent "
                         f"audits on the node, so give the name of a profile shipped with xeonfleet")
    load_profile(profile)  # a ProfileError (file:line) is raised here, not on the node an hour later
    found = profile_path(profile)
    if found.parent != packaged("data/profiles"):
        raise AgentError(f"host data xeonfleet_profile: {profile!r} is the site profile {found} on the controller; "
                         f"the agent's wheel ships only xeonfleet's own profiles, so give one of those")
    db = data.get(DB_KEY)
    if db is not None and not str(db).startswith(POSTGRES_SCHEMES):
        raise AgentError(f"host data {DB_KEY}: {db!r} is not a postgresql:// URL; the shared store must be one "
                         f"server every node reaches (leave it unset to keep each node's history on the node)")
    textfile_dir = data.get(TEXTFILE_KEY) or TEXTFILE_DIR
    if not str(textfile_dir).startswith("/"):
        raise AgentError(f"host data {TEXTFILE_KEY}: {textfile_dir!r} must be an absolute directory, "
                         f"node_exporter's --collector.textfile.directory")
    return AgentSettings(node=node, profile=profile, textfile_dir=str(textfile_dir).rstrip("/") or "/",
                         db=str(db) if db else LOCAL_DB)


def _pip(command: list[str], what: str) -> None:
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        # The first error line names the cause; pip's own last lines only say "see above".
        errors = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip().lower().startswith("error")]
        raise AgentError(f"{what} failed: {(errors or proc.stdout.splitlines()[-1:] or ['pip printed nothing'])[0]}")


def xeonfleet_wheel(wheelhouse: Path) -> Path:
    """The one xeonfleet wheel of a wheelhouse; AgentError when there is none or several."""
    wheels = sorted(wheelhouse.glob("xeonfleet-*.whl"))
    if len(wheels) != 1:
        raise AgentError(f"wheelhouse {wheelhouse} holds {len(wheels)} xeonfleet wheels, not one: rebuild it "
                         f"with build_wheelhouse or point host data {WHEELHOUSE_KEY} at one that has")
    return wheels[0]


def _requires(wheel: Path) -> list[str]:
    """The wheel's Requires-Dist lines: what its dependencies are, so an unchanged set is not downloaded again."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(metadata).decode()).get_all("Requires-Dist") or []


@cache
def build_wheelhouse(source: Path, python: str, out: Path | None = None) -> Path:
    """xeonfleet's wheel from the clone at `source`, plus every dependency wheel for nodes running
    Python `python` (X.Y) on linux x86_64; once per controller process, dependencies kept between runs.

    The wheel is built from a copy of the clone: setuptools' in-tree build/ dir keeps modules deleted
    since, and other users of the clone must not see build output appear."""
    out = out or cache_root().parent / "agent-wheelhouse" / f"py{python}"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("xeonfleet-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="xeonfleet-wheel-") as tmp:
        copy = Path(tmp) / "src"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns(".*", "__pycache__", "*.egg-info", "build",
                                                                     "dist", "results"))
        _pip([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
              "--disable-pip-version-check", "-w", str(out), str(copy)], f"building the xeonfleet wheel from {source}")
    wheel = xeonfleet_wheel(out)
    manifest = manifest_for(_requires(wheel), python, LINUX_X86_64_PLATFORMS)
    if not is_complete(out, manifest):
        (out / MANIFEST).unlink(missing_ok=True)
        _pip(download_command([f"{wheel}[{EXTRAS}]"], python, out, LINUX_X86_64_PLATFORMS),
             f"downloading xeonfleet's dependencies for Python {python} into {out}")
        (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@operation()
def agent_venv(wheel_name: str, wheel_sha256: str, installed: str | None):
    """Install the uploaded wheelhouse's xeonfleet (and its dependencies) into the agent venv, offline.

    + wheel_name: file name of the xeonfleet wheel in the uploaded wheelhouse
    + wheel_sha256: its digest; the venv is up to date when it was installed from exactly this wheel
    + installed: the digest AgentNode read from the node (None before the first install)

    **Example:**

    .. code:: python

        agent_venv(name="Agent venv", wheel_name=wheel.name, wheel_sha256=sha256(wheel), installed=None)
    """
    if installed == wheel_sha256:
        host.noop(f"{AGENT_DIR} already runs {wheel_name}")
        return
    pip = [f"{AGENT_DIR}/bin/pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
           "--find-links", WHEELHOUSE]
    wheel = f"{WHEELHOUSE}/{wheel_name}"
    # The second install replaces the package when a rebuilt wheel keeps its version number. umask 022: root's venv,
    # readable (never writable) by the agent, whatever umask the login has.
    yield HostCommand(f"umask 022 && {{ [ -x {AGENT_DIR}/bin/pip ] || python3 -m venv {AGENT_DIR}; }} "
                      f"&& {sh(*pip, f'{wheel}[{EXTRAS}]')} && {sh(*pip, '--no-deps', '--force-reinstall', wheel)} "
                      f"&& printf %s {wheel_sha256} > {STAMP}")


@operation()
def agent_textfile(exists: bool):
    """Create the agent's textfile, empty, before its first run, so node_exporter's link to it is never dangling
    (a scrape error until the first run). Created as the agent (runuser): root never writes in the agent's
    directory, where a link planted there could redirect it.

    + exists: whether AgentNode found it

    **Example:**

    .. code:: python

        agent_textfile(name="Agent textfile", exists=False)
    """
    if exists:
        host.noop(f"{AGENT_TEXTFILE} exists")
        return
    yield HostCommand(sh("runuser", "-u", AGENT_USER, "--", "sh", "-c", f"umask 022 && : >> {AGENT_TEXTFILE}"))


@deploy("Install the xeonfleet audit agent")
def audit_agent(settings: AgentSettings, wheelhouse: Path, node: dict[str, Any]) -> None:
    """Install the agent on one node: its user, wheelhouse, venv, sudoers drop-in, env file, units, the textfile
    link, and the timer or the cron entry.

    + settings: settings_from_host_data(...) for this host
    + wheelhouse: a controller directory holding xeonfleet's wheel and its dependencies (build_wheelhouse)
    + node: the AgentNode fact of this host
    """
    wheel = xeonfleet_wheel(wheelhouse)
    server.group(name=f"Group {AGENT_USER}", group=AGENT_USER, system=True)
    server.user(name=f"User {AGENT_USER}", user=AGENT_USER, group=AGENT_USER, system=True, shell=NOLOGIN,
                home=STATE_DIR, ensure_home=False, create_home=False)
    files.directory(name=f"The agent's directory {STATE_DIR}", path=STATE_DIR, user=AGENT_USER, group=AGENT_USER,
                    mode="755")
    files.directory(name=f"The agent's log directory {LOG_DIR}", path=LOG_DIR, user=AGENT_USER, group=AGENT_USER,
                    mode="750")
    files.directory(name=f"Configuration directory {ETC_DIR}", path=ETC_DIR, user="root", group="root", mode="755")
    # delete=True: the node holds exactly this wheelhouse, so --no-index sees only what the controller built.
    files.sync(name="Upload the agent wheelhouse", src=str(wheelhouse), dest=WHEELHOUSE, delete=True)
    agent_venv(name=f"Install {wheel.name} into {AGENT_DIR}", wheel_name=wheel.name, wheel_sha256=sha256(wheel),
               installed=node["installed"])
    sudoers_dropin(name=f"Sudoers drop-in {SUDOERS_FILE} (checked by visudo)", path=SUDOERS_FILE,
                   content=agent_dropin())
    agent_textfile(name=f"The agent's textfile {AGENT_TEXTFILE}", exists=node["textfile"])
    files.directory(name=f"Textfile directory {settings.textfile_dir}", path=settings.textfile_dir)
    # force: a file left there (an agent that wrote it in place) is replaced by the link.
    files.link(name=f"Textfile link {settings.textfile_dir}/{TEXTFILE}", path=f"{settings.textfile_dir}/{TEXTFILE}",
               target=AGENT_TEXTFILE, force=True, force_backup=False)
    units_changed = False
    for path, file in settings.files().items():
        if path == CRON_FILE and node["systemd"]:
            continue
        put = files.put(name=f"Agent file {path}", src=io.StringIO(file.content), dest=path, mode=file.mode,
                        user=file.user, group=file.user, create_remote_dir=True)
        units_changed = units_changed or (path.startswith(SYSTEMD_DIR) and put.will_change)
    if node["systemd"]:
        systemd.service(name=f"Enable {UNIT}.timer", service=f"{UNIT}.timer", running=True, enabled=True,
                        daemon_reload=units_changed)


def _clone_root() -> Path | None:
    """The source tree xeonfleet runs from (a clone has pyproject.toml beside the package), else None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def install_agent() -> None:
    """What deploys/audit_agent.py runs on each host: check the host data, that the login gets root as its
    arguments say (require_root: a sudo prompt never holds the fleet) and the node, find or build the
    wheelhouse (from the clone; an installed wheel has none, so it takes host data xeonfleet_agent_wheelhouse),
    then audit_agent. A bad host fails alone in one line; the others are installed.

    **Example:**

    .. code:: python

        from xeonfleet.audit.agent import install_agent
        install_agent()
    """
    try:
        settings = settings_from_host_data(host.name, host.data)
        if not require_root("tune"):
            return  # the host is failed, in one line naming the grant or the password it lacks
        node = host.get_fact(AgentNode)
        if node["python"] is None:
            raise AgentError("no python3 that can make a venv on this node: install python3 and python3-venv")
        if not node["visudo"]:
            raise AgentError("no sudo on this node (visudo not found): install sudo; the agent reads the root-only "
                             "files through it, and its drop-in is checked with visudo")
        given = host.data.get(WHEELHOUSE_KEY)
        if given and not Path(given).is_dir():
            raise AgentError(f"host data {WHEELHOUSE_KEY}: {given!r} is not a directory on this controller")
        clone = _clone_root()
        if not given and clone is None:
            raise AgentError(f"no clone to build xeonfleet's wheel from: set host data {WHEELHOUSE_KEY} to a directory "
                             "holding xeonfleet's wheel and its dependencies")
        wheelhouse = Path(given) if given else build_wheelhouse(clone, node["python"])
    except (AgentError, ProfileError) as exc:
        fail_host(str(exc))
    else:
        use_working_file_transfer()
        audit_agent(settings=settings, wheelhouse=wheelhouse, node=node)
