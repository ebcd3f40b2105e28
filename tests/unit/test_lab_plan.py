"""The pure parts of the lab fleet: host planning, plan diffs, state records, port helpers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from xeonfleet.lab.fleet import (
    HostSpec,
    HostStatus,
    LabError,
    LabHost,
    diff_plan,
    find_free_port_base,
    plan_hosts,
    port_is_free,
)


def test_plan_names_cycles_hardware_and_numbers_ports() -> None:
    plan = plan_hosts(5, ["icx-8380-2s", "cloud-vm"], 22200, "lab")
    assert plan == [
        HostSpec("lab-01", "icx-8380-2s", 22200),
        HostSpec("lab-02", "cloud-vm", 22201),
        HostSpec("lab-03", "icx-8380-2s", 22202),
        HostSpec("lab-04", "cloud-vm", 22203),
        HostSpec("lab-05", "icx-8380-2s", 22204),
    ]


def test_plan_widens_numbers_so_names_sort() -> None:
    names = [spec.name for spec in plan_hosts(120, ["cloud-vm"], 30000, "node")]
    assert names[0] == "node-001" and names[-1] == "node-120"
    assert names == sorted(names)


@pytest.mark.parametrize(
    ("count", "hardware", "base", "message"),
    [
        (0, ["cloud-vm"], 22200, "--hosts must be at least 1"),
        (2, [], 22200, "no hardware profile given"),
        (2, ["cloud-vm"], 65535, "outside 1024..65535"),
        (2, ["cloud-vm"], 80, "outside 1024..65535"),
        (2, ["cloud-vm"], 22200, "--prefix 'Lab_x' is not a host name start"),
    ],
)
def test_plan_rejects_bad_input_in_one_line(count: int, hardware: list[str], base: int, message: str) -> None:
    prefix = "Lab_x" if "prefix" in message else "lab"
    with pytest.raises(LabError, match=message) as info:
        plan_hosts(count, hardware, base, prefix)
    assert "\n" not in str(info.value)


def test_diff_keeps_matching_hosts_and_replaces_changed_ones() -> None:
    current = plan_hosts(3, ["icx-8380-2s"], 22200, "lab")
    wanted = plan_hosts(4, ["icx-8380-2s", "cloud-vm"], 22200, "lab")
    keep, remove, add = diff_plan(current, wanted)
    assert [s.name for s in keep] == ["lab-01", "lab-03"]
    assert remove == [HostSpec("lab-02", "icx-8380-2s", 22201)]
    assert add == [HostSpec("lab-02", "cloud-vm", 22201), HostSpec("lab-04", "cloud-vm", 22203)]


def test_diff_of_a_smaller_lab_removes_the_tail_only() -> None:
    current = plan_hosts(5, ["cloud-vm"], 22200, "lab")
    keep, remove, add = diff_plan(current, plan_hosts(2, ["cloud-vm"], 22200, "lab"))
    assert (len(keep), [s.name for s in remove], add) == (2, ["lab-03", "lab-04", "lab-05"], [])


def test_diff_of_the_same_plan_changes_nothing() -> None:
    plan = plan_hosts(4, ["cloud-vm", "icx-8380-2s"], 22200, "lab")
    assert diff_plan(plan, plan) == (plan, [], [])


def test_host_record_round_trips_through_json() -> None:
    host = LabHost("lab-01", "cloud-vm", 22200, Path("/x/hosts/lab-01"), Path("/x/trees/lab-01"), pid=42)
    again = LabHost.from_json(host.to_json())
    assert again == host
    assert again.upper_dir == Path("/x/hosts/lab-01/upper")
    assert again.address == "127.0.0.1:22200"


def test_status_names_the_state() -> None:
    host = LabHost("lab-01", "cloud-vm", 22200, Path("/s"), Path("/t"))
    assert HostStatus(host, True, True).state == "up"
    assert HostStatus(host, True, False).state == "down"
    assert HostStatus(host, False, False, "exited: boom").state == "error"


def test_port_helpers_see_a_listener() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not port_is_free(port)
        base = find_free_port_base(3, port)
        assert base > port
        assert all(port_is_free(p) for p in range(base, base + 3))
