"""pyinfra facts about Xeon nodes, each one probe over the parsers `xeonfleet facts` uses.

    from xeonfleet.facts.cpu import CpuTopology
    from xeonfleet.facts.node import NodeFacts
"""
