"""@deploy("Tune AI node"): walk knobs_for(profile) and run the operation of each knob's kind.

The walk is the audit's own knob list, so what the audit checks is what this sets. Kinds group: all
sysctl knobs share one drop-in file, all env knobs one profile.d file. Files the deploy installs (boot
unit, launcher) come after the knobs; BIOS/hardware findings are printed per host when pyinfra
disconnects, i.e. at the very end of the run, because no command can fix them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pyinfra import host, logger
from pyinfra.api import State, deploy
from pyinfra.api.state import BaseStateCallback

from xeonfleet import instances
from xeonfleet.knobs import Facts, deep_cstates, fact
from xeonfleet.profiles import Profile
from xeonfleet.templates import render
from xeonfleet.tune import commands, node_state, operations
from xeonfleet.tune.plan import BOOT_KINDS, Step, TunePlan

REPO_DIR = Path(__file__).resolve().parents[2]
LAUNCHER_SOURCE = REPO_DIR / "xeonfleet" / "launcher" / "xeonfleet_run.py"
ENV_FILE = "/etc/profile.d/xeonfleet-ai.sh"
BOOT_SCRIPT = "/usr/local/sbin/xeonfleet-tune.sh"
UNIT_FILE = "/etc/systemd/system/xeonfleet-tune.service"
UNIT_LINK = "/etc/systemd/system/multi-user.target.wants/xeonfleet-tune.service"
LAUNCHER_LIB = f"{operations.LIB_DIR}/xeonfleet_run.py"
INSTANCES_LIB = f"{operations.LIB_DIR}/instances.py"
LAUNCHER_BIN = "/usr/local/bin/xeonfleet-run"
# Every path the deploy may write: read in one round trip by ManagedFiles.
MANAGED_PATHS = (operations.STATE_HELPER, operations.SYSCTL_FILE, ENV_FILE, BOOT_SCRIPT, UNIT_FILE, UNIT_LINK,
                 LAUNCHER_LIB, INSTANCES_LIB, LAUNCHER_BIN)


@dataclass(frozen=True)
class Context:
    """What every kind's applier may read: the profile, the facts, the plan and the managed files."""

    profile: Profile
    facts: Facts
    plan: TunePlan
    files: dict[str, Any]


def _cstate_indices(ctx: Context) -> list[int]:
    return [s["index"] for s in deep_cstates(ctx.facts, ctx.profile.get("power.max_cstate")) or []]


# The shell each boot-time kind runs, from the same builders the operations use.
BOOT_COMMANDS: dict[str, Callable[[Step, Context], str]] = {
    "governor": lambda step, ctx: commands.governor(step.wanted),
    "cstates": lambda step, ctx: commands.cstates_disable(_cstate_indices(ctx)),
    "turbo": lambda step, ctx: commands.turbo(step.wanted, fact(ctx.facts, "power.driver")),
    "epp": lambda step, ctx: commands.epp(step.wanted),
    "epb": lambda step, ctx: commands.epb(step.wanted),
    "thp": lambda step, ctx: commands.thp(step.wanted),
}


def _apply_tools(steps: list[Step], ctx: Context) -> None:
    operations.packages(name="Install numactl / cpupower", tools=ctx.plan.packages, manager=ctx.plan.package_manager)


def _apply_governor(steps: list[Step], ctx: Context) -> None:
    for step in steps:
        operations.governor(name=f"Governor {step.wanted}", wanted=step.wanted, current=step.current, in_place=step.in_place)


def _apply_cstates(steps: list[Step], ctx: Context) -> None:
    for step in steps:
        operations.cstates(name=f"C-states deeper than {ctx.profile.get('power.max_cstate')} off", max_cstate=ctx.profile.get("power.max_cstate"), indices=_cstate_indices(ctx),
                           current=step.current, in_place=step.in_place)


def _apply_turbo(steps: list[Step], ctx: Context) -> None:
    for step in steps:
        operations.turbo(name=f"Turbo {'on' if step.wanted else 'off'}", wanted=step.wanted, driver=fact(ctx.facts, "power.driver"), in_place=step.in_place)


def _apply_epp(steps: list[Step], ctx: Context) -> None:
    for step in steps:
        operations.epp(name=f"EPP {step.wanted}", wanted=step.wanted, in_place=step.in_place)


def _apply_epb(steps: list[Step], ctx: Context) -> None:
    for step in steps:
        operations.epb(name=f"EPB {step.wanted}", wanted=step.wanted, in_place=step.in_place)


def _apply_thp(steps: list[Step], ctx: Context) -> None:
    for step in steps:
        operations.thp(name=f"THP {step.wanted}", wanted=step.wanted, in_place=step.in_place)


def _apply_sysctls(steps: list[Step], ctx: Context) -> None:
    content = render("sysctl-xeonfleet.conf.j2", profile=ctx.profile.name, path=operations.SYSCTL_FILE,
                     sysctls=ctx.plan.sysctls)
    operations.sysctls(name=f"sysctl drop-in {operations.SYSCTL_FILE}", values=ctx.plan.sysctls, content=content, current_file=ctx.files.get(operations.SYSCTL_FILE),
                       changed=[step.knob.key for step in steps if not step.in_place])


