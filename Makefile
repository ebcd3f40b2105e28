# The two entry points of README.md. Both run scripts/bootstrap.sh first, so a fresh Debian
# machine needs nothing else; on a prepared machine bootstrap is a no-op.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test bench lab-down

setup:
	bash scripts/bootstrap.sh

demo: setup
	bash scripts/demo.sh

test: setup
	bash scripts/test.sh

bench: setup
	$(BIN)/python perf/facts_vs_ansible.py

lab-down: setup
	$(BIN)/xeonfleet lab down
