#!/usr/bin/env python3
"""Node side of the tune deploy's undo log: /var/lib/xeonfleet/state.json (standard library only).

Uploaded by the deploy to /usr/local/lib/xeonfleet/state.py and run before each change, so the value a
setting had before xeonfleet first touched it is kept; a later run never overwrites it (the first prior
value is the one restore must return to, not the value of the previous run).

    state.py save-values KNOB GLOB...   record sysfs/procfs file contents (globs expanded here)
    state.py save-files PATH...         record a file's content/mode/link target, or that it was absent
    state.py save-packages PKG...       record packages the deploy is about to install
    state.py save-msr KNOB ADDRESS      record an MSR (all 64 bits) of every CPU
    state.py save-module DRIVER         record that a CPU driver (msr, cpuid) was not loaded yet
    state.py set-msr-bit ADDRESS BIT 0|1  set or clear one bit of an MSR on every CPU
    state.py restore                    write every value back, put files back, drop the state

Sub-commands other than restore chain in one run with a `;` word between them
(`state.py save-values KNOB GLOB ';' save-msr KNOB ADDRESS`): the tune deploy records all of a host's
prior values in one python3 start, and sets its MSR bits in another, instead of one start per knob. They
run in order; the first that fails stops the rest, and what was recorded before it is still saved.

MSRs are read and written as the msr driver's /dev/cpu/N/msr devices want: 8 bytes at offset = the
register's address (pread/pwrite, as msr-tools' rdmsr/wrmsr do). The MSR knobs' setter lives here with
the recorder so both go through the same two functions.
"""

from __future__ import annotations

import base64
import glob
import json
import os
import re
import subprocess
import sys

STATE = "/var/lib/xeonfleet/state.json"
MSR_DEVICES = "/dev/cpu/[0-9]*/msr"
OWNED_DIRS = ("/usr/local/lib/xeonfleet", "/var/lib/xeonfleet")
CHOICE = re.compile(r"\[([^\]]+)\]")


def load() -> dict:
    try:
        with open(STATE) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"version": 1, "values": {}, "files": {}, "packages": [], "msrs": {}}


def save(state: dict) -> None:
    os.makedirs(os.path.dirname(STATE), exist_ok=True)
    tmp = STATE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.replace(tmp, STATE)


def save_values(state: dict, knob: str, patterns: list[str]) -> None:
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            if path not in state["values"]:
                with open(path) as f:
                    state["values"][path] = {"knob": knob, "content": f.read().strip()}


def read_msr(device: str, address: int) -> int:
    fd = os.open(device, os.O_RDONLY)
    try:
        return int.from_bytes(os.pread(fd, 8, address), "little")
    finally:
        os.close(fd)


def write_msr(device: str, address: int, value: int) -> None:
    fd = os.open(device, os.O_WRONLY)
    try:
        os.pwrite(fd, value.to_bytes(8, "little"), address)
    finally:
        os.close(fd)


def save_msr(state: dict, knob: str, address: int) -> None:
    msrs = state.setdefault("msrs", {})
    for device in sorted(glob.glob(MSR_DEVICES)):
        key = f"{device}@{address:#x}"
        if key not in msrs:
            msrs[key] = {"knob": knob, "value": f"{read_msr(device, address):#x}"}


def set_msr_bit(address: int, bit: int, on: bool) -> None:
    """Read-modify-write: only `bit` changes, and a CPU already right is not written."""
    devices = sorted(glob.glob(MSR_DEVICES))
    if not devices:
        raise OSError(2, "no /dev/cpu/N/msr (load the msr module: modprobe msr)")
    for device in devices:
        old = read_msr(device, address)
        new = old | (1 << bit) if on else old & ~(1 << bit)
        if new != old:
            write_msr(device, address, new)


def save_files(state: dict, paths: list[str]) -> None:
    for path in paths:
        if path in state["files"]:
            continue
        if os.path.islink(path):
            state["files"][path] = {"link": os.readlink(path)}
        elif os.path.isfile(path):
            with open(path, "rb") as f:
                content = base64.b64encode(f.read()).decode()
            state["files"][path] = {"content": content, "mode": os.stat(path).st_mode & 0o7777}
        else:
            state["files"][path] = None


def restore_value(path: str, content: str) -> None:
    """A multiple-choice sysfs file reads "always [madvise] never" but takes the bare choice."""
    match = CHOICE.search(content)
    with open(path) as f:
        if f.read().strip() == content:
            return  # never changed, or changed back: no write (some of these files are read-only)
    with open(path, "w") as f:
        f.write((match.group(1) if match else content) + "\n")


