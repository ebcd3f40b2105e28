"""Put every setting deploys/ai_node.py changed back to the value it had before, and remove what it added.

    pyinfra inventories/prod.py deploys/restore.py

The prior values come from the host's own undo log (/var/lib/xeonfleet/state.json), written the first
time each setting was changed, so restore works whoever ran the deploy and however often. Running it
again, or on a host never tuned, changes nothing.
"""

from pyinfra import host

from facts.node import NodeFacts
from xeonfleet.tune.facts import TuneState
from xeonfleet.knobs.packages import package_manager
from xeonfleet.tune.restore import restore_ai_node

state = host.get_fact(TuneState)
# The distro only matters when packages must be removed; the full probe is skipped otherwise.
restore_ai_node(state=state, manager=package_manager(host.get_fact(NodeFacts)) if state and state.get("packages") else None)
