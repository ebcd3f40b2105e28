"""Build the AI framework envs a host's spec asks for, smoke-test them, record them as facts.

    pyinfra inventories/lab.py deploys/frameworks.py --data xeonfleet_profile=xeon-ai-stack

Host data read:
    frameworks          the spec ({envs: [{name, backend, python, stacks}]}), else the
    xeonfleet_profile   profile whose `frameworks:` block is used (the same key ai_node.py and the audit read)
    wheelhouse          a controller directory from `xeonfleet wheelhouse build` (air-gapped install)
    frameworks_root     env root on the node (default /opt/xeonfleet/envs)
    conda_channels      channels for conda envs (default conda-forge)

deploys/ai_node.py runs the same step when the host's profile has a `frameworks:` block.
The spec is validated on the controller before any command reaches a host, so an impossible
combination stops that host at once with one line naming one that works; the other hosts carry on.
"""

from xeonfleet.frameworks.entry import frameworks

frameworks()
