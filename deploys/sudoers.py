"""Install the `xeonfleet sudoers` drop-ins, so a named login user can audit, benchmark or tune with sudo.

    pyinfra inventories/prod.py deploys/sudoers.py --sudo --data xeonfleet_sudoers_user=ops
    pyinfra inventories/prod.py deploys/sudoers.py --sudo --data xeonfleet_sudoers_user=ops \
        --data xeonfleet_sudoers_roles='["audit","tune"]'

Run it as the nodes' admin (root, or a login with full sudo). Each drop-in is checked by the node's own
`visudo -c` before it is put in /etc/sudoers.d (0440 root:root); a rejected one is never installed.

Host data (per host or group):
    xeonfleet_sudoers_user    the login user (or %group) to grant; required
    xeonfleet_sudoers_roles   roles to install: audit, bench, tune (default [audit])
"""

from xeonfleet.tune.sudoers import install_sudoers

install_sudoers()
