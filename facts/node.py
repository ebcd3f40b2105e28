"""Re-exports xeonfleet.facts.node so deploys run from the clone can keep `from facts.node import ...`."""

from xeonfleet.facts.node import NodeFacts

__all__ = ["NodeFacts"]
