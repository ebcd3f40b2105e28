"""The clone's `facts` package: thin re-exports of xeonfleet.facts for deploys run from this directory.

Installed xeonfleet (a wheel) ships only `xeonfleet.facts`; write `from xeonfleet.facts.cpu import CpuTopology`
in new deploys.
"""
