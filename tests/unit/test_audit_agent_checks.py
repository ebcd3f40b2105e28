"""The audit agent's controller-side parts: host data checks, the rendered unit/timer/cron/env files and who owns
them, its fact, and the visudo-checked install of its sudoers drop-in (run for real, in a private mount namespace
where it touches /etc/sudoers.d)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from xeonfleet import __version__
from xeonfleet.audit import agent as agent
from xeonfleet.connect.sudoers_file import checked_install
from xeonfleet.profiles import ProfileError

PASSWORD = "p&ss-Xf9-agent-secret"
URL = f"postgresql://xf:{PASSWORD}@db.example:5432/fleet?sslmode=require"
needs_root_and_visudo = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("visudo"),
                                           reason="needs root (install -o root) and visudo (apt-get install sudo)")


def files_of(**data: str) -> dict[str, str]:
    return {path: file.content for path, file in agent.settings_from_host_data("n-07", data).files().items()}


def test_defaults_keep_the_history_on_the_node_and_write_debians_textfile_dir() -> None:
    settings = agent.settings_from_host_data("n-07", {})
    assert (settings.profile, settings.db, settings.textfile_dir) == ("xeon-ai-base", agent.LOCAL_DB, agent.TEXTFILE_DIR)
    # --local: the live host, whose root-only reads go through sudo (--sysroot / would read / as a copied tree).
    assert settings.command() == ("/opt/xeonfleet/agent/bin/xeonfleet audit --local --node-name n-07 --profile "
                                  "xeon-ai-base --format prom -o /var/lib/xeonfleet-agent/xeonfleet.prom")


@pytest.mark.parametrize(("data", "message"), [
    ({agent.DB_KEY: "/srv/fleet.db"}, r"^host data xeonfleet_agent_db: '/srv/fleet.db' is not a postgresql:// URL"),
    ({"xeonfleet_profile": "profiles/mine.yaml"}, r"^host data xeonfleet_profile: 'profiles/mine.yaml' is a file on "
                                                  r"the controller"),
    ({agent.TEXTFILE_KEY: "textfiles"}, r"^host data xeonfleet_agent_textfile_dir: 'textfiles' must be an absolute"),
])
def test_bad_host_data_is_one_line_naming_the_key(data: dict, message: str) -> None:
    with pytest.raises(agent.AgentError, match=message):
        agent.settings_from_host_data("n-07", data)


def test_an_unknown_profile_is_refused_on_the_controller() -> None:
    with pytest.raises(ProfileError, match="no-such-profile"):
        agent.settings_from_host_data("n-07", {"xeonfleet_profile": "no-such-profile"})


def test_a_site_profile_the_wheel_does_not_ship_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "site.yaml").write_text("include: xeon-ai-base\n")
    monkeypatch.chdir(tmp_path)  # the current directory is on the profile search path
    agent.settings_from_host_data("n-07", {"xeonfleet_profile": "xeon-ai-base"})
    with pytest.raises(agent.AgentError, match=r"^host data xeonfleet_profile: 'site' is the site profile "):
        agent.settings_from_host_data("n-07", {"xeonfleet_profile": "site"})


def test_service_and_cron_run_the_same_command_with_the_same_env_file() -> None:
    files = files_of(**{agent.DB_KEY: URL, "xeonfleet_profile": "training"})
    service, cron = files[f"{agent.SYSTEMD_DIR}/{agent.UNIT}.service"], files[agent.CRON_FILE]
    (command,) = re.findall(r"^ExecStart=(.*)$", service, re.M)
    assert "--profile training" in command and f"EnvironmentFile={agent.ENV_FILE}" in service
    assert "SuccessExitStatus=1" in service  # failing rules are findings, not a failed unit
    (entry,) = [line for line in cron.splitlines() if line and not line.startswith(("#", "SHELL="))]
    minute, *_ = entry.split()
    assert 0 <= int(minute) < 60 and entry.endswith(f"{command} >> {agent.LOG_FILE} 2>&1")
    assert f". {agent.ENV_FILE}" in entry
    # The same user both ways, never root.
    assert entry.split()[5] == agent.AGENT_USER and f"\nUser={agent.AGENT_USER}\n" in service
    assert f"\nWorkingDirectory={agent.STATE_DIR}\n" in service  # cron runs it from the user's home, STATE_DIR
    assert "OnUnitActiveSec=1h" in files[f"{agent.SYSTEMD_DIR}/{agent.UNIT}.timer"]


def test_env_file_gives_the_shell_the_url_exactly(tmp_path: Path) -> None:
    env = tmp_path / "agent.env"
    env.write_text(files_of(**{agent.DB_KEY: URL})[agent.ENV_FILE])
    read = subprocess.run(["sh", "-c", f'set -a && . {env} && printf %s "$XEONFLEET_DB"'], capture_output=True,
                          text=True, check=True)
    assert read.stdout == URL


def test_cron_minutes_spread_nodes_and_stay_put() -> None:
    def minute(node: str) -> str:
        return agent.settings_from_host_data(node, {}).files()[agent.CRON_FILE][0].splitlines()[-1].split()[0]

    assert minute("n-07") == minute("n-07")  # a re-deploy does not move a node's run
    assert len({minute(f"n-{i}") for i in range(40)}) > 15


def test_node_fact_reads_python_systemd_and_the_installed_wheel() -> None:
    fact = agent.AgentNode()
    nothing_else = {"visudo": False, "textfile": False}
    assert fact.process(["python 3.11", "systemd", "installed ab12"]) == {"python": "3.11", "systemd": True,
                                                                           "installed": "ab12", **nothing_else}
    assert fact.process([]) == {"python": None, "systemd": False, "installed": None, **nothing_else}


def test_node_fact_reads_sudo_the_installed_dropin_and_the_textfile() -> None:
    fact = agent.AgentNode()
    found = fact.process(["python 3.11", "visudo", "textfile"])
    assert (found["visudo"], found["textfile"]) == (True, True)


def test_the_store_password_is_only_in_the_env_file_the_agent_alone_reads() -> None:
    files = agent.settings_from_host_data("n-07", {agent.DB_KEY: URL}).files()
    assert files[agent.ENV_FILE][1:] == ("0600", agent.AGENT_USER)
    assert PASSWORD in files[agent.ENV_FILE].content
    for path, file in files.items():
        if path != agent.ENV_FILE:
            assert PASSWORD not in file.content, path
            assert file.user == "root" and file.mode == "0644", path  # units and cron: root's, not the agent's


def test_the_dropin_grants_the_audit_role_to_the_agent_alone() -> None:
    from xeonfleet.connect.privilege import dropin

    text = agent.agent_dropin()
    assert text == dropin("audit", agent.AGENT_USER, __version__, agent.SUDOERS_FILE)
    (grant,) = [line for line in text.splitlines() if "NOPASSWD" in line and not line.startswith("#")]
    assert grant.startswith(f"{agent.AGENT_USER} ALL=(root) NOPASSWD: ") and "ALL" not in grant.split("NOPASSWD:")[1]


def _install(dest: Path, content: str) -> subprocess.CompletedProcess:
    Path(f"{dest}.xeonfleet-new").write_text(content)  # where the deploy uploads it
    return subprocess.run(["sh", "-c", checked_install(str(dest))], capture_output=True, text=True, check=False)


@needs_root_and_visudo
def test_a_dropin_visudo_refuses_never_lands(tmp_path: Path) -> None:
    dest = tmp_path / "xeonfleet-agent"
    result = _install(dest, agent.agent_dropin() + "xeonfleet-agent ALL=(root) NOPASSWD /usr/bin/od\n")  # no colon
    assert result.returncode == 1 and f"visudo refused the sudoers drop-in {dest} (the file alone)" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing landed, nothing staged is left

    dest.write_text("# the drop-in already installed\n")
    assert _install(dest, "Cmnd_Alias = broken\n").returncode == 1
    assert dest.read_text() == "# the drop-in already installed\n" and [p.name for p in tmp_path.iterdir()] == [dest.name]


@needs_root_and_visudo
def test_a_good_dropin_lands_root_owned_0440(tmp_path: Path) -> None:
    dest = tmp_path / "xeonfleet-agent"
    result = _install(dest, agent.agent_dropin())
    assert result.returncode == 0, result.stderr
    info = dest.stat()
    assert (oct(info.st_mode & 0o777), info.st_uid, info.st_gid) == ("0o440", 0, 0)
    assert dest.read_text() == agent.agent_dropin() and sorted(p.name for p in tmp_path.iterdir()) == [dest.name]


def _can_unshare_mounts() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-m", "true"], capture_output=True, check=False).returncode == 0


@needs_root_and_visudo
@pytest.mark.skipif(not _can_unshare_mounts(), reason="needs root and unshare -m (a private /etc/sudoers.d)")
@pytest.mark.parametrize("installed_before", [False, True])
def test_a_dropin_the_whole_configuration_refuses_is_taken_back(tmp_path: Path, installed_before: bool) -> None:
    """Another drop-in defining one of its aliases: each file passes alone, the whole configuration does not
    (older sudo stops on it). In a private mount namespace, over a copy of this machine's /etc/sudoers.d."""
    sudoers_d = tmp_path / "sudoers.d"
    shutil.copytree("/etc/sudoers.d", sudoers_d)
    alias = re.search(r"^Cmnd_Alias (\w+)", agent.agent_dropin(), re.M).group(1)
    (sudoers_d / "site").write_text(f"Cmnd_Alias {alias} = /usr/bin/true\n")
    (sudoers_d / "site").chmod(0o440)
    before = "# the agent's drop-in of an earlier deploy\n"
    if installed_before:
        (sudoers_d / "xeonfleet-agent").write_text(before)
        (sudoers_d / "xeonfleet-agent").chmod(0o440)
    (sudoers_d / "xeonfleet-agent.xeonfleet-new").write_text(agent.agent_dropin())
    script = (f"mount --make-rprivate / && mount --bind {sudoers_d} /etc/sudoers.d && "
              f"{checked_install('/etc/sudoers.d/xeonfleet-agent')}")
    result = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "refused the sudoers drop-in /etc/sudoers.d/xeonfleet-agent (with the other sudoers files)" in result.stderr
    assert alias in result.stderr  # visudo's own line says which alias
    left = {p.name for p in sudoers_d.iterdir()}
    assert left == {*os.listdir("/etc/sudoers.d"), "site", *(["xeonfleet-agent"] if installed_before else [])}
    if installed_before:
        assert (sudoers_d / "xeonfleet-agent").read_text() == before