def restore_file(path: str, record: dict | None) -> None:
    if os.path.lexists(path):
        os.remove(path)
    if record is None:
        return
    if "link" in record:
        os.symlink(record["link"], path)
        return
    with open(path, "wb") as f:
        f.write(base64.b64decode(record["content"]))
    os.chmod(path, record["mode"])


def save_module(state: dict, driver: str) -> None:
    """A driver whose /dev/cpu/0 device is absent now is one the deploy loads: restore unloads it."""
    modules = state.setdefault("modules", [])
    if driver not in modules and not os.path.exists(f"/dev/cpu/0/{driver}"):
        modules.append(driver)


def restore(state: dict) -> list[str]:
    """Put everything back; returns what could not be restored (the state is kept if anything failed)."""
    failed: list[str] = []
    for path, record in sorted(state["values"].items()):
        try:
            restore_value(path, record["content"])
        except OSError as exc:
            failed.append(f"{path}: {exc.strerror}")
    for key, record in sorted(state.get("msrs", {}).items()):
        device, _, address = key.rpartition("@")
        try:
            if read_msr(device, int(address, 16)) != int(record["value"], 16):
                write_msr(device, int(address, 16), int(record["value"], 16))
        except OSError as exc:
            failed.append(f"{key}: {exc.strerror}")
    for driver in state.get("modules", []):
        if subprocess.run(["modprobe", "-r", driver], capture_output=True).returncode != 0:
            failed.append(f"driver {driver}: modprobe -r failed (in use?)")
    for path, record in sorted(state["files"].items(), reverse=True):
        if path.startswith(OWNED_DIRS):
            continue
        try:
            restore_file(path, record)
        except OSError as exc:
            failed.append(f"{path}: {exc.strerror}")
    return failed


SEPARATOR = ";"
RECORDERS = {"save-values", "save-files", "save-msr", "save-module", "save-packages"}


def split_commands(argv: list[str]) -> list[list[str]]:
    """The sub-commands of one run: argv split at each `;` word (empty ones dropped)."""
    chained: list[list[str]] = [[]]
    for word in argv:
        if word == SEPARATOR:
            chained.append([])
        else:
            chained[-1].append(word)
    return [words for words in chained if words]


def run_one(state: dict, command: str, args: list[str]) -> int:
    """One sub-command against the loaded state (records change `state`; the caller saves it)."""
    if command == "save-values" and args:
        save_values(state, args[0], args[1:])
    elif command == "save-files":
        save_files(state, args)
    elif command == "save-msr" and len(args) == 2:
        save_msr(state, args[0], int(args[1], 16))
    elif command == "save-module" and len(args) == 1:
        save_module(state, args[0])
    elif command == "save-packages":
        state["packages"] += [p for p in args if p not in state["packages"]]
    elif command == "set-msr-bit" and len(args) == 3:
        try:
            set_msr_bit(int(args[0], 16), int(args[1]), args[2] == "1")
        except OSError as exc:
            print(f"xeonfleet: MSR {args[0]} bit {args[1]}: {exc.strerror}", file=sys.stderr)
            return 1
    else:
        print(f"state.py: unknown command {command!r}; see --help in the file header", file=sys.stderr)
        return 2
    return 0


def restore_all(state: dict) -> int:
    if not os.path.exists(STATE):
        return 0
    failed = restore(state)
    if failed:
        print("xeonfleet restore: could not restore " + "; ".join(failed), file=sys.stderr)
        return 1
    os.remove(STATE)
    for directory in OWNED_DIRS:
        for root, dirs, files in os.walk(directory, topdown=False):
            for name in files:
                os.remove(os.path.join(root, name))
            for name in dirs:
                os.rmdir(os.path.join(root, name))
        if os.path.isdir(directory):
            os.rmdir(directory)
    return 0


def main(argv: list[str]) -> int:
    chained = split_commands(argv)
    if not chained:
        print(__doc__, file=sys.stderr)
        return 2
    state = load()
    if chained == [["restore"]]:
        return restore_all(state)
    status, recorded = 0, False
    for command, *args in chained:
        status = run_one(state, command, args)
        if status:
            break
        recorded = recorded or command in RECORDERS
    # Only records write the state: set-msr-bit alone (the boot script) never creates it.
    if recorded:
        save(state)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
