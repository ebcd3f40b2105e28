"""Putting a sudoers drop-in on a node without ever breaking sudo there: the one operation every deploy uses.

A file sudo cannot parse in /etc/sudoers.d stops sudo for every user of the node, so a drop-in is uploaded under
a name sudo's `#includedir` skips (it holds a '.'), checked by the node's own visudo alone (`visudo -c -f`), then
moved into place (a rename: sudo never reads half a file) and checked again with the whole configuration
(`visudo -c`: a file can pass alone and still clash with another, e.g. an alias both define); refused at either
step, the previous file comes back (or none) and the host fails in one line. Used by deploys/sudoers.py
(xeonfleet/tune/sudoers.py) and the audit agent (xeonfleet/audit/agent.py).
"""

from __future__ import annotations

import hashlib
import shlex
from io import StringIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, operation
from pyinfra.facts.files import Sha256File

from xeonfleet.connect.hostcommand import HostCommand

STAGED, KEPT = ".xeonfleet-new", ".xeonfleet-old"  # with a '.': `#includedir` never reads them


def checked_install(dest: str) -> str:
    """Shell putting the file staged at `dest`.xeonfleet-new at `dest` only once visudo accepts it, alone and with
    the whole configuration; else `dest` is as it was. Exits 1 on refusal, naming the step."""
    staged, old = (shlex.quote(f"{dest}{suffix}") for suffix in (STAGED, KEPT))
    quoted = shlex.quote(dest)
    return (f"refused() {{ rm -f {staged} {old}; echo \"error: visudo refused the sudoers drop-in {dest} "
            f"($1): it is as it was\" >&2; exit 1; }}; "
            f"visudo -c -q -f {staged} || refused 'the file alone'; "
            f"chown root:root {staged} && chmod 0440 {staged} || refused 'it could not be made root-only'; "
            f"if [ -f {quoted} ]; then cp -p {quoted} {old}; fi; "
            f"mv -f {staged} {quoted} || refused 'it could not be renamed'; "
            f"if ! visudo -c >/dev/null; then "
            f"if [ -f {old} ]; then mv -f {old} {quoted}; else rm -f {quoted}; fi; "
            f"refused 'with the other sudoers files'; fi; "
            f"rm -f {old}")


@operation()
def sudoers_dropin(path: str, content: str):
    """Install a sudoers drop-in once the node's visudo accepts it (checked_install); unchanged, a no-op.

    + path: /etc/sudoers.d/NAME (NAME without '.' or '~', or sudo ignores it)
    + content: the drop-in's text (xeonfleet.connect.privilege.dropin)

    **Example:**

    .. code:: python

        sudoers_dropin(name="Audit grant", path="/etc/sudoers.d/xeonfleet-audit",
                       content=dropin("audit", "ops", __version__))
    """
    if host.get_fact(Sha256File, path=path) == hashlib.sha256(content.encode()).hexdigest():
        host.noop(f"{path} is already this drop-in")
        return
    yield FileUploadCommand(StringIO(content), f"{path}{STAGED}")
    yield HostCommand(checked_install(path))
