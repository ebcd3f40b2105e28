"""A deploy that reads the repo's own facts with `host.get_fact` (as every xeonfleet deploy does)
and records what it saw in /etc/xeonfleet-facts-check.json, for tests/integration/test_facts.py.

    pyinfra -y inventories/lab.py tests/deploys/facts_check.py
"""

import json
import shlex

from pyinfra import host
from pyinfra.operations import server

from xeonfleet.facts.cpu import CpuIsa, CpuTopology
from xeonfleet.facts.memory import Memory
from xeonfleet.facts.numa import NumaTopology
from xeonfleet.facts.os import Sysctls, Thp
from xeonfleet.facts.power import CStates, Epp, Governor, Turbo

seen = {
    "topology": host.get_fact(CpuTopology),
    "isa": host.get_fact(CpuIsa),
    "numa": host.get_fact(NumaTopology),
    "memory": host.get_fact(Memory),
    "governor": host.get_fact(Governor),
    "cstates": host.get_fact(CStates),
    "turbo": host.get_fact(Turbo),
    "epp": host.get_fact(Epp),
    "thp": host.get_fact(Thp),
    "sysctls": host.get_fact(Sysctls),
}
text = json.dumps(seen, sort_keys=True)

server.shell(
    name="Record the facts this deploy read",
    commands=[f"printf '%s\\n' {shlex.quote(text)} > /etc/xeonfleet-facts-check.json"],
)
