"""Put every setting deploys/ai_node.py changed back to the value it had before, and remove what it added.

    pyinfra inventories/prod.py deploys/restore.py

The prior values come from the host's own undo log (/var/lib/xeonfleet/state.json), written the first
time each setting was changed, so restore works whoever ran the deploy and however often. Running it
again, or on a host never tuned, changes nothing.
"""

from xeonfleet.tune.entry import restore

restore()
