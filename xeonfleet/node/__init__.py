"""The node wing: everything that runs ON a node, copied there by a deploy and run with the node's own
python3 (or sh): the probe, the undo log, the `xeonfleet-run` launcher and its instance planner, the
framework env installer, the TensorFlow build and rollout helpers, and the benchmark runners.

Standard library only (a test enforces it): a node has no xeonfleet installed and no package index. The
controller may import these modules too (the planner, the ISA names), never the other way round.
"""
