"""Build the AI framework envs a host's spec asks for, smoke-test them, record them as facts.

What deploys/frameworks.py runs; its docstring lists the host data read. The spec is validated on the
controller before any command reaches a host, so an impossible combination stops that host at once
with one line naming one that works; the other hosts carry on.
"""

from __future__ import annotations

from typing import Any

from pyinfra import host

from xeonfleet.connect.file_transfer import use_working_file_transfer
from xeonfleet.frameworks.ops import host_framework_envs
from xeonfleet.connect.hostcommand import fail_host
from xeonfleet.connect.sudo_access import require_root
from xeonfleet.profiles import ProfileError, load_profile

EXAMPLE = "--data xeonfleet_profile=xeon-ai-stack"


def _spec_and_source() -> tuple[dict[str, Any] | None, str]:
    if host.data.get("frameworks") is not None:
        return host.data.get("frameworks"), f"host data `frameworks` of {host.name}"
    profile = host.data.get("xeonfleet_profile")
    if profile:
        return load_profile(profile).data.get("frameworks"), f"profile {profile}"
    raise ValueError(f"no frameworks spec: set host data `xeonfleet_profile` (a profile with a `frameworks:` "
                     f"block) or `frameworks`, e.g. pyinfra INVENTORY deploys/frameworks.py {EXAMPLE}")


def frameworks() -> None:
    """The envs of host data `frameworks`, else of the `frameworks:` block of host data `xeonfleet_profile`.

    **Example:**

    .. code:: python

        from xeonfleet.frameworks.entry import frameworks
        frameworks()
    """
    if not require_root("tune"):
        return
    try:
        spec, source = _spec_and_source()
        if spec is None:
            host.noop(f"{source} declares no frameworks")
        else:
            use_working_file_transfer()  # the node helper (and a wheelhouse) are uploaded
            host_framework_envs(spec, source)
    except (ValueError, ProfileError) as exc:
        fail_host(str(exc))