# --- `xeonfleet audit --local`: what the agent runs -----------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["--local", "--sysroot", "/"], "give either an INVENTORY (e.g. inventories/lab.py), --sysroot DIR or --local"),
    (["--local", "inventories/lab.py"], "give either an INVENTORY"),
    (["--local", "--from-store"], "--from-store reports the stored audits as they are: drop --sysroot, --local"),
])
def test_local_is_one_source_among_inventory_and_sysroot(args: list[str], message: str) -> None:
    from click.testing import CliRunner

    from xeonfleet.cli.audit import audit

    result = CliRunner().invoke(audit, args)
    assert result.exit_code == 2 and result.output.startswith(f"error: {message}"), result.output


def test_local_audits_this_machine_under_the_given_name(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from xeonfleet.cli.audit import audit
    from xeonfleet.audit.stored import latest_report
    from xeonfleet.store import open_store

    db = tmp_path / "agent.db"
    result = CliRunner().invoke(audit, ["--local", "--node-name", "n-07", "--format", "json", "--db", str(db)])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    assert (report["inventory"], list(report["nodes"])) == ("local", ["n-07"])
    assert any(f["rule"] == "cpu.intel_xeon" for f in report["nodes"]["n-07"]["findings"])
    with open_store(str(db), read_only=True) as store:  # stored under that name, as the agent's rows are
        assert [node.host for node in latest_report(store, None, timedelta(hours=1)).nodes] == ["n-07"]
