"""Tune this host to its profile (the Intel tuning guide), and undo it: the two halves of the undo log.

ai_node plans power, OS, runtime env, launcher and AI stacks from the host's profile and applies them;
host data keys and their defaults are listed in deploys/ai_node.py and docs/tuning.md. Everything is
validated before any command is sent: a host with bad data fails alone with a one-line error and is left
untouched; the other hosts proceed. Both first check the login can get root as the host data says
(connect/sudo_access.py), so a sudo password prompt never holds a fleet run. restore puts back every prior value the host's own undo log
(/var/lib/xeonfleet/state.json) recorded the first time a setting changed, so it works whoever ran the
deploy and however often; on a host never tuned it changes nothing.
"""

from __future__ import annotations

from pyinfra import host

from xeonfleet.facts.node import NodeFacts
from xeonfleet.connect.file_transfer import use_working_file_transfer
from xeonfleet.frameworks.ops import host_framework_envs
from xeonfleet.connect.hostcommand import fail_host
from xeonfleet.connect.sudo_access import require_root
from xeonfleet.knobs.packages import package_manager
from xeonfleet.profiles import DEFAULT_PROFILE, ProfileError, load_profile
from xeonfleet.tune import operations
from xeonfleet.tune.deploy import MANAGED_PATHS, tune_ai_node
from xeonfleet.tune.facts import ManagedFiles, TuneState
from xeonfleet.tune.plan import plan_host
from xeonfleet.tune.restore import restore_ai_node


def ai_node() -> None:
    """Plan and apply the host's profile (host data `xeonfleet_profile`, default xeon-ai-base).

    **Example:**

    .. code:: python

        from xeonfleet.tune.entry import ai_node
        ai_node()
    """
    if not require_root("tune"):
        return
    try:
        profile = load_profile(host.data.get("xeonfleet_profile") or DEFAULT_PROFILE)
    except ProfileError as exc:
        operations.refuse(name="Check host data and facts", errors=[f"host data xeonfleet_profile: {exc}"])
        return
    facts = host.get_fact(NodeFacts)
    files = host.get_fact(ManagedFiles, paths=MANAGED_PATHS) if facts is not None else None
    if facts is None or files is None:  # pyinfra gives None when the host went away while facts loaded
        fail_host("its facts could not be read (the host stopped answering while the deploy loaded); "
                  "re-run once it is back: the other hosts are tuned")
        return
    use_working_file_transfer()  # the node-side helpers are uploaded
    plan = plan_host(host.name, profile, facts, host.data)
    tune_ai_node(profile=profile, facts=facts, plan=plan, files=files)
    # The profile's AI stacks (deploys/frameworks.py), after the runtime env their activate.sh sources.
    if not plan.errors and "frameworks" in plan.extra_steps and profile.get("frameworks") is not None:
        host_framework_envs(profile.get("frameworks"), f"profile {profile.name}")


def restore() -> None:
    """Restore this host from its undo log.

    **Example:**

    .. code:: python

        from xeonfleet.tune.entry import restore
        restore()
    """
    if not require_root("tune"):
        return
    state = host.get_fact(TuneState)
    # The distro only matters when packages must be removed; the full probe is skipped otherwise.
    manager = package_manager(host.get_fact(NodeFacts)) if state and state.get("packages") else None
    restore_ai_node(state=state, manager=manager)
