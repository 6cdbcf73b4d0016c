"""Hostile shell commands inside a real agentic workspace: all contained.

Every command runs for real under bubblewrap through :class:`Workspace` (a real Python
exercise of the polyglot tree, its reference solution in place). The host side sets up
what the commands attack (a TCP listener on loopback, a secret in this process's
environment, a secret file and folder in a host temp dir) and checks afterwards, on the
host, that nothing reached it, that nothing was written outside the workspace, that no
sandboxed process is left, and that the same workspace (or a new one) still works.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchwarden.bench.agentic.exercises import Exercise, load_exercises
from benchwarden.bench.agentic.toolchains import TOOLCHAINS
from benchwarden.bench.agentic.workspace import Workspace
from benchwarden.bench.sandbox import SandboxLimits
from benchwarden.bench.sandbox import workspace_files as files
from benchwarden.bench.sandbox.shell import WORKSPACE_LIMITS, run_in_workspace

PYTHON = TOOLCHAINS["python"]
QUICK = SandboxLimits(cpu_seconds=2, wall_seconds=15, max_processes=64, max_open_files=256)
EXERCISE = "bowling"


@dataclass
class Host:
    marker: str
    secret: str
    tcp: socket.socket
    secret_dir: Path
    secret_file: Path


@pytest.fixture(scope="module")
def exercise() -> Exercise:
    return next(e for e in load_exercises(("python",)) if e.name == EXERCISE)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    marker = f"bwmark{uuid.uuid4().hex[:12]}"
    secret = f"secret-{uuid.uuid4().hex}"
    tcp = socket.create_server(("127.0.0.1", 0))
    tcp.setblocking(False)
    secret_dir = tmp_path_factory.mktemp("host-secrets")
    secret_file = secret_dir / "secret.txt"
    secret_file.write_text(secret)
    try:
        yield Host(marker, secret, tcp, secret_dir, secret_file)
    finally:
        tcp.close()


@pytest.fixture
def workspace(exercise: Exercise, host: Host) -> Iterator[Workspace]:
    """A workspace holding the reference solution; closed and checked gone afterwards."""
    ws = Workspace(exercise, PYTHON, exercise.reference_files())
    try:
        yield ws
    finally:
        ws.close()
    assert not Path(ws.root).exists()
    assert _wait_no_strays(ws.uid, host.marker) == []


def _carries_on(ws: Workspace, *, tests_pass: bool = True) -> None:
    """After an attack the same workspace still runs commands (and the tests)."""
    after = ws.run("echo alive", limits=QUICK)
    assert (after.verdict, after.stdout) == ("ok", "alive\n"), after
    if tests_pass:
        run = ws.run_tests()
        assert run.passed, run.output[-800:]


def _strays(uid: int | None, marker: str | None) -> list[str]:
    """Host processes left by the workspace: its uid (as root) or the marker in argv."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue
        puid = next(int(x.split()[1]) for x in status.splitlines() if x.startswith("Uid:"))
        if (marker is not None and marker.encode() in cmdline) or puid == uid:
            found.append(f"{entry.name}: uid {puid} {cmdline!r}")
    return found


def _bomb_processes(uid: int | None, marker: str) -> list[str]:
    """As root, every process of the attempt's uid (all count against its limit);
    otherwise the bomb's own Pythons (the launcher's argv holds the marker too)."""
    if uid is not None:
        return _strays(uid, None)
    return [p for p in _strays(None, marker) if "b'python3\\x00" in p]


