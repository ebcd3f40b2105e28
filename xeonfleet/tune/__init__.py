"""The tune deploy: brings a node to its profile's OS and runtime settings, records prior values, restores.

Controller side: `plan` (pure: validate host data, decide what to change), `operations` (one generic
@operation for every knob, plus the files the deploy installs; the shell they run comes from the knob
declarations and xeonfleet/knobs/commands.py), `deploy` (the @deploy that walks
knobs_for(profile)), `restore`. Node side: `node_state.py` (records prior values, puts them back, sets
MSR bits), uploaded as-is.
"""
