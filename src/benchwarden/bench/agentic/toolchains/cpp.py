"""C++ exercises: the exercise's own ``CMakeLists.txt``, built with Debian's ``cmake``
and ``g++``, tested with the Catch (v2) bundled in every exercise.

The CMake file names the exercise after its folder (``clock/`` builds ``clock_test.cpp``
with ``clock.cpp``), while the sandbox always calls the workspace ``/workspace``: the
script links ``/tmp/<name>`` to it, ``<name>`` being the stem of the one
``*_test.cpp`` there (an attempt that adds another test file gets a build error, never
a say in which one is built). Building runs the tests (the CMake file adds a target
that runs the test binary), in ``/tmp`` (a fresh tmpfs per command), never in the
workspace: a build folder the attempt could write would let it plant a test binary for
the final run.

Exercism compiles only the first test unless ``EXERCISM_RUN_ALL_TESTS`` is defined; the
benchmark defines it, as Aider's does. Debug builds drop ``-g`` (``-O0`` only).
Two exercises (gigasecond, meetup) link Boost.Date_Time (``libboost-date-time-dev``).

bank-account's last test runs 1000 threads at once: the process limit allows them,
and the soft stack limit is 2 MiB while the tests build and run (glibc sizes a
thread's stack by it: 1000 threads of the usual 8 MiB would not fit the 4 GiB
address-space limit; g++ raises its own soft limit when it needs more).

Catch's ``main`` (``test/tests-main.cpp``) is about 80% of a build. When a prebuilt
one is installed (:func:`build_catch_main`, bound read-only), a compiler launcher puts
it in place of that one compilation, and only when the exercise's ``tests-main.cpp``
and ``catch.hpp`` are byte for byte the files it was built from, by the same ``g++``;
anything else is compiled as asked.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from benchwarden.bench.agentic.exercises import load_exercises
from benchwarden.bench.agentic.toolchains.base import Toolchain
from benchwarden.bench.sandbox import workspace_files as files
from benchwarden.bench.sandbox.shell import (
    WORKSPACE_LIMITS,
    ShellEnvironment,
    prepare_workspace,
    run_in_workspace,
    workspace_uid,
)

BOOST_DATE_TIME = "/usr/include/boost/date_time.hpp"

CATCH_ENV = "BENCHWARDEN_CPP_CATCH"
"""Names the folder holding the prebuilt Catch main (default: the checkout's)."""

CATCH_MOUNT = "/opt/benchwarden/catch"
"""Where that folder appears in the sandbox."""

_CATCH_FILES = ("catch.hpp", "tests-main.cpp", "tests-main.o", "compiler.txt", "launch")
_CATCH_SOURCES = ("test/catch.hpp", "test/tests-main.cpp")

# Stands in for `g++ ... -o OUT -c .../test/tests-main.cpp` (see the module docstring).
LAUNCHER = f"""\
#!/bin/sh
cache={CATCH_MOUNT}
src= out= dep= prev=
for arg in "$@"; do
    case $prev in
        -o) out=$arg ;;
        -c) src=$arg ;;
        -MF) dep=$arg ;;
    esac
    prev=$arg
done
case $src in
*/test/tests-main.cpp)
    dir=${{src%/tests-main.cpp}}
    case " $* " in *" -DCATCH"*) exec "$@" ;; esac
    if [ -n "$out" ] && cmp -s "$src" "$cache/tests-main.cpp" \\
        && cmp -s "$dir/catch.hpp" "$cache/catch.hpp" \\
        && [ "$("$1" --version 2>/dev/null | head -n 1)" = "$(cat "$cache/compiler.txt")" ]
    then
        cp "$cache/tests-main.o" "$out" || exit 1
        [ -z "$dep" ] || printf '%s: %s\\n' "$out" "$src" > "$dep"
        exit 0
    fi ;;
esac
exec "$@"
"""

_SCRIPT = """\
set -- *_test.cpp
if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then
    echo "error: expected exactly one *_test.cpp in /workspace, found: $*" >&2
    exit 2
fi
name=${{1%_test.cpp}}
ln -s /workspace "/tmp/$name" || exit 2
ulimit -S -s 2048
cmake -S "/tmp/$name" -B /tmp/build -G "Unix Makefiles" -DEXERCISM_RUN_ALL_TESTS=1 \\
    -DCMAKE_CXX_FLAGS_DEBUG=-O0{launcher} >/tmp/cmake.log 2>&1 || {{ cat /tmp/cmake.log; exit 2; }}
exec make -C /tmp/build --no-print-directory 2>&1
"""

# The g++ line that builds the prebuilt main: the flags of the exercises' Debug builds.
_BUILD_MAIN = (
    "g++ -std=c++17 -O0 -c test/tests-main.cpp -o tests-main.o"
    " && g++ --version | head -n 1 > compiler.txt"
)

_ENV = {"CXX": "g++", "CC": "gcc"}


def build_script(with_catch_main: bool) -> str:
    """The build-and-test script, using the prebuilt Catch main or not."""
    launcher = f" -DCMAKE_CXX_COMPILER_LAUNCHER={CATCH_MOUNT}/launch" if with_catch_main else ""
    return _SCRIPT.format(launcher=launcher)


def default_catch_dir() -> Path:
    """``$BENCHWARDEN_CPP_CATCH``, or the checkout's ``toolchains/cpp-catch``."""
    configured = os.environ.get(CATCH_ENV, "").strip()
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[5] / "toolchains" / "cpp-catch"


def catch_main_ready(folder: Path) -> bool:
    """Whether ``folder`` holds a complete prebuilt Catch main."""
    return all((folder / name).is_file() for name in _CATCH_FILES)


def build_catch_main(sources: dict[str, str], dest: Path) -> None:
    """Build Catch's main once, in the sandbox, into ``dest`` (replaced atomically).

    ``sources``: an exercise's ``test/catch.hpp`` and ``test/tests-main.cpp`` (every C++
    exercise bundles the same two files).
    """
    root = files.new_workspace({path: sources[path] for path in _CATCH_SOURCES})
    try:
        uid = workspace_uid()
        prepare_workspace(root, uid)
        result = run_in_workspace(
            root, _BUILD_MAIN, environment=ShellEnvironment(env=_ENV), uid=uid
        )
        built = files.read_file(root, "tests-main.o", limit=256 << 20)
        compiler = files.read_file(root, "compiler.txt")
        if result.verdict != "ok" or not built or not compiler:
            raise RuntimeError(
                f"building Catch's main failed ({result.verdict}): "
                f"{(result.stdout + result.stderr)[-2000:]}"
            )
    finally:
        files.remove_workspace(root)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".cpp-catch-", dir=dest.parent))
    content: dict[str, str | bytes] = {
        "catch.hpp": sources["test/catch.hpp"],
        "tests-main.cpp": sources["test/tests-main.cpp"],
        "tests-main.o": built,
        "compiler.txt": compiler,
        "launch": LAUNCHER,
    }
    for name, data in content.items():
        (staging / name).write_bytes(data.encode() if isinstance(data, str) else data)
    (staging / "launch").chmod(0o755)
    staging.chmod(0o755)
    if dest.exists():
        shutil.rmtree(dest)
    staging.rename(dest)


