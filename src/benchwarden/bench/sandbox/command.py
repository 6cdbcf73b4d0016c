"""Pure: the command lines that run one program, under bubblewrap or in the fallback.

As root the chain is ``prlimit -> bwrap -> sh -> setpriv -> python -S -B /tmp/main.py``:

- ``prlimit`` sets the rlimits before bwrap starts, so they bind every process of the
  sandbox (CPU, address space, processes, open files, file size, no core dumps).
- ``bwrap`` gives the program its own mount, PID, network, IPC, UTS and cgroup
  namespaces: a root of read-only binds (``/usr`` and the interpreter's prefix), a
  fresh ``/proc`` and ``/dev``, a size-capped tmpfs at ``/tmp`` (the one writable place,
  holding the program), an empty environment but for a few harmless variables, its
  own session, death with its parent, and a seccomp filter (``seccomp.py``) against
  the ways around the rlimits that it knows.
- RLIMIT_NPROC does not bind uid 0, and a user namespace does not help since bwrap
  maps the sandbox's uid to root outside. So a root parent skips the user namespace,
  keeps only CAP_SETUID/CAP_SETGID, and ``setpriv`` drops to an unprivileged uid used by
  no one else (one per run). That uid's process count is the sandbox's alone, so
  RLIMIT_NPROC stops a fork bomb; the uid owns nothing, cannot signal the root
  processes above it, cannot write the tmpfs root, and keeps no capability (bwrap also
  sets no_new_privs).
- ``sh`` is the namespace's PID 1 (``--as-pid-1``), still root, and waits for the
  program. Two reasons. CPU time: bwrap's own init reports the exit status without
  being reaped, so ``wait4`` on bwrap would miss the program's CPU time; a PID 1 that
  bwrap reaps carries it up. Death with the parent: changing the uid clears the
  parent-death signal, so the program itself must not be PID 1; the shell keeps the
  signal bwrap set, and when PID 1 dies the kernel kills the whole namespace.
- Not as root, bwrap unshares everything including the user namespace (and forbids
  nested ones); ``prlimit`` sets RLIMIT_NPROC inside, where it counts the sandbox's own
  user namespace only, and execs the program as PID 1 (no uid change there).
"""

# ruff: noqa: S108
# (every /tmp here is inside the sandbox: its private tmpfs)
from __future__ import annotations

import math
from dataclasses import dataclass

from benchwarden.bench.sandbox.layout import PythonLayout
from benchwarden.bench.sandbox.types import SandboxLimits

PROGRAM_PATH = "/tmp/main.py"
PYTHON_FLAGS = ("-S", "-B")  # stdlib only, no bytecode files
SANDBOX_ENV: dict[str, str] = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "PYTHONDONTWRITEBYTECODE": "1",
    # A fixed seed: expected outputs and a candidate's outputs come from different
    # processes, and set/dict orders of strings must agree between them.
    "PYTHONHASHSEED": "0",
}
"""The whole environment a sandboxed program sees (nothing of the parent's)."""

HOST_ENV: dict[str, str] = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"}
"""The environment given to the launcher itself (never API keys, even to bwrap)."""

_MIB = 1 << 20
_MIN_TMPFS = 64 * _MIB


@dataclass(frozen=True, slots=True)
class Tools:
    """Absolute paths of the helper programs (all from util-linux but bwrap)."""

    prlimit: str
    bwrap: str | None = None
    setpriv: str | None = None
    sh: str | None = None


def file_size_limit(limits: SandboxLimits, source_bytes: int) -> int:
    """RLIMIT_FSIZE: the output cap, but never below what holds the program itself."""
    return max(limits.max_output_bytes, source_bytes) + _MIB


def tmpfs_size(file_limit: int) -> int:
    """The /tmp tmpfs size: a few files at the size limit, at least 64 MiB."""
    return max(_MIN_TMPFS, 4 * file_limit)


