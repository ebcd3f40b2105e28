"""Build the AI framework envs a host's spec asks for, smoke-test them, record them as facts.

    pyinfra inventories/lab.py deploys/frameworks.py

Host data read:
    frameworks        the spec ({envs: [{name, backend, python, stacks}]}), else the
    profile           profile whose `frameworks:` block is used (profiles/NAME.yaml)
    wheelhouse        a controller directory from `xeonfleet wheelhouse build` (air-gapped install)
    frameworks_root   env root on the node (default /opt/xeonfleet/envs)
    conda_channels    channels for conda envs (default conda-forge)

The spec is validated on the controller before any command reaches a host, so an impossible
combination stops the run at once with a line naming one that works.
"""

import os

from pyinfra import host

from xeonfleet.frameworks.ops import framework_envs
from xeonfleet.frameworks.render import DEFAULT_CONDA_CHANNELS
from xeonfleet.frameworks.stacks import DEFAULT_ROOT, validate_frameworks_spec
from xeonfleet.profiles import load_profile


def _spec_and_source() -> tuple[dict | None, str]:
    if host.data.get("frameworks") is not None:
        return host.data.get("frameworks"), f"host data `frameworks` of {host.name}"
    profile = host.data.get("profile")
    if profile:
        return load_profile(profile).data.get("frameworks"), f"profile {profile}"
    raise ValueError(f"{host.name}: no frameworks spec; set host data `frameworks` or `profile`")


spec, source = _spec_and_source()
wheelhouse = host.data.get("wheelhouse")
if wheelhouse and not os.path.isdir(wheelhouse):
    raise ValueError(f"{host.name}: wheelhouse {wheelhouse!r} is not a directory; run `xeonfleet wheelhouse build -o DIR`")
if spec is None:
    host.noop(f"{source} declares no frameworks")
else:
    framework_envs(
        envs=validate_frameworks_spec(spec, source),
        root=host.data.get("frameworks_root") or DEFAULT_ROOT,
        local_wheelhouse=wheelhouse,
        conda_channels=tuple(host.data.get("conda_channels") or DEFAULT_CONDA_CHANNELS),
    )
