"""Re-exports xeonfleet.facts.cpu so deploys run from the clone can keep `from facts.cpu import ...`."""

from xeonfleet.facts.cpu import CpuIsa, CpuTopology

__all__ = ["CpuIsa", "CpuTopology"]
