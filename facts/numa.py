"""Re-exports xeonfleet.facts.numa so deploys run from the clone can keep `from facts.numa import ...`."""

from xeonfleet.facts.numa import NumaTopology

__all__ = ["NumaTopology"]
