"""Shell commands in a persistent workspace, under the same isolation as programs.

An agentic attempt works in one directory for many commands (write a file, build,
run the tests, fix). Each command runs as its own bubblewrap sandbox exactly like
:func:`~benchwarden.bench.sandbox.execute.run_program` (no network, own PID/IPC/UTS
namespaces, empty environment, read-only ``/usr`` and toolchains, seccomp, rlimits,
output cap, wall clock, killed as a tree), with two differences:

- the workspace (a host directory) is bound read-write at ``/workspace``, the one
  place that survives from one command to the next; ``/tmp`` is a fresh tmpfs per
  command;
- as root, every command of one attempt runs as the *same* unprivileged uid (the
  workspace is owned by it), a uid used by nothing else, so its process limit is the
  attempt's own.

Nothing on the host reads through what a command leaves in the workspace without
care: host-side reads and the restore of pristine files go through :mod:`.workspace_files`,
which never follows a symlink.
"""

# ruff: noqa: S108
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from benchwarden.bench.sandbox.command import SANDBOX_ENV, Tools, rlimit_args, tmpfs_size
from benchwarden.bench.sandbox.execute import (
    _probe,
    _read_all,
    _result,
    _sandbox_uid,
    _seccomp_rules,
    _spawn,
    _supervise,
    _tools,
)
from benchwarden.bench.sandbox.layout import PythonLayout, python_layout
from benchwarden.bench.sandbox.types import ExecResult, SandboxLimits
from benchwarden.bench.sandbox.verdict import Finished, split_bwrap_status
from benchwarden.bench.sandbox.workspace_files import chown_tree

WORKSPACE = "/workspace"
"""Where the attempt's directory appears inside the sandbox."""

SHELL = "/bin/sh"

WORKSPACE_LIMITS = SandboxLimits(
    cpu_seconds=120.0,
    memory_mb=4096,
    max_processes=256,
    max_open_files=1024,
    max_output_bytes=4_000_000,
    wall_seconds=180.0,
)
"""Default limits of one workspace command: builds need more than a function does."""


class WorkspaceUnavailable(RuntimeError):
    """bubblewrap cannot run here: agentic work never runs without isolation."""


@dataclass(frozen=True, slots=True)
class ShellEnvironment:
    """What a toolchain adds to the sandbox: variables and read-only host paths."""

    env: Mapping[str, str] = field(default_factory=dict)
    ro_binds: tuple[tuple[str, str], ...] = ()  # (host path, path inside)
    path_prefix: tuple[str, ...] = ()  # directories put before /usr/bin on PATH


