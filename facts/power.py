"""Re-exports xeonfleet.facts.power so deploys run from the clone can keep `from facts.power import ...`."""

from xeonfleet.facts.power import CStates, Epp, Governor, Msrs, Turbo, Uncore

__all__ = ["CStates", "Epp", "Governor", "Msrs", "Turbo", "Uncore"]
