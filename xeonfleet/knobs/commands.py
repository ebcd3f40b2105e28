"""Node shell for the tune deploy, built with one quoting helper (`sh`) and nowhere else by hand.

The knob declarations beside it (xeonfleet/knobs/) build their set and record commands from these, the generic
operation runs them, and the boot script (templates/xeonfleet-tune.sh.j2) re-runs the same set commands,
so what is re-applied at boot is exactly what the deploy set. Every command is POSIX sh, idempotent, and
fails (non-zero) when a file it must write cannot be written.
"""

from __future__ import annotations

import posixpath
import re
import shlex

from xeonfleet.parsers.sysfs_paths import node

LIB_DIR = "/usr/local/lib/xeonfleet"
STATE_HELPER = f"{LIB_DIR}/state.py"
# A glob we expand on the node: only path characters and the glob's own [0-9]*.
_GLOB = re.compile(r"^[A-Za-z0-9_./*\[\]-]+$")


def sh(*words: object) -> str:
    """One shell command line from words, each quoted (the single quoting helper)."""
    return " ".join(shlex.quote(str(word)) for word in words)


def glob(path: str) -> str:
    """A path-table glob for the node shell to expand; refuses anything that is not a plain path glob,
    since it is the one thing left unquoted."""
    absolute = node(path) if not path.startswith("/") else path
    if not _GLOB.match(absolute):
        raise ValueError(f"not a plain sysfs glob: {absolute!r}")
    return absolute


def ensure_files(path_glob: str, value: str) -> str:
    """Write `value` into every file matching the glob whose content differs (no fork per file: `read`)."""
    v = shlex.quote(value)
    return (
        f'for f in {glob(path_glob)}; do [ -e "$f" ] || continue; read -r cur < "$f" || cur=; '
        f'[ "$cur" = {v} ] || printf \'%s\\n\' {v} > "$f" || exit 1; done'
    )


def write_choice(path: str, value: str) -> str:
    """A multiple-choice file ("[always] madvise never") cannot be compared before writing: always write."""
    return f"printf '%s\\n' {shlex.quote(value)} > {shlex.quote(node(path))}"


def with_cpupower(arguments: list[str], fallback: str) -> str:
    """Try cpupower first (the guide's tool); the sysfs loop then fixes whatever it did not set, so a
    cpupower that cannot drive this kernel (or is absent) falls back to sysfs instead of failing."""
    return (f"if command -v cpupower >/dev/null 2>&1; then {sh('cpupower', '-c', 'all', *arguments)} "
            f">/dev/null 2>&1 || true; fi; {fallback}")


class HelperCall(str):
    """A command line of the node-side undo-log helper (undo_log.py, installed as STATE_HELPER) that keeps
    its sub-commands' words too, so a batch runs any number of them in one python3 start (`helper_line`)
    while each is still an ordinary command line wherever it is used alone (the boot script, tests)."""

    calls: tuple[tuple[str, ...], ...]

    def __new__(cls, *calls: tuple[object, ...]) -> HelperCall:
        words = tuple(tuple(str(word) for word in call) for call in calls)
        line = super().__new__(cls, sh("python3", STATE_HELPER, *_chained(words)))
        line.calls = words
        return line


def _chained(calls: tuple[tuple[str, ...], ...]) -> list[str]:
    """The helper's argv for several sub-commands: their words with a `;` word between each two."""
    return [word for index, call in enumerate(calls) for word in ((";",) if index else ()) + call]


def helper_line(lines: list[HelperCall]) -> HelperCall:
    """Every sub-command of `lines`, in order, as one helper run."""
    return HelperCall(*(call for line in lines for call in line.calls))


def record_values(knob_id: str, globs: list[str]) -> HelperCall:
    """Undo log: keep each matching file's content before the first change (undo_log.py save-values)."""
    return HelperCall(("save-values", knob_id, *(glob(g) for g in globs)))


def record_files(paths: list[str]) -> HelperCall:
    """Undo log: keep each file's content/mode/link target, or that it was absent."""
    return HelperCall(("save-files", *(p for p in paths if not p.startswith(LIB_DIR))))


def record_packages(packages: list[str]) -> HelperCall:
    return HelperCall(("save-packages", *packages))


def record_module(driver: str) -> HelperCall:
    """Undo log: a CPU driver the deploy is about to load (restore unloads it, unless it was loaded already)."""
    return HelperCall(("save-module", driver))


def record_msr(knob_id: str, address: int) -> HelperCall:
    """Undo log: keep MSR `address` of every CPU (all 64 bits) before the first change."""
    return HelperCall(("save-msr", knob_id, hex(address)))


def set_msr_bit(address: int, bit: int, on: bool) -> HelperCall:
    """Set (on) or clear one bit of an MSR on every CPU, read-modify-write (undo_log.py set-msr-bit)."""
    return HelperCall(("set-msr-bit", hex(address), bit, int(on)))


def batch(setup: list[str], records: list[HelperCall], changes: list[tuple[str, str]]) -> str:
    """A host's whole tune as one command (one SSH round trip, two python3 starts instead of one per knob):
    `setup` (installing the undo-log helper), then every record, then every change in apply order.

    All records go first and in one helper run: each reads a prior value as the facts saw it, and none
    needs an earlier change (a knob whose reading needs one, like the MSR bits needing the msr driver, is
    unknown in the plan until the driver is loaded, so it is never in the same batch). Consecutive helper
    changes (the MSR bits) share one run too. Each change runs in a subshell, so its `exit 1` ends only it;
    the first that fails stops the rest and says which knob or file it was.

    + setup: commands run first, each must succeed
    + records: the undo-log commands
    + changes: (what it sets, command), in order
    """
    parts = [f"{line} || exit 1" for line in [*setup, *([helper_line(records)] if records else [])]]
    for label, command in _merged(changes):
        parts.append(f"( {command} ) || {{ echo {shlex.quote(f'xeonfleet: could not apply {label}')} >&2; exit 1; }}")
    return "; ".join(parts)


def _merged(changes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Runs of consecutive HelperCall changes become one helper run, labelled with all their names."""
    merged: list[tuple[str, str]] = []
    for label, command in changes:
        previous = merged[-1][1] if merged else None
        if isinstance(command, HelperCall) and isinstance(previous, HelperCall):
            merged[-1] = (f"{merged[-1][0]}, {label}", helper_line([previous, command]))
        else:
            merged.append((label, command))
    return merged


def write_file(path: str, content: str, mode: str) -> str:
    tmp = shlex.quote(path + ".xeonfleet-tmp")
    return (
        f"mkdir -p {shlex.quote(posixpath.dirname(path))} && printf '%s' {shlex.quote(content)} > {tmp} "
        f"&& chmod {shlex.quote(mode)} {tmp} && mv -f {tmp} {shlex.quote(path)}"
    )


def sed_replacement(text: str) -> str:
    """`text` as the replacement part of a sed s/// command: \\, / and & are special there (a kernel
    argument such as isolcpus=1-3/nohz or acpi=a&b would otherwise break or change the edit)."""
    if "\n" in text:
        raise ValueError(f"a kernel argument cannot contain a newline: {text!r}")
    return re.sub(r"([\\/&])", r"\\\1", text)
