"""root_problem: whether a deploy's login can get root as its arguments say, and the one line when it cannot."""

from __future__ import annotations

import subprocess

import pytest

from xeonfleet.connect.sudo_access import Access, SudoAccess, parse_access, root_problem

OPS = Access(1001, "ops", "refused")


def test_root_login_needs_no_sudo() -> None:
    assert root_problem(Access(0, "root", "missing"), {}, "tune") is None


def test_a_named_login_without_sudo_is_told_to_use_it() -> None:
    problem = root_problem(OPS, {}, "tune")
    assert problem == ("logged in as ops, not root, and this deploy changes the node as root: run it with `--sudo` "
                       "(or host data `_sudo: True`), with sudo granted by `xeonfleet sudoers --role tune --user ops`")


def test_sudo_that_works_without_a_prompt_is_enough() -> None:
    assert root_problem(Access(1001, "ops", "ok"), {"_sudo": True}, "tune") is None


def test_a_password_needed_and_none_given_names_both_fixes() -> None:
    problem = root_problem(OPS, {"_sudo": True}, "tune")
    assert "sudo asks ops for a password and none is given" in problem
    assert "`xeonfleet sudoers --role tune --user ops`" in problem and "`_sudo_password`" in problem


def test_a_refused_password_says_which_and_for_whom() -> None:
    problem = root_problem(OPS, {"_sudo": True, "_sudo_password": "s3cr3t-pw", "_sudo_user": "svc"}, "tune")
    assert problem.startswith("sudo refused host data `_sudo_password` for ops (wrong password, or ops may not "
                              "run commands as svc)")
    assert "s3cr3t-pw" not in problem


def test_pyinfra2_password_key_gets_the_pyinfra3_name() -> None:
    problem = root_problem(OPS, {"_sudo": True}, "tune", pyinfra2_password=True)
    assert "_use_sudo_password is pyinfra 2's" in problem and "`_sudo_password`" in problem


def test_no_sudo_binary_says_install_it() -> None:
    assert root_problem(Access(1001, "ops", "missing"), {"_sudo": True}, "tune").startswith(
        "sudo is not installed on the node")


def test_parse_access_reads_its_lines_and_defaults_to_refused() -> None:
    assert parse_access(["uid=1001", "user=ops", "sudo=ok"]) == Access(1001, "ops", "ok")
    assert parse_access(["garbage"]) == Access(None, "?", "refused")


@pytest.mark.parametrize("password", [False, True])
def test_the_fact_command_runs_here_and_never_prompts(password: bool) -> None:
    """The real command in sh, stdin closed (a prompt would read EOF): it always ends with an answer."""
    command = SudoAccess().command("root", password)
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL)
    access = parse_access(result.stdout.splitlines())
    assert access.uid is not None and access.sudo in ("ok", "refused", "missing")
    assert "sudo: a password is required" not in result.stdout + result.stderr  # what makes pyinfra prompt
