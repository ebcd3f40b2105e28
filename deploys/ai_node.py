"""Tune AI nodes to their profile (Intel Xeon AI tuning guide): power, OS, runtime env, launcher.

    pyinfra inventories/prod.py deploys/ai_node.py          # apply
    pyinfra inventories/prod.py deploys/ai_node.py --dry    # show what would change
    pyinfra inventories/prod.py deploys/restore.py          # put every prior value back

Host data (per host or group; docs/tuning.md):
    xeonfleet_profile             profile name or path (default xeon-ai-base)
    xeonfleet_skip                step ids to leave alone, e.g. [power.turbo, os.thp, persist.service, frameworks]
    xeonfleet_kernel_cmdline      true: add the kernel cmdline advice to /etc/default/grub (never reboots)
    xeonfleet_install_packages    false: never install packages (a missing required tool is then an error)
    xeonfleet_cores_per_instance  the launcher's default instance size (at most one NUMA node)

Everything is validated per host before any command is sent: a host with bad data fails alone with a
one-line error and is left untouched; the other hosts proceed.
"""

from pyinfra import host

from facts.node import NodeFacts
from xeonfleet.frameworks.ops import host_framework_envs
from xeonfleet.profiles import DEFAULT_PROFILE, ProfileError, load_profile
from xeonfleet.tune import operations
from xeonfleet.tune.deploy import MANAGED_PATHS, tune_ai_node
from xeonfleet.tune.facts import ManagedFiles
from xeonfleet.tune.plan import plan_host

try:
    profile = load_profile(host.data.get("xeonfleet_profile") or DEFAULT_PROFILE)
except ProfileError as exc:
    operations.refuse(name="Check host data and facts", errors=[f"host data xeonfleet_profile: {exc}"])
else:
    facts = host.get_fact(NodeFacts)
    plan = plan_host(host.name, profile, facts, host.data)
    tune_ai_node(profile=profile, facts=facts, plan=plan, files=host.get_fact(ManagedFiles, paths=MANAGED_PATHS))
    # The profile's AI stacks (deploys/frameworks.py), after the runtime env their activate.sh sources.
    if not plan.errors and "frameworks" in plan.extra_steps and profile.get("frameworks") is not None:
        host_framework_envs(profile.get("frameworks"), f"profile {profile.name}")
