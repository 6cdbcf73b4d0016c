"""The sandbox's pure parts: limits, verdicts, command lines, the codec, the driver's records."""

from __future__ import annotations

import json
import math
import signal

import pytest

from benchwarden.bench.sandbox import ExecResult, SandboxLimits
from benchwarden.bench.sandbox.calls import CallGroup, build_program, parse_records
from benchwarden.bench.sandbox.codec import Digest, Opaque, decode_hook, dumps
from benchwarden.bench.sandbox.command import (
    SANDBOX_ENV,
    Tools,
    bwrap_command,
    cpu_rlimit,
    fallback_command,
    file_size_limit,
)
from benchwarden.bench.sandbox.layout import PythonLayout, python_layout
from benchwarden.bench.sandbox.seccomp import seccomp_filter
from benchwarden.bench.sandbox.verdict import Finished, classify, split_bwrap_status

LIMITS = SandboxLimits(cpu_seconds=2.5)
TOOLS = Tools(
    prlimit="/usr/bin/prlimit", bwrap="/usr/bin/bwrap", setpriv="/usr/bin/setpriv", sh="/usr/bin/sh"
)
LAYOUT = PythonLayout(
    executable="/opt/py/bin/python3.11",
    symlinks=(("usr/lib", "/lib"),),
    binds=("/usr", "/opt/py"),
    parents=("/opt",),
    hidden=("/opt/py/lib/python3.11/site-packages",),
)


def test_limits_defaults_and_validation() -> None:
    limits = SandboxLimits()
    assert (limits.cpu_seconds, limits.memory_mb, limits.max_processes) == (10.0, 1024, 32)
    assert limits.wall_limit == 25.0
    assert SandboxLimits(wall_seconds=3).wall_limit == 3
    for bad in (
        {"cpu_seconds": 0},
        {"cpu_seconds": math.inf},
        {"memory_mb": 8},
        {"max_processes": 0},
        {"max_open_files": 3},
        {"max_output_bytes": 0},
        {"wall_seconds": -1},
    ):
        with pytest.raises(ValueError):
            SandboxLimits(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("done", "verdict"),
    [
        (Finished(0, None, 0.1, ""), "ok"),
        (Finished(1, None, 0.1, "Traceback...\nValueError: x"), "error"),
        (Finished(1, None, 0.1, "Traceback...\nMemoryError"), "memory"),
        (Finished(None, signal.SIGSEGV, 0.1, "Cannot allocate memory"), "memory"),
        (Finished(None, signal.SIGXCPU, 2.9, ""), "timeout"),
        (Finished(None, signal.SIGKILL, 3.0, ""), "timeout"),  # RLIMIT_CPU reached
        (Finished(0, None, 2.7, ""), "timeout"),  # finished, but over the exact limit
        (Finished(None, signal.SIGKILL, 0.2, ""), "killed"),
        (Finished(None, signal.SIGSEGV, 0.2, ""), "killed"),
        (Finished(None, signal.SIGKILL, 0.2, "", stopped_for="wall"), "timeout"),
        (Finished(None, signal.SIGKILL, 0.2, "", stopped_for="output"), "output_limit"),
        (Finished(1, None, 0.2, "OSError: [Errno 27] File too large"), "output_limit"),
        (Finished(None, signal.SIGXFSZ, 0.2, ""), "output_limit"),
        (Finished(1, None, 0.0, "bwrap: oops", setup_failed=True), "sandbox_error"),
        (Finished(None, signal.SIGKILL, 0.0, "", stopped_for="cancel"), "killed"),
    ],
)
def test_verdicts(done: Finished, verdict: str) -> None:
    assert classify(done, LIMITS) == verdict


def test_bwrap_status_is_128_plus_the_signal() -> None:
    assert split_bwrap_status(0) == (0, None)
    assert split_bwrap_status(1) == (1, None)
    assert split_bwrap_status(137) == (None, 9)
    assert split_bwrap_status(152) == (None, 24)
    assert split_bwrap_status(255) == (255, None)


def test_rlimits_round_cpu_up_and_never_below_the_program() -> None:
    assert cpu_rlimit(SandboxLimits(cpu_seconds=0.2)) == (1, 1)
    assert cpu_rlimit(SandboxLimits(cpu_seconds=2.5)) == (3, 3)
    assert file_size_limit(SandboxLimits(max_output_bytes=10), 5_000_000) > 5_000_000


def test_bwrap_command_as_root_drops_to_an_unprivileged_uid() -> None:
    cmd = bwrap_command(
        LAYOUT, TOOLS, LIMITS, program_fd=7, status_fd=8, uid=1234567, file_limit=1 << 20
    )
    assert cmd[0] == "/usr/bin/prlimit"
    assert "--nproc=32:32" in cmd and "--cpu=3:3" in cmd and "--core=0:0" in cmd
    assert f"--as={1024 << 20}:{1024 << 20}" in cmd and "--nofile=64:64" in cmd
    bwrap = cmd.index("/usr/bin/bwrap")
    assert "--unshare-user" not in cmd and "--unshare-all" not in cmd  # see command.py
    for flag in ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"):
        assert flag in cmd
    for flag in ("--die-with-parent", "--new-session", "--clearenv", "--as-pid-1"):
        assert flag in cmd
    assert cmd[cmd.index("--cap-drop") + 1] == "ALL"
    # read-only binds only; nothing of the host is writable
    assert "--bind" not in cmd and "--dev-bind" not in cmd
    at = cmd.index("/opt/py")
    assert cmd[at - 1 : at + 2] == ["--ro-bind", "/opt/py", "/opt/py"]
    assert cmd[cmd.index("--file") + 1 : cmd.index("--file") + 3] == ["7", "/tmp/main.py"]
    tail = cmd[cmd.index("--", bwrap) + 1 :]
    assert tail[:4] == ["/usr/bin/sh", "-c", '"$@"; exit $?', "sh"]
    assert tail[4:8] == ["/usr/bin/setpriv", "--reuid=1234567", "--regid=1234567", "--clear-groups"]
    assert tail[8:] == ["/opt/py/bin/python3.11", "-S", "-B", "/tmp/main.py"]
    env = {cmd[i + 1]: cmd[i + 2] for i, part in enumerate(cmd) if part == "--setenv"}
    assert env == SANDBOX_ENV
    assert not any("KEY" in name or "TOKEN" in name for name in env)


