"""Re-exports xeonfleet.facts.frameworks so deploys run from the clone can keep `from facts.frameworks import ...`."""

from xeonfleet.facts.frameworks import CondaTools, FrameworkEnvs, FrameworkPython

__all__ = ["CondaTools", "FrameworkEnvs", "FrameworkPython"]
