"""Re-exports xeonfleet.facts.devices so deploys run from the clone can keep `from facts.devices import ...`."""

from xeonfleet.facts.devices import PcieLinks

__all__ = ["PcieLinks"]
