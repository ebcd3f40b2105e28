"""The tune deploy: brings a node to its profile's OS and runtime settings, records prior values, restores.

Controller side: `plan` (pure: validate host data, decide what to change), `commands` (the one quoting
helper and the shell builders the knob declarations in xeonfleet/knobs/ use), `operations` (one generic
@operation for every knob, plus the files the deploy installs), `deploy` (the @deploy that walks
knobs_for(profile)), `restore`. Node side: `node_state.py` (records prior values, puts them back, sets
MSR bits), uploaded as-is.
"""
