"""xeonfleet: provision, audit, tune and benchmark Intel Xeon fleets for AI, on pyinfra."""

__version__ = "0.1.0"
