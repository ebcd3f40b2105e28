"""`xeonfleet facts` / `snapshot` without a lab: usage errors, --sysroot, the local host."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import click
from click.testing import CliRunner

from xeonfleet.cli.main import COMMANDS, main
from xeonfleet.cli.facts import short_model

FIXTURES = Path(__file__).with_name("fixtures")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_sysroot_json_is_one_hosts_facts():
    result = invoke("facts", "--sysroot", str(FIXTURES / "cloud-vm"), "--json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.output)
    assert facts["schema_version"] == 1 and facts["cpu"]["microarch"] == "icelake-server"


def test_sysroot_table():
    result = invoke("facts", "--sysroot", str(FIXTURES / "offline-cpus"))
    assert result.exit_code == 0
    header, row = result.output.splitlines()
    assert header.split()[0] == "host" and "Gold 5318Y" in row and "mixed" in row


def test_missing_sysroot_is_one_line_exit_2(tmp_path):
    result = invoke("facts", "--sysroot", str(tmp_path / "nope"), "--json")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "not a directory" in result.output


def test_missing_inventory_file_is_one_line_exit_2():
    result = invoke("facts", "inventories/does-not-exist.py")
    assert result.exit_code == 2 and "not found" in result.output


def test_empty_inventory_is_one_line_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("empty.py").write_text("hosts = []\n")
    result = invoke("facts", "empty.py")
    assert result.exit_code == 2 and "no hosts" in result.output


def test_neither_inventory_nor_sysroot_is_a_usage_error():
    assert invoke("facts").exit_code == 2


def test_local_host_through_pyinfra_and_its_snapshot(tmp_path):
    """@local runs the same probe through pyinfra's local connector; the snapshot re-reads equal."""
    live = invoke("facts", "@local", "--json")
    assert live.exit_code == 0, live.output
    facts = json.loads(live.output)["@local"]
    assert facts["cpu"]["online_cpus"] >= 1
    archive = tmp_path / "local.tar.gz"
    assert invoke("snapshot", "@local", "-o", str(archive)).exit_code == 0
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "root", filter="data")
    offline = json.loads(invoke("facts", "--sysroot", str(tmp_path / "root"), "--json").output)
    assert offline == facts


def test_short_model():
    assert short_model("Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz") == "Platinum 8380"
    assert short_model(None) == "?"


def _raised_from(cause: BaseException, message: str) -> BaseException:
    """A ConnectError raised while handling `cause`, as pyinfra's connector does."""
    from pyinfra.api.exceptions import ConnectError

    try:
        try:
            raise cause
        except BaseException:
            raise ConnectError(message)
    except ConnectError as exc:
        return exc


def test_connect_reason_says_what_happened():
    import errno

    from paramiko.ssh_exception import AuthenticationException, NoValidConnectionsError

    from xeonfleet.connect.gather import connect_reason

    refused = NoValidConnectionsError({("127.0.0.1", 22): OSError(errno.ECONNREFUSED, "refused")})
    assert connect_reason(_raised_from(refused, "Could not connect (...)")).startswith("connection refused")
    died = AuthenticationException("Authentication failed: transport shut down or saw EOF")
    lost = connect_reason(_raised_from(died, "Authentication error (username=root, key=k) (...)"))
    assert lost.startswith("connection lost") and "Authentication" not in lost
    wrong_key = AuthenticationException("Authentication failed.")
    assert connect_reason(_raised_from(wrong_key, "Authentication error (username=root, key=k)")) == (
        "login refused: Authentication error (username=root, key=k)")


def test_user_code_errors_name_the_exception_and_line(tmp_path: Path):
    inventory = tmp_path / "inv.py"
    inventory.write_text("hosts = ['a']\n\nprint(x)\n")
    result = invoke("facts", str(inventory))
    assert result.exit_code == 2
    assert result.output.strip() == f"error: cannot load inventory {inventory}: NameError: name 'x' is not defined (line 3)"


@click.command("boom")
def boom_command() -> None:
    """A sub-command with a bug, to see what the user gets."""
    raise KeyError("lab-01")


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setitem(COMMANDS, "boom", f"{__name__}:boom_command")
    quiet = CliRunner().invoke(main, ["boom"])
    assert quiet.exit_code == 2 and isinstance(quiet.exception, SystemExit)
    assert quiet.output.strip() == ("xeonfleet: unexpected KeyError: 'lab-01' "
                                    "(rerun with --debug for the traceback, and please report it)")
    loud = CliRunner().invoke(main, ["--debug", "boom"])
    assert isinstance(loud.exception, KeyError)  # --debug lets it through, traceback and all
