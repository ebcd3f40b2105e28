"""The tune deploy: brings a node to its profile's OS and runtime settings, records prior values, restores.

Controller side: `plan` (pure: validate host data, decide what to change), `commands` (the shell each
knob kind runs, shared by the deploy and the boot-time unit), `operations` (pyinfra @operation per knob
kind), `deploy` (the @deploy that walks knobs_for(profile)), `restore`. Node side: `node_state.py`
(records prior values, puts them back), uploaded as-is.
"""