def cpu_rlimit(limits: SandboxLimits) -> tuple[int, int]:
    """RLIMIT_CPU (soft, hard): whole seconds, rounded up; SIGKILL when reached.

    Soft equals hard because the program runs as its namespace's PID 1, which the
    kernel shields from SIGXCPU; a soft limit below the hard one would only add a second.
    """
    seconds = max(1, math.ceil(limits.cpu_seconds))
    return seconds, seconds


def rlimit_args(
    limits: SandboxLimits, *, file_limit: int, with_nproc: bool, with_others: bool = True
) -> list[str]:
    args: list[str] = []
    if with_others:
        soft, hard = cpu_rlimit(limits)
        memory = limits.memory_mb * _MIB
        args += [
            f"--cpu={soft}:{hard}",
            f"--as={memory}:{memory}",
            f"--nofile={limits.max_open_files}:{limits.max_open_files}",
            f"--fsize={file_limit}:{file_limit}",
            "--core=0:0",
        ]
    if with_nproc:
        args.append(f"--nproc={limits.max_processes}:{limits.max_processes}")
    return args


def bwrap_command(
    layout: PythonLayout,
    tools: Tools,
    limits: SandboxLimits,
    *,
    program_fd: int,
    status_fd: int,
    uid: int | None,
    file_limit: int,
    seccomp_fd: int | None = None,
    argv: tuple[str, ...] = (),
) -> list[str]:
    """The full command line for one program under bwrap.

    ``uid`` is the unprivileged uid to drop to when the parent is root (see the module
    docstring); ``None`` when the parent is not root.
    """
    if tools.bwrap is None:
        raise ValueError("bwrap_command needs the path of bwrap")
    as_root = uid is not None
    if as_root and (tools.setpriv is None or tools.sh is None):
        raise ValueError("running as root needs setpriv and sh to drop to an unprivileged uid")
    cmd = [tools.prlimit, *rlimit_args(limits, file_limit=file_limit, with_nproc=as_root)]
    cmd += ["--", tools.bwrap]
    if as_root:
        cmd += [
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
        ]
    else:
        cmd += ["--unshare-all", "--unshare-user", "--disable-userns"]
    cmd += [
        "--as-pid-1",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
        "--clearenv",
    ]
    for name, value in SANDBOX_ENV.items():
        cmd += ["--setenv", name, value]
    for bind in layout.binds[:1]:  # /usr first: the symlinks below point into it
        cmd += ["--ro-bind", bind, bind]
    for target, link in layout.symlinks:
        cmd += ["--symlink", target, link]
    for directory in layout.parents:
        cmd += ["--perms", "0755", "--dir", directory]
    for bind in layout.binds[1:]:
        cmd += ["--ro-bind", bind, bind]
    for directory in layout.hidden:
        cmd += ["--perms", "0755", "--tmpfs", directory]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    cmd += ["--perms", "1777", "--size", str(tmpfs_size(file_limit)), "--tmpfs", "/tmp"]
    cmd += ["--perms", "0644", "--file", str(program_fd), PROGRAM_PATH]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    cmd += ["--chdir", "/tmp", "--json-status-fd", str(status_fd), "--"]
    if as_root:
        assert tools.setpriv is not None and tools.sh is not None
        # The shell stays root as the namespace's PID 1: see the module docstring.
        cmd += [tools.sh, "-c", '"$@"; exit $?', "sh"]
        cmd += [tools.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    else:
        cmd += [
            tools.prlimit,
            *rlimit_args(limits, file_limit=0, with_nproc=True, with_others=False),
        ]
        cmd += ["--"]
    cmd += [layout.executable, *PYTHON_FLAGS, PROGRAM_PATH, *argv]
    return cmd


def fallback_command(
    layout: PythonLayout,
    tools: Tools,
    limits: SandboxLimits,
    *,
    program_path: str,
    file_limit: int,
    argv: tuple[str, ...] = (),
) -> list[str]:
    """Rlimits only: no namespaces, the host's filesystem and network are reachable."""
    return [
        tools.prlimit,
        *rlimit_args(limits, file_limit=file_limit, with_nproc=True),
        "--",
        layout.executable,
        *PYTHON_FLAGS,
        program_path,
        *argv,
    ]
