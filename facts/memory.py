"""Re-exports xeonfleet.facts.memory so deploys run from the clone can keep `from facts.memory import ...`."""

from xeonfleet.facts.memory import Memory

__all__ = ["Memory"]