def test_bwrap_command_unprivileged_uses_a_user_namespace() -> None:
    cmd = bwrap_command(
        LAYOUT, TOOLS, LIMITS, program_fd=7, status_fd=8, uid=None, file_limit=1 << 20
    )
    bwrap = cmd.index("/usr/bin/bwrap")
    assert "--nproc=32:32" not in cmd[:bwrap]  # it would count all of the user's processes
    assert "--unshare-all" in cmd and "--disable-userns" in cmd
    tail = cmd[cmd.index("--", bwrap) + 1 :]
    assert tail[:3] == ["/usr/bin/prlimit", "--nproc=32:32", "--"]


def test_fallback_command_is_rlimits_then_python() -> None:
    cmd = fallback_command(LAYOUT, TOOLS, LIMITS, program_path="/x/main.py", file_limit=1 << 20)
    assert cmd[0] == "/usr/bin/prlimit" and "--nproc=32:32" in cmd
    assert cmd[-4:] == ["/opt/py/bin/python3.11", "-S", "-B", "/x/main.py"]


def test_layout_of_this_interpreter_hides_its_site_packages() -> None:
    layout = python_layout()
    assert layout.exists()
    assert layout.binds[0] == "/usr"
    assert not any(b in ("/", "/root", "/home", "/work", "/etc") for b in layout.binds)
    for hidden in layout.hidden:
        assert hidden.endswith("-packages")


VALUES = [
    None,
    True,
    0,
    -5,
    10**5000,
    -(10**5000),
    1.5,
    -0.0,
    math.inf,
    -math.inf,
    'héllo \ud800 \x00 "q"',
    [1, [2, (3, 4)]],
    (1,),
    (),
    {"a": 1, 2: "b", (1, 2): [3], None: frozenset({1})},
    {1, 2, (3, 4)},
    frozenset({"x"}),
    3 + 4j,
    b"\x00\xffbytes",
    bytearray(b"ab"),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_codec_round_trip_keeps_types(value: object) -> None:
    back = json.loads(dumps(value), object_hook=decode_hook)
    expected = bytes(value) if isinstance(value, bytearray) else value
    assert back == expected
    assert type(back) is type(expected)


def test_codec_nan_and_unknown_objects() -> None:
    back = json.loads(dumps([math.nan]), object_hook=decode_hook)
    assert math.isnan(back[0])
    opaque = json.loads(dumps(iter([1])), object_hook=decode_hook)
    assert isinstance(opaque, Opaque) and opaque.type == "list_iterator"
    assert json.loads(dumps(opaque), object_hook=decode_hook) == opaque
    digest = Digest("list", "ab" * 32)
    assert json.loads(dumps([digest]), object_hook=decode_hook) == [digest]


def _result(stdout: str, verdict: str = "ok") -> ExecResult:
    return ExecResult(verdict, 0, None, stdout, "", 0.1, 0.1, "bwrap")


def test_records_forged_or_out_of_order_are_ignored() -> None:
    stdout = "\n".join(
        [
            "garbage",
            '{"k":"load","cpu":0.01}',
            '{"k":"r","g":0,"i":1,"cpu":0,"out":1}',  # out of order: ignored
            '{"k":"r","g":0,"i":0,"cpu":0.5,"out":{"t":[1,2]}}',
            '{"k":"r","g":0,"i":0,"cpu":0,"out":"forged"}',  # repeated: ignored
            '{"k":"r","g":7,"i":0,"cpu":0,"out":1}',  # no such group
            '{"k":"r","g":0,"i":1,"cpu":0.1,"exc":{"type":"ValueError","msg":"m",'
            '"at":["<solution>",3,"x = 1"],"test_at":null}}',
            '{"k":"r","g":1,"i":0,"cpu":0.1,"timeout":true}',
            '{"k":"end"}',
        ]
    )
    report = parse_records(_result(stdout), 2)
    assert report.loaded and report.finished and report.result.stdout == ""
    assert [r.output for r in report.groups[0][:1]] == [(1, 2)]
    assert report.groups[0][1].error is not None
    assert report.groups[0][1].error.line == 3 and report.groups[0][1].error.text == "x = 1"
    assert report.groups[1][0].timeout


def test_build_program_is_the_driver_and_one_call() -> None:
    program = build_program("def f(x):\n    return x\n", "f", [CallGroup([(1,), ((2, 3),)])])
    assert program.startswith('"""The program that calls a function')
    assert program.rstrip().splitlines()[-1].startswith("main(")
    with pytest.raises(ValueError, match="per-input limits"):
        build_program("", "f", [CallGroup([(1,)], cpu_limits=[1.0, 2.0])])


def test_seccomp_filter_is_whole_instructions() -> None:
    for machine in ("x86_64", "aarch64"):
        rules = seccomp_filter(machine)
        assert rules is not None and len(rules) % 8 == 0 and len(rules) // 8 < 100
    assert seccomp_filter("riscv64") is None