def _wait_no_strays(uid: int | None, marker: str, seconds: float = 5.0) -> list[str]:
    # The namespace's teardown is the kernel's: give it a moment on a loaded machine.
    deadline = time.monotonic() + seconds
    while (found := _strays(uid, marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


# --- network ------------------------------------------------------------------------


def test_network_reaches_nothing(workspace: Workspace, host: Host) -> None:
    port = host.tcp.getsockname()[1]
    script = (
        "python3 -S -c '\n"
        "import socket\n"
        'for h in ("127.0.0.1", "localhost", "::1", "10.0.2.2", "1.1.1.1"):\n'
        "    try:\n"
        f"        socket.create_connection((h, {port}), timeout=2)\n"
        '        print("CONNECTED", h)\n'
        "    except OSError:\n"
        '        print("blocked", h)\n'
        'print("interfaces", [n for _, n in socket.if_nameindex()])\n'
        "'"
    )
    result = workspace.run(script, limits=QUICK)
    assert result.verdict == "ok", result
    assert "CONNECTED" not in result.stdout
    assert result.stdout.count("blocked") == 5
    assert "interfaces ['lo']" in result.stdout
    with pytest.raises(BlockingIOError):  # nothing ever arrived at the host's listener
        host.tcp.accept()
    _carries_on(workspace)


# --- processes ----------------------------------------------------------------------


def test_fork_bomb_is_held_by_the_process_limit(
    workspace: Workspace, exercise: Exercise, host: Host
) -> None:
    limit = 24
    limits = SandboxLimits(cpu_seconds=4, wall_seconds=4, max_processes=limit)
    bomb = (
        "python3 -S -c 'import os\nwhile True:\n    try:\n        os.fork()\n"
        f"    except OSError:\n        pass\n' {host.marker}"
    )
    outcome: dict[str, object] = {}
    runner = threading.Thread(target=lambda: outcome.update(r=workspace.run(bomb, limits=limits)))
    runner.start()
    peak, slowest = 0, 0.0
    while runner.is_alive():
        peak = max(peak, len(_bomb_processes(workspace.uid, host.marker)))
        start = time.monotonic()
        subprocess.run(["/bin/true"], check=True)  # the host still starts programs
        slowest = max(slowest, time.monotonic() - start)
        time.sleep(0.05)
    runner.join()
    result = outcome["r"]
    assert getattr(result, "verdict", None) in ("timeout", "killed"), result
    # The bomb really ran, and never got past the limit.
    assert limit // 2 <= peak <= limit, peak
    assert slowest < 5.0, slowest  # a frozen machine would take far longer
    assert _wait_no_strays(workspace.uid, host.marker) == []
    _carries_on(workspace)
    with Workspace(exercise, PYTHON, exercise.reference_files()) as fresh:
        assert fresh.run_tests().passed


def test_background_processes_die_with_the_command(workspace: Workspace, host: Host) -> None:
    script = (
        f"python3 -S -c 'import time; time.sleep(3600)' {host.marker} &\n"
        f"(setsid python3 -S -c 'import time; time.sleep(3600)' {host.marker} &)\n"
        "sleep 0.3; echo left"
    )
    result = workspace.run(script, limits=QUICK)
    assert (result.verdict, result.stdout) == ("ok", "left\n"), result
    assert _wait_no_strays(workspace.uid, host.marker) == []
    _carries_on(workspace)


def test_infinite_loop_hits_the_cpu_limit(workspace: Workspace) -> None:
    limits = SandboxLimits(cpu_seconds=1, wall_seconds=30)
    result = workspace.run("while :; do :; done", limits=limits)
    assert result.verdict == "timeout", result
    assert 0.7 <= result.cpu_seconds <= 2.5 and result.wall_seconds < 30
    _carries_on(workspace)


def test_sleeping_hits_the_wall_limit(workspace: Workspace) -> None:
    limits = SandboxLimits(cpu_seconds=5, wall_seconds=2)
    result = workspace.run("sleep 3600", limits=limits)
    assert result.verdict == "timeout", result
    assert result.cpu_seconds < 0.5 and 1.9 <= result.wall_seconds < 8
    _carries_on(workspace)


def test_huge_output_is_capped(workspace: Workspace) -> None:
    small = SandboxLimits(cpu_seconds=5, max_output_bytes=100_000)
    result = workspace.run("yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", limits=small)
    assert result.verdict == "output_limit", result.verdict
    assert len(result.stdout.encode()) + len(result.stderr.encode()) <= 100_000
    # The toolchain's own limits cap too (stderr counts with stdout).
    result = workspace.run("yes yyyyyyyyyyyyyyyyyyyyyyyyy >&2")
    assert result.verdict == "output_limit", result.verdict
    assert len(result.stdout) + len(result.stderr) <= WORKSPACE_LIMITS.max_output_bytes
    _carries_on(workspace)


def test_one_huge_file_is_stopped_by_the_file_size_limit(workspace: Workspace) -> None:
    limits = SandboxLimits(cpu_seconds=10, wall_seconds=30, max_output_bytes=1_000)
    result = workspace.run("head -c 200000000 /dev/zero > big.bin", limits=limits)
    assert result.verdict == "output_limit", result
    size = os.lstat(os.path.join(workspace.root, "big.bin")).st_size
    assert size <= limits.max_output_bytes * 64 + (1 << 26)
    _carries_on(workspace)


# --- the host's files and environment ------------------------------------------------


def test_nothing_is_written_outside_the_workspace(workspace: Workspace, host: Host) -> None:
    m = host.marker
    outside = Path(workspace.root).parent
    targets = [
        f"/usr/{m}",
        f"/etc/{m}",
        f"/{m}",
        f"/tmp/{m}",
        f"/var/tmp/{m}",
        f"/root/{m}",
        f"/dev/shm/{m}",
        f"/workspace/../{m}",
        f"../{m}",
        f"../../{m}",
        f"{workspace.root}/../{m}",
        f"rootlink/etc/{m}",
        f"rootlink/tmp/{m}",
    ]
    script = "ln -s / rootlink\n" + "".join(
        f"(echo x > '{t}') 2>/dev/null && echo 'wrote {t}'\n" for t in targets
    )
    script += f"mkdir -p ../{m}dir /usr/{m}dir 2>/dev/null; echo done"
    result = workspace.run(script, limits=QUICK)
    assert result.verdict == "ok", result
    assert result.stdout.splitlines()[-1] == "done"
    # Inside, only the sandbox's own /tmp tmpfs takes writes ...
    assert set(result.stdout.splitlines()[:-1]) <= {f"wrote /tmp/{m}", f"wrote rootlink/tmp/{m}"}
    assert f"wrote /tmp/{m}" in result.stdout
    # ... and on the host nothing appeared anywhere.
    host_paths = [
        Path("/usr") / m,
        Path("/etc") / m,
        Path("/") / m,
        Path("/tmp") / m,
        Path("/var/tmp") / m,
        Path("/root") / m,
        Path("/dev/shm") / m,
        outside / m,
        outside.parent / m,
        outside / f"{m}dir",
        Path("/usr") / f"{m}dir",
    ]
    assert [p for p in host_paths if os.path.lexists(p)] == []
    # The command's /tmp is its own: the next command starts with an empty one.
    result = workspace.run(f"ls /tmp/{m} 2>/dev/null || echo gone", limits=QUICK)
    assert result.stdout == "gone\n"
    _carries_on(workspace)


def test_host_environment_is_invisible(
    workspace: Workspace, host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCHWARDEN_TEST_SECRET", host.secret)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-" + host.secret)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-" + host.secret)
    script = (
        "env; set\n"
        "for p in /proc/self/environ /proc/$$/environ /proc/$PPID/environ /proc/1/environ; do\n"
        "  tr '\\0' '\\n' < $p 2>/dev/null\n"
        "done\n"
        "echo checked"
    )
    result = workspace.run(script, limits=QUICK)
    assert result.verdict == "ok", result
    assert result.stdout.splitlines()[-1] == "checked"
    seen = result.stdout + result.stderr
    assert host.secret not in seen
    assert "sk-test-" not in seen and "BENCHWARDEN_TEST_SECRET" not in seen
    assert "BENCHWARDEN_HOME" not in seen and "VIRTUAL_ENV" not in seen
    _carries_on(workspace)


def test_host_files_are_invisible(workspace: Workspace, host: Host) -> None:
    readme = Path(__file__).resolve().parents[3] / "README.md"
    assert readme.is_file()
    script = (
        f"cat '{host.secret_file}' 2>/dev/null\n"
        f"ls -la '{host.secret_dir}' 2>/dev/null\n"
        f"cat '{readme}' 2>/dev/null | head -c 100\n"
        f"ls '{workspace.root}' 2>/dev/null\n"
        "ls /home /work /etc /root/.ssh /root/.benchwarden /var 2>/dev/null\n"
        "cat /etc/passwd /etc/shadow /root/.bashrc 2>/dev/null\n"
        f"ls '{os.environ['BENCHWARDEN_HOME']}' 2>/dev/null\n"
        "echo checked"
    )
    result = workspace.run(script, limits=QUICK)
    assert result.verdict == "ok", result
    assert result.stdout == "checked\n", result.stdout[-500:]
    _carries_on(workspace)


def test_host_side_reads_never_follow_links(workspace: Workspace, host: Host) -> None:
    """Links left in the workspace point at a host secret: the host never reads through."""
    solution = next(iter(workspace.exercise.solution))
    test_file = next(iter(workspace.exercise.tests))
    script = (
        f"ln -s '{host.secret_file}' leak.txt\n"
        f"ln -s '{host.secret_dir}' leakdir\n"
        f"rm -f {solution} && ln -s '{host.secret_file}' {solution}\n"
        f"rm -f {test_file} && ln -s '{host.secret_file}' {test_file}\n"
        "mkfifo pipe.py\n"
        "echo made"
    )
    result = workspace.run(script, limits=QUICK)
    assert (result.verdict, result.stdout) == ("ok", "made\n"), result
    assert os.path.islink(os.path.join(workspace.root, test_file))

    out: dict[str, object] = {}

    def host_side() -> None:  # a fifo must not block the host: run with a deadline
        out["diff"] = workspace.solution_diff()
        out["reads"] = [
            workspace.read(p)
            for p in ("leak.txt", "leakdir/secret.txt", solution, test_file, "pipe.py")
        ]
        out["modified"] = workspace.tests_modified()
        out["restored"] = workspace.restore_tests()

    worker = threading.Thread(target=host_side, daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "a host-side read blocked on what the command left"
    assert host.secret not in str(out["diff"])
    assert out["reads"] == [None] * 5
    assert out["modified"] == [test_file] and out["restored"] == [test_file]
    # The restore replaced the link; it did not write through it.
    assert host.secret_file.read_text() == host.secret
    assert sorted(p.name for p in host.secret_dir.iterdir()) == ["secret.txt"]
    restored = os.path.join(workspace.root, test_file)
    assert stat.S_ISREG(os.lstat(restored).st_mode)
    assert workspace.read(test_file) == workspace.pristine_tests[test_file]
    assert workspace.tests_modified() == []
    # The solution is a link to nothing inside the sandbox: the restored tests fail it.
    assert workspace.run_tests().outcome in ("compile_error", "tests_failed")
    files.write_file(workspace.root, solution, workspace.exercise.reference[solution])
    _carries_on(workspace)


def test_links_in_place_of_test_folders_are_replaced(host: Host) -> None:
    """Tests in a sub-folder: a command swaps the folder for a link to a host folder."""
    exercise = Exercise(
        language="python",
        name="synthetic",
        instructions="Return 42.",
        solution={"lib/answer.py": "def answer():\n    return 0\n"},
        tests={
            "tests/__init__.py": "",
            "tests/answer_test.py": (
                "import unittest\nfrom lib.answer import answer\n\n\n"
                "class T(unittest.TestCase):\n"
                "    def test_answer(self):\n        self.assertEqual(answer(), 42)\n"
            ),
        },
        reference={"lib/answer.py": "def answer():\n    return 42\n"},
        support={"lib/__init__.py": ""},
    )
    with Workspace(exercise, PYTHON, exercise.reference_files()) as ws:
        assert ws.run_tests().passed
        cheat = (
            f"rm -rf tests lib && ln -s '{host.secret_dir}' tests && ln -s '{host.secret_dir}' lib"
        )
        assert ws.run(cheat, limits=QUICK).verdict == "ok"
        assert host.secret not in ws.solution_diff()
        assert ws.restore_tests() == ["tests/__init__.py", "tests/answer_test.py"]
        assert sorted(p.name for p in host.secret_dir.iterdir()) == ["secret.txt"]
        assert stat.S_ISDIR(os.lstat(os.path.join(ws.root, "tests")).st_mode)
        # lib/ is gone (a dangling link): the restored tests run, and fail.
        assert not ws.run_tests().passed
        ws.run("rm lib && mkdir lib && touch lib/__init__.py", limits=QUICK)
        files.write_file(ws.root, "lib/answer.py", exercise.reference["lib/answer.py"])
        assert ws.run_tests().passed


# --- state and lifetime --------------------------------------------------------------


def test_state_persists_between_commands(workspace: Workspace) -> None:
    first = workspace.run("mkdir -p notes && echo hello > notes/state.txt && id -u", limits=QUICK)
    assert first.verdict == "ok", first
    second = workspace.run("cat notes/state.txt && id -u && pwd", limits=QUICK)
    assert second.verdict == "ok", second
    lines = second.stdout.splitlines()
    assert lines[0] == "hello" and lines[2] == "/workspace"
    assert lines[1] == first.stdout.strip()  # the same uid for every command of an attempt
    if workspace.uid is not None:
        assert int(lines[1]) == workspace.uid and workspace.uid != 0
    assert workspace.read("notes/state.txt") == "hello\n"
    assert "notes/state.txt" in workspace.solution_diff()
    _carries_on(workspace)


def test_close_removes_everything_the_commands_left(
    exercise: Exercise, host: Host, tmp_path: Path
) -> None:
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "file").write_text("kept")
    ws = Workspace(exercise, PYTHON, exercise.reference_files())
    script = (
        "mkdir -p locked/deeper && echo x > locked/deeper/f && chmod 000 locked/deeper locked\n"
        "echo y > ro && chmod 444 ro\n"
        f"ln -s '{keep}' keeplink && mkfifo fifo && echo z > .hidden\n"
        "echo done"
    )
    assert ws.run(script, limits=QUICK).stdout == "done\n"
    root = Path(ws.root)
    ws.close()
    assert not os.path.lexists(root)
    assert (keep / "file").read_text() == "kept"  # the link was removed, not followed
    with pytest.raises(RuntimeError, match="closed"):
        ws.run("echo again")
    ws.close()  # twice is fine
    with Workspace(exercise, PYTHON, exercise.reference_files()) as fresh:
        assert fresh.run_tests().passed
    assert not os.path.lexists(fresh.root)


def test_a_tree_deeper_than_the_host_can_recurse(workspace: Workspace) -> None:
    """1100 nested folders (past Python's recursion limit, and past PATH_MAX in
    length), 2 MB at the bottom: the host still measures, lists, restores, diffs and
    removes the workspace."""
    script = (
        "python3 -S -c '\n"
        "import os\n"
        "for _ in range(1100):\n"
        '    os.mkdir("dddd")\n'
        '    os.chdir("dddd")\n'
        'open("bottom.bin", "wb").write(b"x" * (2 << 20))\n'
        'os.chmod(".", 0)\n'
        'print("deep")\n'
        "'\n"
        f"rm -f {next(iter(workspace.exercise.tests))}"
    )
    result = workspace.run(script, limits=QUICK)
    assert (result.verdict, result.stdout) == ("ok", "deep\n"), result
    before = workspace.root
    assert 2 << 20 <= files.disk_usage(before) < 64 << 20  # the bottom file counts
    assert not workspace.over_disk_limit()
    assert workspace.restore_tests() == list(workspace.pristine_tests)  # chowns the tree
    assert "+++ b/bowling.py" in workspace.solution_diff()  # the reference, as it started
    listed = list(files.walk_files(before))
    assert set(workspace.exercise.stub_files()) <= set(listed)
    _carries_on(workspace)
    workspace.close()
    assert not os.path.lexists(before)


def test_many_new_files_keep_the_diff_bounded(workspace: Workspace) -> None:
    script = (
        "mkdir junk && cd junk && i=0; while [ $i -lt 2000 ]; do "
        "printf '%0500d\\n' $i > f$i.txt; i=$((i+1)); done; echo made"
    )
    assert workspace.run(script, limits=QUICK).stdout == "made\n"
    diff = workspace.solution_diff()
    assert diff.endswith("[diff cut]\n") and len(diff) < 21_000
    _carries_on(workspace)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start as another user")
def test_removal_without_root_undoes_the_modes_a_command_set(tmp_path: Path) -> None:
    """Without root, the sandbox's files are this user's: a `chmod 000` folder, a
    read-only folder and a deep tree must not keep the workspace on disk."""
    python = "/usr/bin/python3"
    if not os.path.exists(python):
        pytest.skip("no /usr/bin/python3 to run as nobody")
    module = Path(files.__file__).resolve()
    code = (
        "import importlib.util, os, sys, tempfile\n"
        f"spec = importlib.util.spec_from_file_location('wf', {str(module)!r})\n"
        "wf = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(wf)\n"
        "root = wf.new_workspace({'a.py': 'x', 'sub/b.py': 'y'}, prefix='bw-nobody-')\n"
        "os.makedirs(root + '/locked/deeper')\n"
        "open(root + '/locked/deeper/f', 'w').write('x')\n"
        "os.chmod(root + '/locked/deeper', 0)\n"
        "os.chmod(root + '/locked', 0o500)\n"
        "os.chmod(root + '/sub', 0o100)\n"
        "os.chdir(root)\n"
        "for _ in range(1100):\n"
        "    os.mkdir('d')\n"
        "    os.chdir('d')\n"
        "os.chmod('.', 0)\n"
        "os.chdir('/')\n"
        "print(wf.disk_usage(root) > 0, sorted(wf.walk_files(root))[:2])\n"
        "wf.remove_workspace(root)\n"
        "print('left' if os.path.lexists(root) else 'gone', root)\n"
    )
    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", python, "-S", "-B"],
        input=code,
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
        check=False,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and len(lines) == 2, done.stderr[-2000:]
    assert lines[0] == "True ['a.py', 'locked/deeper/f']"
    verdict, root = lines[1].split()
    if verdict != "gone":
        files.remove_workspace(root)  # as root: whatever the modes
    assert verdict == "gone"


def test_root_must_name_the_attempt_uid(exercise: Exercise) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root chooses the uid")
    root = files.new_workspace(exercise.reference_files())
    try:
        with pytest.raises(ValueError, match="uid"):
            run_in_workspace(root, "id -u")
    finally:
        files.remove_workspace(root)
