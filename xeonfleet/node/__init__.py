"""The node wing: everything that runs ON a node, copied there by a deploy and run with the node's own
python3 (or sh). Every file here, runners included, is node code:

- the probe (probe.sh), sent by the facts as one command;
- the undo log (undo_log.py) and the `xeonfleet-run` launcher (launcher.py, uploaded as xeonfleet_run.py)
  with the instance planner and the topology reader it imports (instances.py, topology.py): the tune
  deploy (xeonfleet/tune/deploy.py) puts them in /usr/local/lib/xeonfleet;
- the framework env helper (node_env.py, with env_install.py, env_checks.py, onednn_verbose.py and
  isa_names.py): the frameworks deploy (xeonfleet/frameworks/render.py NODE_ENV_FILES), /opt/xeonfleet/lib;
- the benchmark runners (runners/: benchlib.py, the harness, and one script per job), with the planner,
  the topology reader, the oneDNN verbose parser and the ISA names: xeonfleet/bench/remote.py runner_files;
- the TensorFlow build and roll-out scripts (tf_build.py, tf_rollout.py): xeonfleet/tfbuild/deploy.py.

A node has no xeonfleet installed and no package index, and a deploy uploads these files flat into one
directory. So, as tests/unit/test_node_wing.py checks:

- nothing here imports xeonfleet's controller packages, anywhere;
- at import time a module needs only the standard library and its siblings, which it reaches through
  siblings.py (one rule for both shapes: xeonfleet.node.NAME on the controller, NAME on a node); the
  runners import benchlib, counters and measures directly, as those sit beside them in both shapes;
- the stacks a check or a benchmark exercises (numpy, torch, TensorFlow, OpenVINO, faiss, scikit-learn...)
  are imported only inside the function that exercises them, which runs in the framework env's Python;
- every uploader ships a module together with the siblings it imports.

The controller may import these modules too (the planner, the ISA names, the checks version), never the
other way round.
"""
