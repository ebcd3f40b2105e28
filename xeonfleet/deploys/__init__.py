"""The deploys of xeonfleet as functions: call them from your own deploy file, or name them to pyinfra.

    from xeonfleet.deploys import ai_node
    ai_node()                                        # in a deploy file: tune this host to its profile

    pyinfra INVENTORY xeonfleet.deploys.ai_node      # the same, straight from an installed xeonfleet

The clone's deploys/*.py files are one-line callers of these. tune_ai_node, restore_ai_node,
framework_envs and tf_wheel are the @deploy building blocks they use, for deploys that plan on their own.
"""

from xeonfleet.deploys.audit import audit_node
from xeonfleet.deploys.stacks import frameworks
from xeonfleet.deploys.tuning import ai_node, restore
from xeonfleet.frameworks.ops import framework_envs
from xeonfleet.tfbuild.deploy import tf_wheel
from xeonfleet.tune.deploy import tune_ai_node
from xeonfleet.tune.restore import restore_ai_node

__all__ = ["ai_node", "audit_node", "framework_envs", "frameworks", "restore", "restore_ai_node", "tf_wheel",
           "tune_ai_node"]
