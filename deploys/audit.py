"""Print each host's compliance findings from inside a pyinfra run; changes nothing on the hosts.

    pyinfra inventories/lab.py deploys/audit.py
    pyinfra inventories/lab.py deploys/audit.py --data xeonfleet_profile=training

The same NodeFacts fact, profile choice (host data `xeonfleet_profile`, else xeon-ai-base), rules
and table renderer as `xeonfleet audit`, so both print the same node findings. Fleet (peer
heterogeneity) rules need every host's facts at once and the results store keeps history: both
are `xeonfleet audit INVENTORY`'s job.
"""

from xeonfleet.audit.entry import audit_node

audit_node()
