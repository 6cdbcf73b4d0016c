"""Spreading a run's units of work over a Ray cluster (``run --executor ray``).

``needs`` (pure) says what a unit asks of a node (CPUs, memory, the sandbox, a
language's toolchain) and keeps the refusals; ``offers`` probes what this node has
(and prints it as ``ray start --resources``); ``ray_worker`` does a unit on a node
with clients and suites built there; ``ray_executor`` is the driver's side. Ray is
imported only here, and only when the executor is used (extra ``benchwarden[ray]``).
"""
