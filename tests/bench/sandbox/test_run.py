"""Running real programs: outcomes, the pool, the fallback, the unprivileged mode, the CLI."""

from __future__ import annotations

import ast
import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchwarden.bench.sandbox import (
    SandboxLimits,
    SandboxPool,
    bwrap_available,
    run_program,
)
from benchwarden.bench.sandbox.command import Tools, bwrap_command
from benchwarden.bench.sandbox.layout import PythonLayout, python_layout


def test_bwrap_is_available_here() -> None:
    # CI installs bubblewrap (.ci/run); without it every result would be a fallback.
    assert bwrap_available(), "bubblewrap cannot run here: apt-get install bubblewrap"


def test_ok_program_with_stdin_stdout_stderr() -> None:
    source = (
        "import sys\ndata = sys.stdin.read()\nprint(data.upper())\nprint('note', file=sys.stderr)\n"
    )
    result = run_program(source, stdin="hello")
    assert result.verdict == "ok", result
    assert (result.exit_code, result.signal) == (0, None)
    assert result.stdout == "HELLO\n" and result.stderr == "note\n"
    assert result.isolation == "bwrap" and result.warning is None
    assert 0 <= result.cpu_seconds < 1 and result.wall_seconds < 5


def test_error_exit_and_traceback() -> None:
    result = run_program("raise ValueError('boom')")
    assert result.verdict == "error" and result.exit_code == 1
    assert "ValueError: boom" in result.stderr
    result = run_program("import sys; sys.exit(3)")
    assert (result.verdict, result.exit_code) == ("error", 3)


def test_the_program_sees_a_plain_python_and_nothing_else() -> None:
    source = (
        "import os, sys\n"
        "print(os.getcwd(), sys.argv, sys.flags.no_site, os.getpid())\n"
        "print(sorted(os.listdir('/')))\n"
        "try:\n    import numpy\nexcept ImportError:\n    print('no numpy')\n"
    )
    result = run_program(source)
    assert result.verdict == "ok", result.stderr
    first, second, third = result.stdout.splitlines()
    assert first in ("/tmp ['/tmp/main.py'] 1 1", "/tmp ['/tmp/main.py'] 1 2")  # PID 1 or 2
    allowed = {"bin", "sbin", "lib", "lib64", "lib32", "libx32", "usr", "dev", "proc", "tmp"}
    allowed |= {p.split("/")[1] for p in python_layout().parents}  # the interpreter's prefix
    assert set(ast.literal_eval(second)) <= allowed
    assert third == "no numpy"


def test_cpu_time_counts_the_program_and_limits_it_exactly() -> None:
    spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < {}: pass\n"
    result = run_program(spin.format(0.3), limits=SandboxLimits(cpu_seconds=2))
    assert result.verdict == "ok" and 0.3 <= result.cpu_seconds < 1.0
    result = run_program(spin.format(1.5), limits=SandboxLimits(cpu_seconds=1.2))
    assert result.verdict == "timeout" and result.cpu_seconds >= 1.2


def test_memory_limit_applies_per_process() -> None:
    small = run_program(
        "x = bytearray(50 << 20)\nprint(len(x))", limits=SandboxLimits(memory_mb=128)
    )
    assert small.verdict == "ok"
    big = run_program("x = bytearray(200 << 20)", limits=SandboxLimits(memory_mb=128))
    assert big.verdict == "memory", big


async def test_pool_runs_one_per_worker_at_a_time() -> None:
    source = "import time\ntime.sleep(0.3)\nprint('done')"
    async with SandboxPool(workers=2) as pool:
        start = time.monotonic()
        results = await asyncio.gather(*(pool.run(source) for _ in range(4)))
        elapsed = time.monotonic() - start
    assert [r.stdout for r in results] == ["done\n"] * 4
    assert elapsed >= 0.55  # two rounds of two


