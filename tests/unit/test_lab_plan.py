"""The pure parts of the lab fleet: host planning, plan diffs, state records, port helpers, the fit check."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from xeonfleet.lab.fit import HOST, SHARED_TREE, GiB, Limit, MiB, fit_error, room_now
from xeonfleet.lab.errors import LabError
from xeonfleet.lab.hosts import HostSpec, HostStatus, LabHost, diff_plan, plan_hosts
from xeonfleet.lab.ports import find_free_port_base, port_is_free


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


# --- fit: will more hosts fit on this machine -------------------------------------------------


def limits(**rooms: int) -> list[tuple[Limit, str]]:
    """Every resource with plenty of room, except those given (Cost field name -> room)."""
    plenty = {field: 1 << 50 for field in ("memory", "tree_bytes", "tree_inodes", "state_bytes", "state_inodes",
                                           "pids", "files")}
    return [(Limit(f"the {field}", room, f"{field} source", f"get more {field}"), field)
            for field, room in {**plenty, **rooms}.items()]


def test_fit_is_silent_when_everything_has_room() -> None:
    assert fit_error(1000, 6, limits()) is None


def test_fit_names_the_first_short_limit_how_many_fit_and_the_fix() -> None:
    error = fit_error(30, 0, limits(pids=100))
    assert error == (f"30 more lab hosts need ~{30 * HOST.pids:,} of the pids and 100 is left (pids source): "
                     f"{100 // HOST.pids} fit; boot fewer hosts or get more pids")


def test_fit_charges_each_missing_shared_tree_once() -> None:
    room = SHARED_TREE.tree_inodes * 2 + HOST.tree_inodes * 10
    assert fit_error(10, 2, limits(tree_inodes=room)) is None
    error = fit_error(10, 3, limits(tree_inodes=room))
    assert error is not None and ": 0 fit;" in error
    assert fit_error(11, 2, limits(tree_inodes=room)) is not None


def test_fit_shows_bytes_in_mib_and_gib() -> None:
    error = fit_error(1000, 0, limits(memory=3 * GiB))
    assert error is not None
    assert f"need ~{1000 * HOST.memory / GiB:.1f} GiB of the memory and 3.0 GiB is left" in error
    assert f"{3 * GiB // HOST.memory} fit" in error
    assert "and 512 MiB is left" in fit_error(1000, 0, limits(memory=512 * MiB))


def test_room_now_reads_every_limit_of_this_machine(tmp_path: Path) -> None:
    rooms = room_now(tmp_path / "lab" / "trees", tmp_path / "lab")
    assert [field for _, field in rooms] == ["memory", "tree_bytes", "tree_inodes", "state_bytes", "state_inodes",
                                              "pids", "files"]
    assert all(limit.room > 0 and limit.fix for limit, _ in rooms)
    # The trees tmpfs is not mounted yet: the room is what a new one gets, half the RAM.
    tree_bytes = next(limit.room for limit, field in rooms if field == "tree_bytes")
    mem_total = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    assert tree_bytes == mem_total // 2
