"""Re-exports xeonfleet.facts.probe so deploys run from the clone can keep `from facts.probe import ...`."""

from xeonfleet.facts.probe import ProbeFact, ProbeLines

__all__ = ["ProbeFact", "ProbeLines"]
