"""Build the AI framework envs a host's spec asks for, smoke-test them, record them as facts.

    pyinfra inventories/lab.py deploys/frameworks.py --data xeonfleet_profile=xeon-ai-stack

Host data read:
    frameworks          the spec ({envs: [{name, backend, python, stacks}]}), else the
    xeonfleet_profile   profile whose `frameworks:` block is used (the same key ai_node.py and the audit read)
    wheelhouse          a controller directory from `xeonfleet wheelhouse build` (air-gapped install)
    frameworks_root     env root on the node (default /opt/xeonfleet/envs)
    conda_channels      channels for conda envs (default conda-forge)

deploys/ai_node.py runs the same step when the host's profile has a `frameworks:` block.
The spec is validated on the controller before any command reaches a host, so an impossible
combination stops that host at once with one line naming one that works; the other hosts carry on.
"""

from pyinfra import host

from xeonfleet.file_transfer import use_working_file_transfer
from xeonfleet.frameworks.ops import host_framework_envs
from xeonfleet.hostcommand import fail_host
from xeonfleet.profiles import ProfileError, load_profile

EXAMPLE = "--data xeonfleet_profile=xeon-ai-stack"


def _spec_and_source() -> tuple[dict | None, str]:
    if host.data.get("frameworks") is not None:
        return host.data.get("frameworks"), f"host data `frameworks` of {host.name}"
    profile = host.data.get("xeonfleet_profile")
    if profile:
        return load_profile(profile).data.get("frameworks"), f"profile {profile}"
    raise ValueError(f"no frameworks spec: set host data `xeonfleet_profile` (a profile with a `frameworks:` "
                     f"block) or `frameworks`, e.g. pyinfra INVENTORY deploys/frameworks.py {EXAMPLE}")


try:
    spec, source = _spec_and_source()
    if spec is None:
        host.noop(f"{source} declares no frameworks")
    else:
        use_working_file_transfer()  # the node helper (and a wheelhouse) are uploaded
        host_framework_envs(spec, source)
except (ValueError, ProfileError) as exc:
    fail_host(str(exc))
