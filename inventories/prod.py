"""Example production inventory: copy it, put your nodes in, keep the groups that fit your fleet.

Groups choose the profile (host data `xeonfleet_profile`, see profiles/); `tf_builders` is where
deploys/tf_wheel.py builds. Host keys are checked strictly against your known_hosts: pre-seed it
(e.g. `ssh-keyscan` from a trusted network, or your CMDB) before the first run.

Nodes refuse root over SSH: xeonfleet logs in as a named user (`ops` here) and escalates with sudo, only
for what needs it. Install the drop-ins once, as the nodes' admin (README: "Running without root login"):

    pyinfra inventories/prod.py deploys/sudoers.py --sudo --data xeonfleet_sudoers_user=ops \
        --data xeonfleet_sudoers_roles='["audit","bench","tune"]'

then:

    xeonfleet audit inventories/prod.py                     # the probe escalates its own root-only reads
    pyinfra inventories/prod.py deploys/ai_node.py --sudo   # the tune deploy runs as root through sudo
    xeonfleet bench run inventories/prod.py                 # jobs run as ops

A node whose sudo wants a password takes it as host data `_sudo_password` (from your secret store, never
written here): pyinfra never prompts host by host, a host without one fails in one line.
"""

_ssh = {
    "ssh_user": "ops",
    "ssh_strict_host_key_checking": "yes",
    "ssh_known_hosts_file": "~/.ssh/known_hosts",
}

# Small-batch serving: several pinned instances of 8-16 cores each.
inference_online = [
    (f"xeon-inf-{n:02d}.example.internal", {**_ssh, "xeonfleet_profile": "inference-online"})
    for n in range(1, 5)
]

# Large-batch / offline inference: 20+ cores per instance.
inference_offline = [
    (f"xeon-batch-{n:02d}.example.internal", {**_ssh, "xeonfleet_profile": "inference-offline"})
    for n in range(1, 3)
]

# Training nodes; the first one also builds the TensorFlow wheel.
training = [
    (f"xeon-train-{n:02d}.example.internal", {**_ssh, "xeonfleet_profile": "training"})
    for n in range(1, 3)
]
tf_builders = [training[0]]
