"""Run one program in the sandbox and supervise it: output caps, wall clock, accounting.

The program is handed to bwrap through a memfd (``--file``), so nothing is written on
the host. The supervisor reads stdout and stderr together up to ``max_output_bytes``,
watches the wall clock, and kills the launcher's process group when a limit is
crossed: the namespace's PID 1 then dies of its parent-death signal, and the kernel
kills every process the program started, detached or not. The same happens if this
process itself dies. CPU time comes from ``wait4`` (the launcher and all its reaped
descendants), not from anything the program reports.

Where bwrap cannot run (checked once, by running a real sandboxed Python), programs
run with rlimits only, and every result says so in ``warning``.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import platform
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from benchwarden.bench.sandbox.command import (
    HOST_ENV,
    SANDBOX_ENV,
    Tools,
    bwrap_command,
    fallback_command,
    file_size_limit,
)
from benchwarden.bench.sandbox.layout import PythonLayout, python_layout
from benchwarden.bench.sandbox.seccomp import seccomp_filter
from benchwarden.bench.sandbox.types import DEFAULT_LIMITS, ExecResult, SandboxLimits
from benchwarden.bench.sandbox.verdict import Finished, classify, split_bwrap_status

FORCE_FALLBACK_ENV = "BENCHWARDEN_SANDBOX_FALLBACK"
"""Set to 1 to skip bwrap (for testing the fallback; results still carry the warning)."""

_CHUNK = 1 << 16
_POLL = 0.2  # seconds between checks of the cancel flag
_DRAIN_AFTER_EXIT = 0.5  # how long pipes may stay open after the program exited
_UID_BASE = 0x4000_0000  # far above any uid a system or a subuid range hands out
_uid_counter = itertools.count()


def _sandbox_uid() -> int:
    """A uid for one run: distinct per process (pid) and per run (a 14-bit counter).

    A collision (pids 16384 apart) would only make two sandboxes share one process
    limit: they still cannot see each other (separate PID namespaces).
    """
    return _UID_BASE + ((os.getpid() & 0x3FFF) << 14) + (next(_uid_counter) & 0x3FFF)


@functools.cache
def _tools() -> Tools:
    path = HOST_ENV["PATH"] + os.pathsep + os.environ.get("PATH", "")
    prlimit = shutil.which("prlimit", path=path)
    if prlimit is None:
        raise RuntimeError("prlimit (util-linux) is missing: install util-linux")
    return Tools(
        prlimit=prlimit,
        bwrap=shutil.which("bwrap", path=path),
        setpriv=shutil.which("setpriv", path=path),
        sh=shutil.which("sh", path=path),
    )


@functools.cache
def _seccomp_rules() -> bytes | None:
    return seccomp_filter(platform.machine())


_probe_lock = threading.Lock()
_probe_result: tuple[bool, str] | None = None


def _probe() -> tuple[bool, str]:
    """Whether bwrap can run a sandboxed Python here, and if not, why (checked once)."""
    global _probe_result
    with _probe_lock:
        if _probe_result is None:
            _probe_result = _check_bwrap()
        return _probe_result


def _check_bwrap() -> tuple[bool, str]:
    tools = _tools()
    if tools.bwrap is None:
        return False, "bwrap is not installed (Debian: apt-get install bubblewrap)"
    if os.geteuid() == 0 and (tools.setpriv is None or tools.sh is None):
        return False, "setpriv (util-linux) or sh is missing"
    if not python_layout().exists():
        return False, f"interpreter {python_layout().executable} not found"
    probe = "import sys; print('sandbox-ok', sys.version_info[0])"
    result = _run_bwrap(probe, SandboxLimits(cpu_seconds=5.0), None, None)
    if result.verdict == "ok" and result.stdout.strip() == "sandbox-ok 3":
        return True, ""
    reason = (result.stderr.strip() or result.stdout.strip() or result.verdict)[-300:]
    return False, f"bwrap could not run a program here ({reason})"


def bwrap_available() -> bool:
    """True when programs run under bubblewrap here (the result is cached)."""
    if os.environ.get(FORCE_FALLBACK_ENV) == "1":
        return False
    return _probe()[0]


def run_program(
    source: str, *, limits: SandboxLimits = DEFAULT_LIMITS, stdin: str | None = None
) -> ExecResult:
    """Run ``source`` as a Python program in the sandbox and wait for its outcome."""
    return execute(source, limits, stdin, None)


def execute(
    source: str,
    limits: SandboxLimits,
    stdin: str | None,
    cancel: threading.Event | None,
) -> ExecResult:
    """:func:`run_program`, stoppable from another thread through ``cancel``."""
    if cancel is not None and cancel.is_set():  # cancelled while waiting for a slot
        done = Finished(None, None, 0.0, "", stopped_for="cancel")
        return _result(done, b"", b"", 0.0, limits, "bwrap" if _probe()[0] else "fallback", None)
    if os.environ.get(FORCE_FALLBACK_ENV) == "1":
        reason = f"{FORCE_FALLBACK_ENV}=1 is set"
    else:
        ok, reason = _probe()
        if ok:
            return _run_bwrap(source, limits, stdin, cancel)
    return _run_fallback(source, limits, stdin, cancel, reason)


def _run_bwrap(
    source: str, limits: SandboxLimits, stdin: str | None, cancel: threading.Event | None
) -> ExecResult:
    tools = _tools()
    layout: PythonLayout = python_layout()
    data = source.encode("utf-8", errors="surrogatepass")
    program_fd = os.memfd_create("benchwarden-program")  # close-on-exec by default
    status_r, status_w = os.pipe()
    rules = _seccomp_rules()
    filter_fd = os.memfd_create("benchwarden-seccomp") if rules else -1
    try:
        os.write(program_fd, data)  # memfd writes are never short
        os.lseek(program_fd, 0, os.SEEK_SET)
        if rules:
            os.write(filter_fd, rules)
            os.lseek(filter_fd, 0, os.SEEK_SET)
        uid = _sandbox_uid() if os.geteuid() == 0 else None
        cmd = bwrap_command(
            layout,
            tools,
            limits,
            program_fd=program_fd,
            status_fd=status_w,
            uid=uid,
            file_limit=file_size_limit(limits, len(data)),
            seccomp_fd=filter_fd if rules else None,
        )
        passed = (program_fd, status_w, filter_fd) if rules else (program_fd, status_w)
        spawned = _spawn(cmd, stdin, pass_fds=passed, cwd="/")
        os.close(status_w)
        status_w = -1
        os.close(program_fd)
        program_fd = -1
        if filter_fd >= 0:
            os.close(filter_fd)
            filter_fd = -1
        done, out, err, wall = _supervise(spawned, stdin, limits, cancel)
        status = _read_all(status_r)
    finally:
        for fd in (program_fd, status_w, status_r, filter_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
    code = done.exit_code
    sig = done.signal
    if code is not None and sig is None:
        code, sig = split_bwrap_status(code)
    setup_failed = b'"child-pid"' not in status or (
        code in (126, 127) and err.lstrip().startswith((b"setpriv:", b"prlimit:"))
    )
    done = Finished(code, sig, done.cpu_seconds, done.stderr, done.stopped_for, setup_failed)
    return _result(done, out, err, wall, limits, "bwrap", None)


def _run_fallback(
    source: str,
    limits: SandboxLimits,
    stdin: str | None,
    cancel: threading.Event | None,
    reason: str,
) -> ExecResult:
    warning = (
        f"weaker isolation: {reason}. The program ran with resource limits only, "
        "with no filesystem, network or process isolation: it could read this "
        "machine's files and reach the network."
    )
    if os.geteuid() == 0:
        warning += " As root, the limit on processes did not apply either."
    data = source.encode("utf-8", errors="surrogatepass")
    workdir = tempfile.mkdtemp(prefix="benchwarden-sandbox-")
    try:
        program = Path(workdir) / "main.py"
        program.write_bytes(data)
        cmd = fallback_command(
            python_layout(),
            _tools(),
            limits,
            program_path=str(program),
            file_limit=file_size_limit(limits, len(data)),
        )
        env = {**SANDBOX_ENV, "HOME": workdir, "TMPDIR": workdir}
        spawned = _spawn(cmd, stdin, pass_fds=(), cwd=workdir, env=env)
        done, out, err, wall = _supervise(spawned, stdin, limits, cancel)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return _result(done, out, err, wall, limits, "fallback", warning)


def _result(
    done: Finished,
    out: bytes,
    err: bytes,
    wall: float,
    limits: SandboxLimits,
    isolation: str,
    warning: str | None,
) -> ExecResult:
    return ExecResult(
        verdict=classify(done, limits),
        exit_code=done.exit_code,
        signal=done.signal,
        stdout=out.decode("utf-8", errors="replace"),
        stderr=err.decode("utf-8", errors="replace"),
        cpu_seconds=round(done.cpu_seconds, 4),
        wall_seconds=round(wall, 4),
        isolation=isolation,
        warning=warning,
    )


def _spawn(
    cmd: list[str],
    stdin: str | None,
    *,
    pass_fds: tuple[int, ...],
    cwd: str,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - the command is built from fixed parts
        cmd,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=pass_fds,
        cwd=cwd,
        env=env if env is not None else dict(HOST_ENV),
        start_new_session=True,  # its own process group, killed as one
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _supervise(
    proc: subprocess.Popen[bytes],
    stdin: str | None,
    limits: SandboxLimits,
    cancel: threading.Event | None,
) -> tuple[Finished, bytes, bytes, float]:
    """Pump the pipes until the program ends or a limit stops it; then reap it."""
    start = time.monotonic()
    deadline = start + limits.wall_limit
    budget = limits.max_output_bytes
    captured = {"out": bytearray(), "err": bytearray()}
    stopped_for: str | None = None
    pending = (stdin or "").encode("utf-8", errors="replace")

    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    sel.register(proc.stdout.fileno(), selectors.EVENT_READ, "out")
    sel.register(proc.stderr.fileno(), selectors.EVENT_READ, "err")
    if proc.stdin is not None:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin.fileno(), selectors.EVENT_WRITE, "in")
    pidfd = -1
    with contextlib.suppress(OSError, AttributeError):
        pidfd = os.pidfd_open(proc.pid)
        sel.register(pidfd, selectors.EVENT_READ, "exit")
    exited_at: float | None = None
    open_pipes = 2
    try:
        while True:
            now = time.monotonic()
            if exited_at is None and pidfd < 0 and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and (open_pipes == 0 or now > exited_at + _DRAIN_AFTER_EXIT):
                break
            if now >= deadline:
                stopped_for = "wall"
                break
            if cancel is not None and cancel.is_set():
                stopped_for = "cancel"
                break
            wait = min(deadline - now, _POLL if pidfd >= 0 else 0.02)
            for key, _ in sel.select(wait):
                tag = key.data
                if tag == "exit":
                    exited_at = time.monotonic()
                    sel.unregister(pidfd)
                elif tag == "in":
                    pending = _feed(proc, sel, pending)
                else:
                    chunk = _read_chunk(key.fd)
                    if not chunk:
                        sel.unregister(key.fd)
                        open_pipes -= 1
                        continue
                    room = budget - len(captured["out"]) - len(captured["err"])
                    captured[tag] += chunk[: max(room, 0)]
                    if len(chunk) > room:
                        stopped_for = "output"
            if stopped_for is not None:
                break
    finally:
        sel.close()
        _kill_group(proc)  # also ends whatever outlived the program (fallback mode)
        if pidfd >= 0:
            os.close(pidfd)
    exit_status, cpu = _reap(proc)
    wall = time.monotonic() - start
    for stream in (proc.stdout, proc.stderr, proc.stdin):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    code = os.waitstatus_to_exitcode(exit_status)
    exit_code, sig = (code, None) if code >= 0 else (None, -code)
    err = bytes(captured["err"])
    done = Finished(exit_code, sig, cpu, err[-4096:].decode("utf-8", "replace"), stopped_for)
    return done, bytes(captured["out"]), err, wall


def _feed(proc: subprocess.Popen[bytes], sel: selectors.BaseSelector, pending: bytes) -> bytes:
    assert proc.stdin is not None
    fd = proc.stdin.fileno()
    try:
        written = os.write(fd, pending[:_CHUNK]) if pending else 0
    except BlockingIOError:
        return pending
    except OSError:  # the program closed its stdin
        written = len(pending)
    pending = pending[written:]
    if not pending:
        sel.unregister(fd)
        with contextlib.suppress(OSError):
            proc.stdin.close()
    return pending


def _read_chunk(fd: int) -> bytes:
    try:
        return os.read(fd, _CHUNK)
    except OSError:
        return b""


def _reap(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    """wait4 the launcher: its status and the CPU time of it and every descendant it reaped."""
    if proc.returncode is not None:  # reaped by poll() (no pidfd): no rusage left
        return _encode_status(proc.returncode), 0.0
    while True:
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            return 0, 0.0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return status, usage.ru_utime + usage.ru_stime


def _encode_status(returncode: int) -> int:
    return (returncode & 0xFF) << 8 if returncode >= 0 else -returncode


def _read_all(fd: int) -> bytes:
    os.set_blocking(fd, False)
    chunks = []
    with contextlib.suppress(BlockingIOError, OSError):
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
    return b"".join(chunks)
