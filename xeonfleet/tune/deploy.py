"""@deploy("Tune AI node"): apply every planned knob and install the deploy's files, in one operation.

The walk is the audit's own knob list (knobs_for), so what the audit checks is what this sets. Knobs that
share a persist file (the sysctl drop-in, the profile.d env) get it rendered once from their values;
the boot unit re-runs the boot-time knobs' own set commands. Everything a host needs goes in one command
(operations.apply_plan): the knobs in knobs_for order, then the persist files, boot unit and launcher.
BIOS/hardware findings are printed per host when pyinfra disconnects, i.e. at the very end of the run,
because no command can fix them.
"""

from __future__ import annotations

from typing import Any

from pyinfra import host, logger
from pyinfra.api import State, deploy
from pyinfra.api.state import BaseStateCallback

from xeonfleet.knobs import Facts, fact, show
from xeonfleet.knobs.runtime_env import PROFILE_D
from xeonfleet.knobs.sysctl import DROP_IN
from xeonfleet.profiles import Profile
from xeonfleet.resources import packaged
from xeonfleet.render import render
from xeonfleet.knobs import commands
from xeonfleet.tune import operations
from xeonfleet.tune.plan import TunePlan

BOOT_SCRIPT = "/usr/local/sbin/xeonfleet-tune.sh"
UNIT_FILE = "/etc/systemd/system/xeonfleet-tune.service"
UNIT_LINK = "/etc/systemd/system/multi-user.target.wants/xeonfleet-tune.service"
LAUNCHER_LIB = f"{commands.LIB_DIR}/xeonfleet_run.py"
# The node modules the launcher imports (node/siblings.py), uploaded beside it before it.
LAUNCHER_LIBS = {f"{commands.LIB_DIR}/{name}": packaged(f"node/{name}")
                 for name in ("siblings.py", "instances.py", "topology.py")}
LAUNCHER_BIN = "/usr/local/bin/xeonfleet-run"
# Node-side helpers, uploaded before the first knob: the undo log (which also sets the MSR knobs' bits).
HELPERS = {commands.STATE_HELPER: packaged("node/undo_log.py")}
PERSIST_FILES = (DROP_IN, PROFILE_D)
# Every path the deploy may write: read in one round trip by ManagedFiles.
MANAGED_PATHS = (*HELPERS, *(p.path for p in PERSIST_FILES), BOOT_SCRIPT, UNIT_FILE, UNIT_LINK,
                 *LAUNCHER_LIBS, LAUNCHER_LIB, LAUNCHER_BIN)


def boot_steps(plan: TunePlan, facts: Facts) -> list[dict[str, str]]:
    """The boot script's entries: the applied (not skipped, applicable) knobs sysfs forgets at reboot."""
    return [
        {"id": step.knob.id, "wanted": show(step.wanted), "command": step.knob.setter.command(step.wanted, facts)}
        for step in plan.steps
        if step.knob.setter is not None and step.knob.setter.boot
    ]


def _boot_unit(profile: Profile, plan: TunePlan, facts: Facts) -> list[operations.ManagedFile]:
    steps = boot_steps(plan, facts)
    if not steps:
        host.noop("no setting that a reboot forgets applies on this host: no boot unit needed")
        return []
    return [
        operations.ManagedFile(BOOT_SCRIPT, render("xeonfleet-tune.sh.j2", profile=profile.name, steps=steps), "0755"),
        operations.ManagedFile(UNIT_FILE, render("xeonfleet-tune.service.j2", profile=profile.name, script=BOOT_SCRIPT)),
        # What `systemctl enable` does for WantedBy=multi-user.target; works without a running systemd too
        # (lab hosts, chroots), and systemd picks the unit up at the next boot either way.
        operations.ManagedFile(UNIT_LINK, link=UNIT_FILE),
    ]


def _launcher() -> list[operations.ManagedFile]:
    return [*(operations.ManagedFile(path, source.read_text()) for path, source in LAUNCHER_LIBS.items()),
            operations.ManagedFile(LAUNCHER_LIB, packaged("node/launcher.py").read_text(), "0755"),
            operations.ManagedFile(LAUNCHER_BIN, link=LAUNCHER_LIB)]


def planned_files(profile: Profile, plan: TunePlan, facts: Facts) -> list[operations.ManagedFile]:
    """The files the deploy installs after the knobs, in order: persist files, boot unit, launcher."""
    files = [operations.ManagedFile(persist.path, render(persist.template, profile=profile.name, path=persist.path,
                                                         values=values), persist.mode)
             for persist, values in plan.files.items()]
    if "persist.service" in plan.extra_steps:
        files += _boot_unit(profile, plan, facts)
    if "runtime.launcher" in plan.extra_steps:
        files += _launcher()
    return files


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
    """Bring one node to `profile`: knobs in knobs_for order, their persist files, then the boot unit,
    launcher and cmdline.

    + profile: the resolved profile
    + facts: NodeFacts of this host (read once by the caller)
    + plan: plan_host(...) for this host; a plan with errors only fails the host
    + files: ManagedFiles of MANAGED_PATHS
    """
    if plan.errors:
        operations.refuse(name="Check host data and facts", errors=plan.errors)
        return
    operations.apply_plan(
        name="Knobs, then persist files, boot unit and launcher (prior values recorded first)",
        helpers=[operations.ManagedFile(path, source.read_text(), "0755") for path, source in HELPERS.items()],
        steps=[step for step in plan.steps if step.knob.setter is not None],
        files=planned_files(profile, plan, facts), facts=facts, current=files,
    )
    operations.kernel_cmdline(name="Kernel cmdline", args=plan.cmdline_args, allowed=plan.cmdline_allowed,
                              running=fact(facts, "os.cmdline"), grub_line=files.get("@grub"))
    _report_manual_items(plan)