def _apply_env(steps: list[Step], ctx: Context) -> None:
    content = render("xeonfleet-ai.sh.j2", profile=ctx.profile.name, env=ctx.plan.env)
    operations.managed_file(name=f"Runtime env {ENV_FILE}", path=ENV_FILE, content=content, mode="0644", current=ctx.files.get(ENV_FILE))


# One applier per knob kind; tests/unit/test_tune_deploy.py checks every kind knobs.py can produce is here.
KIND_OPERATIONS: dict[str, Callable[[list[Step], Context], None]] = {
    "tool": _apply_tools,
    "governor": _apply_governor,
    "cstates": _apply_cstates,
    "turbo": _apply_turbo,
    "epp": _apply_epp,
    "epb": _apply_epb,
    "sysctl": _apply_sysctls,
    "thp": _apply_thp,
    "env": _apply_env,
}


def boot_steps(ctx: Context) -> list[dict[str, str]]:
    """The boot script's entries: the applied (not skipped, applicable) knobs of the boot-time kinds."""
    return [
        {"id": step.knob.id, "wanted": str(step.wanted), "command": BOOT_COMMANDS[step.knob.kind](step, ctx)}
        for step in ctx.plan.steps
        if step.knob.kind in BOOT_KINDS
    ]


def _install_boot_unit(ctx: Context) -> None:
    steps = boot_steps(ctx)
    if not steps:
        host.noop("no CPU power or THP setting applies on this host: no boot unit needed")
        return
    script = render("xeonfleet-tune.sh.j2", profile=ctx.profile.name, steps=steps)
    unit = render("xeonfleet-tune.service.j2", profile=ctx.profile.name, script=BOOT_SCRIPT)
    operations.managed_file(name=f"Boot script {BOOT_SCRIPT}", path=BOOT_SCRIPT, content=script, mode="0755", current=ctx.files.get(BOOT_SCRIPT))
    operations.managed_file(name=f"Boot unit {UNIT_FILE}", path=UNIT_FILE, content=unit, mode="0644", current=ctx.files.get(UNIT_FILE))
    # What `systemctl enable` does for WantedBy=multi-user.target; works without a running systemd too
    # (lab hosts, chroots), and systemd picks the unit up at the next boot either way.
    operations.symlink(name="Enable xeonfleet-tune.service", path=UNIT_LINK, target=UNIT_FILE, current=ctx.files.get(UNIT_LINK))


def _install_launcher(ctx: Context) -> None:
    operations.managed_file(name=f"Launcher lib {INSTANCES_LIB}", path=INSTANCES_LIB, content=Path(instances.__file__).read_text(), mode="0644",
                            current=ctx.files.get(INSTANCES_LIB))
    operations.managed_file(name=f"Launcher {LAUNCHER_LIB}", path=LAUNCHER_LIB, content=LAUNCHER_SOURCE.read_text(), mode="0755",
                            current=ctx.files.get(LAUNCHER_LIB))
    operations.symlink(name=f"Launcher link {LAUNCHER_BIN}", path=LAUNCHER_BIN, target=LAUNCHER_LIB, current=ctx.files.get(LAUNCHER_BIN))


class ManualItemsReport(BaseStateCallback):
    """Prints each host's BIOS/hardware findings when pyinfra disconnects from it (the end of the run)."""

    items: dict[str, list[str]] = {}

    @staticmethod
    def host_disconnect(state: State, host) -> None:  # noqa: ANN001
        for item in ManualItemsReport.items.pop(host.name, []):
            host.log_styled(f"manual fix needed (not tunable): {item}", fg="yellow", log_func=logger.warning)


def _report_manual_items(plan: TunePlan) -> None:
    if not any(isinstance(h, ManualItemsReport) for h in host.state.callback_handlers):
        host.state.add_callback_handler(ManualItemsReport())
    ManualItemsReport.items[host.name] = list(plan.manual)


@deploy("Tune AI node")
def tune_ai_node(profile: Profile, facts: Facts, plan: TunePlan, files: dict[str, Any]) -> None:
    """Bring one node to `profile`: knobs in knobs_for order, then the boot unit, launcher and cmdline.

    + profile: the resolved profile
    + facts: NodeFacts of this host (read once by the caller)
    + plan: plan_host(...) for this host; a plan with errors only fails the host
    + files: ManagedFiles of MANAGED_PATHS
    """
    if plan.errors:
        operations.refuse(name="Check host data and facts", errors=plan.errors)
        return
    ctx = Context(profile, facts, plan, files)
    operations.state_helper(name="xeonfleet undo-log helper", content=Path(node_state.__file__).read_text(), current=files.get(operations.STATE_HELPER))
    kinds = list(dict.fromkeys(step.knob.kind for step in plan.steps))
    for kind in kinds:
        KIND_OPERATIONS[kind](plan.steps_of(kind), ctx)
    if "persist.service" in plan.extra_steps:
        _install_boot_unit(ctx)
    if "runtime.launcher" in plan.extra_steps:
        _install_launcher(ctx)
    operations.kernel_cmdline(name="Kernel cmdline", args=plan.cmdline_args, allowed=plan.cmdline_allowed,
                              running=fact(facts, "os.cmdline"), grub_line=files.get("@grub"))
    _report_manual_items(plan)