def install_catch_main(dest: Path | None = None) -> Path:
    """Build the prebuilt Catch main from the polyglot tree into ``dest`` (default:
    :func:`default_catch_dir`); toolchains made afterwards use it."""
    target = dest or default_catch_dir()
    exercise = load_exercises(("cpp",))[0]
    build_catch_main(exercise.support, target)
    return target


@dataclass(frozen=True, slots=True)
class CppToolchain(Toolchain):
    """CMake and g++, with Boost.Date_Time for the two date exercises."""

    boost_header: str = BOOST_DATE_TIME

    def extra_unavailable(self) -> str | None:
        if not Path(self.boost_header).is_file():
            return (
                f"missing Boost.Date_Time ({self.boost_header}; Debian: apt-get install "
                "libboost-date-time-dev; `bash scripts/system-deps.sh test` installs it)"
            )
        return None


def cpp_toolchain(catch_dir: Path | None = None) -> CppToolchain:
    """The toolchain; with ``catch_dir`` holding a prebuilt Catch main, it is used."""
    use_main = catch_dir is not None and catch_main_ready(catch_dir)
    binds = ((str(catch_dir), CATCH_MOUNT),) if use_main and catch_dir is not None else ()
    return CppToolchain(
        language="cpp",
        test_script=build_script(use_main),
        requires=("cmake", "g++", "make"),
        packages=("cmake", "g++", "make", "libboost-date-time-dev"),
        # Debian's `c++` and `cc` are links into /etc/alternatives, and the sandbox has
        # no /etc: name the compilers themselves.
        environment=ShellEnvironment(env=_ENV, ro_binds=binds),
        limits=replace(WORKSPACE_LIMITS, max_processes=1280),
        # g++'s `file:line:col: error:` (warnings are errors here: -Werror), the linker's
        # `undefined reference`, and a CMake file that does not configure: no test ran.
        compile_markers=(
            ": error: ",
            ": fatal error: ",
            "undefined reference to",
            "collect2: error",
            "CMake Error",
            "expected exactly one *_test.cpp",
        ),
        # Catch's own summary of a run with at least one test case.
        passed_pattern=r"^All tests passed \([0-9]+ assertions? in [1-9][0-9]* test cases?\)",
    )


CPP = cpp_toolchain(default_catch_dir())
"""With the prebuilt Catch main when one is installed where :func:`default_catch_dir` says."""