def shell_command(
    layout: PythonLayout,
    tools: Tools,
    limits: SandboxLimits,
    *,
    workspace: str,
    script: str,
    environment: ShellEnvironment,
    status_fd: int,
    uid: int | None,
    seccomp_fd: int | None = None,
) -> list[str]:
    """Pure: the command line that runs ``script`` with ``sh -c`` in the workspace."""
    if tools.bwrap is None:
        raise ValueError("shell_command needs the path of bwrap")
    as_root = uid is not None
    if as_root and (tools.setpriv is None or tools.sh is None):
        raise ValueError("running as root needs setpriv and sh to drop to an unprivileged uid")
    file_limit = limits.max_output_bytes * 64 + (1 << 26)  # built binaries, jars, caches
    cmd = [tools.prlimit, *rlimit_args(limits, file_limit=file_limit, with_nproc=as_root)]
    cmd += ["--", tools.bwrap]
    if as_root:
        cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        cmd += ["--unshare-cgroup-try", "--cap-drop", "ALL"]
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        cmd += ["--unshare-all", "--unshare-user", "--disable-userns"]
    cmd += ["--as-pid-1", "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    cmd += ["--clearenv"]
    path = ":".join((*environment.path_prefix, SANDBOX_ENV["PATH"]))
    env = {**SANDBOX_ENV, "PATH": path, **environment.env}
    for name, value in env.items():
        cmd += ["--setenv", name, value]
    for bind in layout.binds[:1]:
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
    for host, inside in environment.ro_binds:
        # bwrap makes missing parents of a mount point mode 0700, which the attempt's
        # uid cannot enter when bwrap runs as root (e.g. /etc for /etc/java-17-openjdk).
        for parent in reversed(PurePosixPath(inside).parents[:-1]):
            cmd += ["--perms", "0755", "--dir", str(parent)]
        cmd += ["--ro-bind", host, inside]
    cmd += ["--bind", workspace, WORKSPACE]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    cmd += ["--chdir", WORKSPACE, "--json-status-fd", str(status_fd), "--"]
    if as_root:
        assert tools.setpriv is not None and tools.sh is not None
        cmd += [tools.sh, "-c", '"$@"; exit $?', "sh"]
        cmd += [tools.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    else:
        cmd += [
            tools.prlimit,
            *rlimit_args(limits, file_limit=0, with_nproc=True, with_others=False),
        ]
        cmd += ["--"]
    cmd += [SHELL, "-c", script]
    return cmd


def workspace_uid() -> int | None:
    """The uid the commands of one attempt run as (None when not root: a user namespace)."""
    return _sandbox_uid() if os.geteuid() == 0 else None


def prepare_workspace(path: str, uid: int | None) -> None:
    """Hand the workspace to the attempt's uid (as root) so its commands can write it."""
    if uid is None:
        return
    # Iterative and never through a link: a command may have left any depth of folders.
    chown_tree(path, uid)


def require_isolation() -> None:
    """Raise :class:`WorkspaceUnavailable` unless bubblewrap runs here."""
    ok, reason = _probe()
    if not ok:
        raise WorkspaceUnavailable(
            f"agentic exercises run only under bubblewrap, and it cannot run here: {reason}. "
            "Install it (Debian: apt-get install bubblewrap) and retry."
        )


def run_in_workspace(
    workspace: str,
    script: str,
    *,
    limits: SandboxLimits = WORKSPACE_LIMITS,
    environment: ShellEnvironment | None = None,
    uid: int | None = None,
    stdin: str | None = None,
    cancel: threading.Event | None = None,
) -> ExecResult:
    """Run ``script`` (``sh -c``) in ``workspace`` and wait for its outcome.

    ``uid`` is the attempt's (from :func:`workspace_uid`, with the workspace prepared
    by :func:`prepare_workspace`); None when not root.
    """
    if uid is None and os.geteuid() == 0:
        # Without a uid, root would run the command as root in a user namespace: no
        # process limit (RLIMIT_NPROC never binds uid 0) and uid 0 on the workspace.
        raise ValueError("as root, run_in_workspace needs the attempt's uid (workspace_uid())")
    require_isolation()
    tools = _tools()
    rules = _seccomp_rules()
    status_r, status_w = os.pipe()
    filter_fd = os.memfd_create("benchwarden-seccomp") if rules else -1
    try:
        if rules:
            os.write(filter_fd, rules)
            os.lseek(filter_fd, 0, os.SEEK_SET)
        cmd = shell_command(
            python_layout(),
            tools,
            limits,
            workspace=workspace,
            script=script,
            environment=environment or ShellEnvironment(),
            status_fd=status_w,
            uid=uid,
            seccomp_fd=filter_fd if rules else None,
        )
        passed: Sequence[int] = (status_w, filter_fd) if rules else (status_w,)
        spawned = _spawn(cmd, stdin, pass_fds=tuple(passed), cwd="/")
        os.close(status_w)
        status_w = -1
        if filter_fd >= 0:
            os.close(filter_fd)
            filter_fd = -1
        done, out, err, wall = _supervise(spawned, stdin, limits, cancel)
        status = _read_all(status_r)
    finally:
        for fd in (status_w, status_r, filter_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
    code, sig = done.exit_code, done.signal
    if code is not None and sig is None:
        code, sig = split_bwrap_status(code)
    setup_failed = b'"child-pid"' not in status or (
        code in (126, 127) and err.lstrip().startswith((b"setpriv:", b"prlimit:"))
    )
    done = Finished(code, sig, done.cpu_seconds, done.stderr, done.stopped_for, setup_failed)
    return _result(done, out, err, wall, limits, "bwrap", None)
