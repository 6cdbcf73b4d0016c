"""The sandbox: every generated program runs isolated, under limits, and is accounted for.

- :func:`run_program` runs one Python program under bubblewrap (no network, its own
  PID namespace, a read-only view of only what Python needs, a private tmpfs as the one
  writable place, an empty environment, a seccomp filter) with rlimits on CPU time,
  memory, processes, open files and output size; see ``command.py`` for the exact
  command and why, ``seccomp.py`` for what the filter closes.
- :class:`SandboxPool` runs many at once, one per core (see ``pool.py`` for why its
  workers are threads supervising sandboxed process trees).
- :mod:`.calls` runs a function on many inputs inside one sandboxed program and brings
  the outputs back as data, for the coding harness to compare on the host.

Where bwrap cannot run, programs run with rlimits only and every result carries a
``warning`` saying so: never silently.
"""

from benchwarden.bench.sandbox.execute import bwrap_available, run_program
from benchwarden.bench.sandbox.pool import SandboxPool
from benchwarden.bench.sandbox.types import ExecResult, SandboxLimits

__all__ = ["ExecResult", "SandboxLimits", "SandboxPool", "bwrap_available", "run_program"]
