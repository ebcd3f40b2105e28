"""Shell for each tunable, built once and used twice: by the tune operations and by the boot-time
script (templates/xeonfleet-tune.sh.j2), so what is re-applied at boot is exactly what the deploy set.

Every command is POSIX sh, idempotent, and fails (non-zero) when a file it must write cannot be written.
"""

from __future__ import annotations

import shlex

CPU = "/sys/devices/system/cpu"
GOVERNOR_FILES = f"{CPU}/cpu[0-9]*/cpufreq/scaling_governor"
EPP_FILES = f"{CPU}/cpu[0-9]*/cpufreq/energy_performance_preference"
EPB_FILES = f"{CPU}/cpu[0-9]*/power/energy_perf_bias"
NO_TURBO_FILE = f"{CPU}/intel_pstate/no_turbo"
BOOST_FILE = f"{CPU}/cpufreq/boost"
THP_FILE = "/sys/kernel/mm/transparent_hugepage/enabled"


def cstate_disable_files(index: int) -> str:
    return f"{CPU}/cpu[0-9]*/cpuidle/state{int(index)}/disable"


def ensure_files(glob: str, value: str) -> str:
    """Write `value` into every file matching `glob` whose content differs (no fork per file: `read`).

    The glob is one of this module's constants (never user input), so it stays unquoted to expand."""
    v = shlex.quote(value)
    return (
        f'for f in {glob}; do [ -e "$f" ] || continue; read -r cur < "$f" || cur=; '
        f'[ "$cur" = {v} ] || printf \'%s\\n\' {v} > "$f" || exit 1; done'
    )


def with_tool(tool_command: str, fallback: str) -> str:
    """Try cpupower first (the guide's tool); the sysfs loop then fixes whatever it did not set, so a
    cpupower that cannot drive this kernel (or is absent) falls back to sysfs instead of failing."""
    return f"if command -v cpupower >/dev/null 2>&1; then {tool_command} >/dev/null 2>&1 || true; fi; {fallback}"


def governor(value: str) -> str:
    return with_tool(f"cpupower -c all frequency-set -g {shlex.quote(value)}", ensure_files(GOVERNOR_FILES, value))


def cstates_disable(indices: list[int]) -> str:
    return "; ".join(
        with_tool(f"cpupower -c all idle-set -d {int(i)}", ensure_files(cstate_disable_files(i), "1"))
        for i in indices
    )


def turbo(enabled: bool, driver: str | None) -> str:
    """intel_pstate says it backwards (no_turbo); other drivers expose cpufreq/boost."""
    if driver == "intel_pstate":
        return ensure_files(NO_TURBO_FILE, "0" if enabled else "1")
    return ensure_files(BOOST_FILE, "1" if enabled else "0")


def turbo_file(driver: str | None) -> str:
    return NO_TURBO_FILE if driver == "intel_pstate" else BOOST_FILE


def epp(value: str) -> str:
    return ensure_files(EPP_FILES, value)


def epb(value: int) -> str:
    return ensure_files(EPB_FILES, str(int(value)))


def thp(mode: str) -> str:
    """The file reads "[always] madvise never", so compare-before-write does not apply: always write."""
    return f"printf '%s\\n' {shlex.quote(mode)} > {THP_FILE}"
