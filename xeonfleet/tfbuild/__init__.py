"""Build the custom TensorFlow wheel (oneDNN + Eigen threadpool) on one host, roll it out to many.

plan.py decides what to build and how (pure), facts.py reads the hosts, tf_build.py and
tf_rollout.py run on the nodes, deploy.py wires them into pyinfra operations.
"""
