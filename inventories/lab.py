"""pyinfra inventory of the local lab fleet (`xeonfleet lab up --hosts N` first).

Reads the lab state from $XEONFLEET_LAB_DIR or $XDG_DATA_HOME/xeonfleet/lab. Groups: `lab_hosts` (every host) and
one per hardware profile, `-` replaced by `_` (e.g. `icx_8380_2s`), so a deploy can target
`--limit icx_8380_2s_mistuned`. Each host logs in as root with the lab's own key and checks the
lab's own known_hosts strictly; the real ~/.ssh is never read or written.

    pyinfra inventories/lab.py exec -- hostname
"""

from pathlib import Path

from pyinfra.api.exceptions import InventoryError

from xeonfleet.lab.fleet import Lab

_lab_hosts = Lab().inventory_hosts()
if not _lab_hosts:
    raise InventoryError("no lab running: run `xeonfleet lab up --hosts N`")

lab_hosts = _lab_hosts
# pyinfra reads groups from module-level names, and the profile groups depend on the lab.
# A hardware profile given as a YAML path is grouped by its file name.
globals().update(
    {
        Path(hardware).stem.replace("-", "_"): [host for host in _lab_hosts if host[1]["hardware"] == hardware]
        for hardware in {data["hardware"] for _, data in _lab_hosts}
    }
)
