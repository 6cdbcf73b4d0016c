"""Hostile programs, all contained, while the pool carries on.

Every program below runs for real under bubblewrap, all of them concurrently through
one :class:`SandboxPool`. The host side sets up what they attack (a TCP and a UDP
listener on loopback, an abstract unix socket, a secret in the parent's environment, a
secret file in a host temp dir, a host process to kill) and checks afterwards that
nothing reached it and that no sandboxed process is left.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pytest

from benchwarden.bench.sandbox import ExecResult, SandboxLimits, SandboxPool
from benchwarden.bench.sandbox.execute import _UID_BASE

ROOT = Path(__file__).resolve().parents[3]
QUICK = SandboxLimits(cpu_seconds=1, wall_seconds=4)
SMALL_OUTPUT = SandboxLimits(cpu_seconds=2, max_output_bytes=100_000)
# CPU-limit attacks get a long wall limit so a loaded machine cannot turn them into wall timeouts.
CPU_ONLY = SandboxLimits(cpu_seconds=1, wall_seconds=30)
MEMORY_ONLY = SandboxLimits(cpu_seconds=20, wall_seconds=40, memory_mb=256)


@dataclass
class Host:
    marker: str
    secret: str
    tcp: socket.socket
    udp: socket.socket
    unix: socket.socket
    secret_file: Path
    sleeper: subprocess.Popen[bytes]

    def subs(self) -> dict[str, object]:
        return {
            "marker": self.marker,
            "tcp_port": self.tcp.getsockname()[1],
            "udp_port": self.udp.getsockname()[1],
            "abstract": self.unix.getsockname()[1:].decode(),
            "secret_file": str(self.secret_file),
            "project": str(ROOT / "README.md"),
            "sleeper": self.sleeper.pid,
        }


@dataclass(frozen=True)
class Attack:
    source: str
    check: Callable[[ExecResult, Host], None]
    limits: SandboxLimits = QUICK


def ok_with(*lines: str) -> Callable[[ExecResult, Host], None]:
    def check(result: ExecResult, host: Host) -> None:
        assert result.verdict == "ok", (result.verdict, result.stderr[-500:])
        for line in lines:
            assert line in result.stdout.splitlines(), result.stdout[-500:]

    return check


def verdict(*allowed: str) -> Callable[[ExecResult, Host], None]:
    def check(result: ExecResult, host: Host) -> None:
        assert result.verdict in allowed, (result.verdict, result.stderr[-500:])

    return check


def _no_secret(result: ExecResult, host: Host) -> None:
    assert result.verdict == "ok", result.stderr
    assert host.secret not in result.stdout + result.stderr
    assert "sk-test-" not in result.stdout + result.stderr
    assert "checked environ" in result.stdout


def _cpu_timeout(result: ExecResult, host: Host) -> None:
    assert result.verdict == "timeout", result
    assert 0.7 <= result.cpu_seconds <= 2.5 and result.wall_seconds < 30


def _wall_timeout(result: ExecResult, host: Host) -> None:
    assert result.verdict == "timeout", result
    assert result.cpu_seconds < 0.5 and 3.9 <= result.wall_seconds < 8


def _output_limit(result: ExecResult, host: Host) -> None:
    assert result.verdict == "output_limit", result.verdict
    assert len(result.stdout.encode()) + len(result.stderr.encode()) <= 100_000


def _proc(result: ExecResult, host: Host) -> None:
    assert result.verdict == "ok", result.stderr
    pids, cmdlines = result.stdout.splitlines()[:2]
    assert int(pids) <= 3  # only the sandbox's own processes exist in its /proc
    assert "pytest" not in cmdlines and "main.py" in cmdlines


ATTACKS: dict[str, Attack] = {
    "tcp_loopback_to_host_listener": Attack(
        "import socket\n"
        "for host in ('127.0.0.1', 'localhost', '::1'):\n"
        "    try:\n"
        "        socket.create_connection((host, $tcp_port), timeout=2)\n"
        "        print('CONNECTED', host)\n"
        "    except OSError as e:\n"
        "        print('blocked', host)\n",
        ok_with("blocked 127.0.0.1", "blocked localhost", "blocked ::1"),
    ),
    "udp_loopback_and_interfaces": Attack(
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n    s.sendto(b'x', ('127.0.0.1', $udp_port))\nexcept OSError:\n    pass\n"
        "print('interfaces', [n for _, n in socket.if_nameindex()])\n",
        ok_with("interfaces ['lo']"),
    ),
    "abstract_unix_socket_of_the_host": Attack(
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n    s.connect('\\0$abstract')\n    print('CONNECTED')\n"
        "except OSError:\n    print('blocked')\n",
        ok_with("blocked"),
    ),
    "read_host_home": Attack(
        "import os\n"
        "print('root', sorted(os.listdir('/root')) if os.path.isdir('/root') else None)\n"
        "hits = [p for p in ('/root/.bashrc', '/root/.ssh', '/root/.benchwarden', '/home', "
        "'/etc/passwd', '/etc/shadow', '/var') if os.path.exists(p)]\n"
        "print('found', hits)\n",
        ok_with("found []"),
    ),
    "read_host_temp_file": Attack(
        "try:\n    print(open('$secret_file').read())\nexcept OSError:\n    print('unreadable')\n",
        ok_with("unreadable"),
    ),
    "read_the_project": Attack(
        "import os\n"
        "try:\n    open('$project').read()\n    print('READ')\n"
        "except OSError:\n    print('unreadable')\n"
        "print('work', os.path.exists('/work'))\n",
        ok_with("unreadable", "work False"),
    ),
    "environment_and_api_keys": Attack(
        "import os\n"
        "print(dict(os.environ))\n"
        "for p in ('/proc/self/environ', '/proc/1/environ', '/proc/2/environ'):\n"
        "    try:\n        print(open(p, 'rb').read())\n    except OSError:\n        pass\n"
        "print('checked environ')\n",
        _no_secret,
    ),
    "write_outside_tmp": Attack(
        "import os\n"
        "wrote = []\n"
        "for p in ('/x', '/usr/x', '/root/x', '/etc/x', '/dev/shm/x', '/var/tmp/x', '/proc/x', "
        "'/dev/x', '/lib/x', '/bin/x'):\n"
        "    try:\n        open(p, 'w').write('x')\n        wrote.append(p)\n"
        "    except OSError:\n        pass\n"
        "try:\n    os.mkdir('/newdir')\n    wrote.append('/newdir')\nexcept OSError:\n    pass\n"
        "open('/tmp/fine', 'w').write('ok')\n"
        "print('wrote', wrote)\n",
        ok_with("wrote []"),
    ),
    "fork_bomb": Attack(  # 32 processes spinning: a short wall limit spares the machine
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        verdict("timeout", "killed"),
        SandboxLimits(cpu_seconds=1, wall_seconds=2),
    ),
    "thread_bomb": Attack(
        "import threading, time\n"
        "n = 0\n"
        "try:\n"
        "    for _ in range(1000):\n"
        "        threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
        "        n += 1\n"
        "except RuntimeError:\n    pass\n"
        "print('threads', n < 40, flush=True)\n"
        "import os; os._exit(0)\n",
        ok_with("threads True"),
    ),
    "memory_bomb": Attack(
        "x = []\nwhile True:\n    x.append(bytearray(10 << 20))\n",
        verdict("memory"),
        # Plenty of CPU so only the memory limit can stop it, even on a loaded machine.
        MEMORY_ONLY,
    ),
    "one_huge_allocation": Attack("x = bytearray(8 << 30)\n", verdict("memory"), MEMORY_ONLY),
    "huge_output": Attack("while True:\n    print('x' * 10000)\n", _output_limit, SMALL_OUTPUT),
    "huge_stderr": Attack(
        "import sys\nwhile True:\n    sys.stderr.write('y' * 10000)\n", _output_limit, SMALL_OUTPUT
    ),
    "fill_the_tmpfs": Attack(
        "import os\n"
        "try:\n"
        "    for i in range(100):\n"
        "        with open(f'/tmp/f{i}', 'wb') as f:\n"
        "            f.write(b'x' * (8 << 20))\n"
        "    print('FILLED')\n"
        "except OSError as e:\n    print('stopped', e.errno in (27, 28))\n",
        ok_with("stopped True"),
        SandboxLimits(cpu_seconds=5, max_output_bytes=1 << 20),
    ),
    "infinite_loop": Attack("while True:\n    pass\n", _cpu_timeout, CPU_ONLY),
    "sleep_past_the_wall_limit": Attack("import time\ntime.sleep(3600)\n", _wall_timeout),
    "ignore_sigterm_and_sigxcpu": Attack(
        "import signal\n"
        "for s in (signal.SIGTERM, signal.SIGXCPU, signal.SIGINT, signal.SIGHUP):\n"
        "    signal.signal(s, signal.SIG_IGN)\n"
        "while True:\n    pass\n",
        _cpu_timeout,
        CPU_ONLY,
    ),
    "kill_the_parent": Attack(
        "import os, signal\n"
        "for pid in (os.getppid(), 0):\n"
        "    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n"
        "print('alive')\n",
        verdict("ok", "killed"),
    ),
    "kill_pid_1_and_everyone": Attack(
        "import os, signal\n"
        "for pid in (1, -1, $sleeper):\n"
        "    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n"
        "print('alive')\n",
        verdict("ok", "killed"),
    ),
    "close_stdout_and_stderr": Attack(
        "import os, time\nos.close(1)\nos.close(2)\ntime.sleep(0.5)\n", verdict("ok")
    ),
    "close_stdout_and_spin": Attack(
        "import os\nos.close(1)\nos.close(2)\nwhile True:\n    pass\n",
        _cpu_timeout,
        CPU_ONLY,
    ),
    "stop_itself": Attack(
        "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)\nprint('resumed')\n",
        verdict("ok", "timeout", "killed"),
    ),
    "detached_double_fork": Attack(
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        os.execv('/bin/sleep', ['$marker', '3600'])\n"
        "    os._exit(0)\n"
        "time.sleep(0.3)\n"
        "print('parent leaves')\n",
        ok_with("parent leaves"),
    ),
    "raise_rlimits": Attack(
        "import resource\n"
        "raised = []\n"
        "for name in ('RLIMIT_CPU', 'RLIMIT_AS', 'RLIMIT_NPROC', 'RLIMIT_NOFILE',\n"
        "             'RLIMIT_FSIZE'):\n"
        "    r = getattr(resource, name)\n"
        "    try:\n"
        "        resource.setrlimit(r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
        "        raised.append(name)\n"
        "    except (ValueError, OSError):\n        pass\n"
        "print('raised', raised)\n",
        ok_with("raised []"),
    ),
    "snoop_proc": Attack(
        "import os\n"
        "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "print(len(pids))\n"
        "print([open(f'/proc/{p}/cmdline', 'rb').read() for p in pids])\n",
        _proc,
    ),
    "ctypes_privileges": Attack(
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print('setuid', libc.setuid(0), os.getuid() != 0)\n"
        "print('mount', libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))\n"
        "print('chroot', libc.chroot(b'/tmp'))\n",
        ok_with("setuid -1 True", "mount -1", "chroot -1"),
    ),
    "nested_user_namespace": Attack(  # its own tmpfs would escape every memory limit
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print('unshare', libc.unshare(0x10000000), ctypes.get_errno())\n"
        "import os\n"
        "pid = os.fork()\n"
        "if pid == 0:\n    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "print('fork still works')\n",
        ok_with("unshare -1 1", "fork still works"),
    ),
    "sysv_shared_memory": Attack(  # segments outlive their mapping: past RLIMIT_AS
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print('shmget', libc.shmget(0, 1 << 30, 0o1600), ctypes.get_errno())\n",
        ok_with("shmget -1 1"),
    ),
    "kernel_attack_surface": Attack(
        "import ctypes, platform\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "numbers = {'x86_64': (321, 425, 323, 250), 'aarch64': (280, 425, 282, 219)}\n"
        "results = [libc.syscall(n, 0, 0, 0, 0, 0) for n in numbers[platform.machine()]]\n"
        "print('denied', results == [-1] * 4)\n",
        ok_with("denied True"),
    ),
    "segfault_via_ctypes": Attack("import ctypes\nctypes.string_at(0)\n", verdict("killed")),
    "devices": Attack(
        "import os\n"
        "print('mem', os.path.exists('/dev/mem'), os.path.exists('/dev/sda'))\n"
        "print('null', open('/dev/null', 'w').write('x'))\n",
        ok_with("mem False False", "null 1"),
    ),
    "too_many_open_files": Attack(
        "files = []\n"
        "try:\n    for _ in range(10000):\n        files.append(open('/dev/null'))\n"
        "except OSError as e:\n    print('stopped at', len(files) < 64, e.errno)\n",
        ok_with("stopped at True 24"),
    ),
    "stdin_is_empty": Attack(
        "import sys\nprint('stdin', repr(sys.stdin.read()))\n", ok_with("stdin ''")
    ),
}


def _sandbox_uids() -> range:
    start = _UID_BASE + ((os.getpid() & 0x3FFF) << 14)
    return range(start, start + (1 << 14))


def _stray_processes(marker: str) -> list[str]:
    """Host processes left by our sandboxes: our uid range, or the marker in argv."""
    uids = _sandbox_uids()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue
        uid = next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("Uid:")), 0
        )
        if marker.encode() in cmdline or uid in uids:
            found.append(f"{entry.name}: uid {uid} {cmdline!r}")
    return found


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    marker = f"benchwarden-{uuid.uuid4().hex[:12]}"
    secret = f"secret-{uuid.uuid4().hex}"
    tcp = socket.create_server(("127.0.0.1", 0))
    tcp.setblocking(False)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(f"\0{marker}")
    unix.listen()
    unix.setblocking(False)
    secret_file = tmp_path_factory.mktemp("host") / "secret.txt"
    secret_file.write_text(secret)
    sleeper = subprocess.Popen(["sleep", "600"])
    saved = {k: os.environ.get(k) for k in ("BENCHWARDEN_TEST_SECRET", "OPENAI_API_KEY")}
    os.environ["BENCHWARDEN_TEST_SECRET"] = secret
    os.environ["OPENAI_API_KEY"] = "sk-test-" + secret
    try:
        yield Host(marker, secret, tcp, udp, unix, secret_file, sleeper)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        sleeper.kill()
        sleeper.wait()
        for s in (tcp, udp, unix):
            s.close()


@pytest.fixture(scope="module")
def outcomes(host: Host) -> dict[str, ExecResult]:
    """Every attack at once through one pool, then one ordinary program after them."""

    async def run_all() -> dict[str, ExecResult]:
        async with SandboxPool() as pool:
            names = list(ATTACKS)
            results = await asyncio.gather(
                *(
                    pool.run(Template(ATTACKS[n].source).substitute(host.subs()), ATTACKS[n].limits)
                    for n in names
                )
            )
            after = await pool.run("print(sum(range(10)))")
        return {**dict(zip(names, results, strict=True)), "_after": after}

    return asyncio.run(run_all())


def test_there_are_at_least_twenty_attacks() -> None:
    assert len(ATTACKS) >= 20


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_contained(name: str, outcomes: dict[str, ExecResult], host: Host) -> None:
    result = outcomes[name]
    assert result.isolation == "bwrap" and result.warning is None
    ATTACKS[name].check(result, host)


def test_the_pool_carries_on_after_the_attacks(outcomes: dict[str, ExecResult]) -> None:
    after = outcomes["_after"]
    assert (after.verdict, after.stdout) == ("ok", "45\n")


def test_the_host_is_untouched(outcomes: dict[str, ExecResult], host: Host) -> None:
    assert host.sleeper.poll() is None, "a sandboxed program killed a host process"
    for listener in (host.tcp, host.unix):
        with pytest.raises(BlockingIOError):
            listener.accept()
    with pytest.raises(BlockingIOError):
        host.udp.recvfrom(16)
    assert host.secret_file.read_text() == host.secret


def test_no_process_outlives_its_run(outcomes: dict[str, ExecResult], host: Host) -> None:
    assert outcomes  # every attack has finished
    assert _stray_processes(host.marker) == []


def test_sigkill_of_the_supervisor_takes_the_sandbox_down(tmp_path: Path) -> None:
    """--die-with-parent: a killed runner leaves no sandboxed process behind."""
    marker = f"benchwarden-{uuid.uuid4().hex[:12]}"
    script = tmp_path / "runner.py"
    script.write_text(
        "from benchwarden.bench.sandbox import run_program, SandboxLimits\n"
        f"run_program(\"import os\\nos.execv('/bin/sleep', ['{marker}', '600'])\", "
        "limits=SandboxLimits(cpu_seconds=600))\n"
    )
    runner = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _processes_with(marker):
            time.sleep(0.1)
        assert _processes_with(marker), "the sandboxed program never started"
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _processes_with(marker):
            time.sleep(0.1)
        assert _processes_with(marker) == []
    finally:
        runner.kill()


def _processes_with(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(entry.name)
            except OSError:
                pass
    return found
