"""Re-exports xeonfleet.facts.os so deploys run from the clone can keep `from facts.os import ...`."""

from xeonfleet.facts.os import Sysctls, Thp

__all__ = ["Sysctls", "Thp"]