async def test_pool_cancellation_kills_the_program() -> None:
    async with SandboxPool(workers=1) as pool:
        task = asyncio.ensure_future(pool.run("while True: pass", SandboxLimits(cpu_seconds=30)))
        await asyncio.sleep(0.3)
        task.cancel()
        start = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the slot frees within the supervisor's poll interval, not after 30 s
        result = await asyncio.wait_for(pool.run("print('next')"), timeout=10)
        assert result.stdout == "next\n" and time.monotonic() - start < 5
    with pytest.raises(RuntimeError, match="closed"):
        await pool.run("print(1)")


def test_fallback_is_weaker_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCHWARDEN_SANDBOX_FALLBACK", "1")
    monkeypatch.setenv("BENCHWARDEN_TEST_SECRET", "fallback-secret")
    assert not bwrap_available()
    result = run_program("import os\nprint(dict(os.environ))")
    assert result.verdict == "ok" and result.isolation == "fallback"
    assert result.warning and "weaker isolation" in result.warning
    assert "fallback-secret" not in result.stdout  # the environment is still cleared
    spin = run_program("while True: pass", limits=SandboxLimits(cpu_seconds=1))
    assert spin.verdict == "timeout" and spin.isolation == "fallback" and spin.warning


def _system_python() -> str | None:
    for candidate in ("/usr/bin/python3.11", "/usr/bin/python3"):
        if Path(candidate).is_file():
            return candidate
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start as another user")
def test_unprivileged_mode_runs_in_a_user_namespace(tmp_path: Path) -> None:
    """The command a non-root parent builds: run it as `nobody` and check the limits."""
    python = _system_python()
    if python is None:
        pytest.skip("no /usr/bin/python3 to run as nobody")
    layout = PythonLayout(
        python,
        tuple((os.readlink(p), p) for p in ("/bin", "/lib", "/lib64") if os.path.islink(p)),
        ("/usr",),
        (),
        (),
    )
    tools = Tools(shutil.which("prlimit") or "", shutil.which("bwrap"), shutil.which("setpriv"))
    program = b"import os\nprint(os.getpid(), os.getuid())\nwhile True:\n    os.fork()\n"
    fd = os.memfd_create("program")
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    status_r, status_w = os.pipe()
    cmd = bwrap_command(
        layout,
        tools,
        SandboxLimits(cpu_seconds=2),
        program_fd=fd,
        status_fd=status_w,
        uid=None,
        file_limit=1 << 20,
    )
    assert tools.setpriv
    cmd = [tools.setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, pass_fds=(fd, status_w), timeout=60, cwd="/")
    os.close(status_w)
    status = os.read(status_r, 4096)
    assert b"child-pid" in status, done.stderr
    assert done.stdout.decode().splitlines()[0] == "1 65534"
    assert b"Resource temporarily unavailable" in done.stderr  # RLIMIT_NPROC held


def test_cli_sandbox_run(tmp_path: Path) -> None:
    import typer

    from benchwarden.cli.sandbox_cmd import sandbox_run

    app = typer.Typer()
    app.command("run")(sandbox_run)
    app.command("other")(lambda: None)
    runner = CliRunner()
    good = tmp_path / "good.py"
    good.write_text("print('hello from the sandbox')\n")
    result = runner.invoke(app, ["run", str(good)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "ok" in result.output and "hello from the sandbox" in result.output
    assert "bwrap" in result.output
    spin = tmp_path / "spin.py"
    spin.write_text("while True: pass\n")
    result = runner.invoke(app, ["run", str(spin), "--timeout", "1", "--memory", "256"])
    assert result.exit_code == 1 and "timeout" in result.output
    missing = runner.invoke(app, ["run", str(tmp_path / "nope.py")])
    assert missing.exit_code == 1


def test_cli_module_entry_point_is_importable() -> None:
    # the function the app registers as `benchwarden sandbox run`
    done = subprocess.run(
        [sys.executable, "-c", "from benchwarden.cli.sandbox_cmd import sandbox_run; print('ok')"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.strip() == "ok"
