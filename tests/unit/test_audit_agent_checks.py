"""The audit agent's controller-side parts: host data checks, the rendered unit/timer/cron/env files, its fact."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from xeonfleet.audit import agent as agent
from xeonfleet.profiles import ProfileError

URL = "postgresql://xf:p&ss@db.example:5432/fleet?sslmode=require"


def files_of(**data: str) -> dict[str, str]:
    return {path: content for path, (content, _) in agent.settings_from_host_data("n-07", data).files().items()}


def test_defaults_keep_the_history_on_the_node_and_write_debians_textfile_dir() -> None:
    settings = agent.settings_from_host_data("n-07", {})
    assert (settings.profile, settings.db, settings.textfile_dir) == ("xeon-ai-base", agent.LOCAL_DB, agent.TEXTFILE_DIR)
    assert settings.command() == ("/opt/xeonfleet/agent/bin/xeonfleet audit --sysroot / --node-name n-07 --profile "
                                  "xeon-ai-base --format prom -o /var/lib/prometheus/node-exporter/xeonfleet.prom")


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
    assert fact.process(["python 3.11", "systemd", "installed ab12"]) == {"python": "3.11", "systemd": True,
                                                                           "installed": "ab12"}
    assert fact.process([]) == {"python": None, "systemd": False, "installed": None}
