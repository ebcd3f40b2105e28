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

from xeonfleet.tune.entry import ai_node

ai_node()
