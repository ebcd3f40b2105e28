"""Bad inputs around a benchmark run: run ids that reach a shell, pyinfra failures turned into one line."""

import pytest

from xeonfleet.bench import remote
from xeonfleet.bench.ingest import RunIdError, check_run_id
from xeonfleet.connect.pyinfra_output import explain_failures

PYINFRA_NO_SFTP = """--> Starting operation: Upload benchlib.py
Traceback (most recent call last):
  File ".../pyinfra/connectors/ssh.py", line 454, in get_file_transfer_connection
paramiko.ssh_exception.SSHException: Channel closed.
pyinfra.api.exceptions.ConnectError: Unable to establish SFTP connection. Check that the SFTP subsystem for the SSH service at lab-02 is enabled.
--> pyinfra error in src/gevent/greenlet.py line 912: Unable to establish SFTP connection. Check that the SFTP subsystem for the SSH service at lab-02 is enabled.
"""


@pytest.mark.parametrize("run_id", ["x; rm -rf /", "../../etc", "", "-rf", "a b", "a" * 65, "$(id)"])
def test_unsafe_run_ids_are_refused_with_the_fix(run_id):
    with pytest.raises(RunIdError, match=r"is not valid: use 1-64 letters, digits.*or unset \$XEONFLEET_BENCH_RUN_ID"):
        check_run_id(run_id)


def test_cleanup_command_quotes_a_checked_id():
    assert remote.cleanup_command("20261125T130457-f8a8f5") == "rm -rf /var/lib/xeonfleet/bench/results/20261125T130457-f8a8f5"
    with pytest.raises(RunIdError):
        remote.cleanup_command("x y")


def test_a_host_without_sftp_is_one_line_with_the_fix():
    assert explain_failures(PYINFRA_NO_SFTP) == [
        "lab-02: its sshd has no SFTP subsystem, which pyinfra uploads and fetches files with; set host data "
        "ssh_file_transfer_protocol='scp' for lab-02 (or add `Subsystem sftp internal-sftp` to its sshd_config)"]
    assert explain_failures("--> Disconnecting from hosts...\n") == []


def test_a_host_switched_to_scp_by_itself_is_relayed_in_one_line():
    log = ("--> Preparing operation files...\n    [lab-03] no SFTP subsystem in this host's sshd: file transfers use scp "
           "(host data `ssh_file_transfer_protocol: scp` says so up front)\n    [lab-03] Ready: deploys/benchmark.py\n")
    assert explain_failures(log) == ["lab-03: no SFTP subsystem in this host's sshd: file transfers use scp "
                                     "(host data `ssh_file_transfer_protocol: scp` says so up front)"]


def test_a_transfer_cut_short_by_a_full_disk_names_the_host_and_the_disk():
    # pyinfra's log of an upload to a full node disk: paramiko's size check, host prefix in bold.
    log = "\x1b[1m[lab-03]\x1b[0m Command socket/SSH error: OSError('size mismatch in put!  0 != 18392')\n"
    assert explain_failures(log) == ["lab-03: an upload to the node stopped at 0 of 18392 bytes: no space left on "
                                     "its disk; free space under /var/lib/xeonfleet on lab-03 and re-run"]
    fetch = "[lab-01] Unexpected error in Python callback: OSError('size mismatch in get!  4096 != 9000')\n"
    assert "no space left on the controller's disk" in explain_failures(fetch)[0]
