"""Java exercises: Debian's ``javac`` and JUnit 5 console launcher, no Gradle.

Every exercise's ``build.gradle`` names JUnit Jupiter and AssertJ; ``rest-api`` adds
org.json and ``hangman`` RxJava 2. Maven Central cannot be reached here, so the jars
come from Debian's packages (see :data:`JARS`), with the small adapters of
:mod:`.java_adapters` where Debian's versions differ.

The JDK is found on the host: ``/usr/bin/javac`` is an ``/etc/alternatives`` link and
the sandbox has no ``/etc``, so the JDK's own ``bin`` goes first on ``PATH``, and the
``/etc/java-*`` folder its configuration links into is bound read-only.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from benchwarden.bench.agentic.toolchains.base import Toolchain
from benchwarden.bench.agentic.toolchains.java_adapters import COMPAT, COMPAT_DIR, adapter_lines
from benchwarden.bench.sandbox.shell import WORKSPACE_LIMITS, ShellEnvironment

SHARE = "/usr/share/java"

JARS: dict[str, str] = {
    "junit-platform-console-standalone.jar": "junit5",
    "junit-jupiter-api.jar": "junit5",
    "junit-jupiter-params.jar": "junit5",
    "apiguardian-api.jar": "libapiguardian-java",
    "opentest4j.jar": "libopentest4j-java",
    "assertj-core.jar": "libassertj-core-java",
    "com.android.json.jar": "libandroid-json-java",
    "rxjava.jar": "librx-java",
    # RxJava 3 needs it, and Debian's librx-java does not depend on it.
    "reactive-streams.jar": "libreactive-streams-java",
}
"""The jars the exercises need, under /usr/share/java, and the package of each."""

COMPILE_FAILED = "javac: compilation failed"
"""Printed by the test script when javac fails (no test ran)."""

# A line holding only @Disabled or @Disabled("..."): Exercism's way to skip a test.
_DISABLED = re.compile(r"^[ \t]*@Disabled(?:[ \t]*\([^)\n]*\))?[ \t]*\n", re.MULTILINE)

# Small, fast JVMs (the tests are short): no perf-data file, one GC thread, the client
# compiler, bounded reservations so that the sandbox's address-space limit is never
# what fails.
JVM_FLAGS = (
    "-XX:-UsePerfData",
    "-Xmx1g",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:CompressedClassSpaceSize=128m",
    "-XX:ReservedCodeCacheSize=64m",
)

# bank-account's tests start 1,000 threads at once: a process limit of 256 (threads
# count) would fail them.
LIMITS = replace(WORKSPACE_LIMITS, max_processes=2048)


# Packages of the libraries and adapters: a class of the workspace declared in one of
# them would be compiled ahead of the jar (an agent could swap AssertJ for a no-op).
_RESERVED = (
    r"^[[:space:]]*package[[:space:]]+(org\.(junit|assertj|opentest4j|apiguardian|json"
    r"|reactivestreams)|io\.reactivex|benchwarden)[.;[:space:]]"
)


def enable_all_tests(text: str) -> str:
    """Pure: the test class without its ``@Disabled`` lines (the import may stay)."""
    return _DISABLED.sub("", text)


def test_script(jvm_flags: tuple[str, ...] = JVM_FLAGS) -> str:
    """Pure: compile ``src/main/java`` and ``src/test/java`` in /tmp, run every test.

    The sources are copied to /tmp (the workspace is never written) and compiled there
    under the same relative paths, so compiler messages name the real files.
    """
    libs = ":".join(f"{SHARE}/{jar}" for jar in JARS)
    javac_flags = " ".join(f"-J{flag}" for flag in jvm_flags)
    return "\n".join(
        (
            "rm -rf /tmp/build && mkdir -p /tmp/build/classes",
            "for d in src/main/java src/test/java; do",
            '  [ -d "$d" ] && mkdir -p "/tmp/build/$d" && cp -R "$d/." "/tmp/build/$d/"',
            "done",
            "cd /tmp/build && find src -name '*.java' -type f > sources.txt",
            f"if grep -rlE '{_RESERVED}' src; then",
            '  echo "these files declare a package of the test libraries"',
            f'  echo "{COMPILE_FAILED}"; exit 1',
            "fi",
            *adapter_lines(),
            f"javac {javac_flags} -proc:none -encoding UTF-8 -nowarn -d classes -cp {libs}"
            f' @sources.txt 2>&1 || {{ echo "{COMPILE_FAILED}"; exit 1; }}',
            f"exec java {' '.join(jvm_flags)} -cp classes:{libs}"
            " org.junit.platform.console.ConsoleLauncher --disable-banner"
            " --disable-ansi-colors --details=tree --fail-if-no-tests"
            " --scan-classpath classes 2>&1",
        )
    )


def jdk_bin() -> str | None:
    """The host JDK's ``bin`` under /usr (Debian's default-java first), or None."""
    default = Path("/usr/lib/jvm/default-java/bin")
    if (default / "javac").is_file():
        return str(default)
    javac = shutil.which("javac", path="/usr/bin:/bin")
    if javac is None:
        return None
    real = Path(os.path.realpath(javac)).parent
    return str(real) if real.parts[:2] == ("/", "usr") else None


def etc_dirs(java_home: Path) -> tuple[str, ...]:
    """The ``/etc`` folders a Debian JDK's configuration links point into."""
    found: set[str] = set()
    links = [java_home / "lib" / "jvm.cfg"]
    for root, _dirs, names in os.walk(java_home / "conf"):
        links += [Path(root) / name for name in names]
    for link in links:
        if not link.is_symlink():
            continue
        target = link.readlink()
        if target.is_absolute() and target.parts[:2] == ("/", "etc") and len(target.parts) > 2:
            folder = Path(*target.parts[:3])
            if folder.is_dir():
                found.add(str(folder))
    return tuple(sorted(found))


@dataclass(frozen=True, slots=True)
class JavaToolchain(Toolchain):
    """javac and the JUnit console launcher, with Debian's jars."""

    def extra_unavailable(self) -> str | None:
        if jdk_bin() is None:
            return (
                "javac is not a JDK under /usr (Debian: apt-get install default-jdk-headless; "
                "`bash scripts/system-deps.sh test` installs it)"
            )
        missing = sorted({pkg for jar, pkg in JARS.items() if not Path(SHARE, jar).is_file()})
        if missing:
            return (
                f"missing Java libraries in {SHARE} (Debian: apt-get install "
                f"{' '.join(missing)}; `bash scripts/system-deps.sh test` installs them)"
            )
        return None

    def prepare_tests(self, path: str, text: str) -> str:
        return enable_all_tests(text) if path.endswith(".java") else text


def java_toolchain() -> JavaToolchain:
    """The toolchain over the host's JDK (found now; see :func:`jdk_bin`)."""
    bin_dir = jdk_bin()
    binds: tuple[tuple[str, str], ...] = ((str(COMPAT_DIR), COMPAT),)
    env: dict[str, str] = {}
    if bin_dir is not None:
        home = Path(bin_dir).parent
        binds += tuple((d, d) for d in etc_dirs(Path(os.path.realpath(home))))
        env["JAVA_HOME"] = str(home)
    return JavaToolchain(
        language="java",
        test_script=test_script(),
        requires=("javac", "java"),
        packages=("default-jdk-headless", *sorted(set(JARS.values()))),
        environment=ShellEnvironment(
            env=env, ro_binds=binds, path_prefix=(bin_dir,) if bin_dir else ()
        ),
        limits=LIMITS,
        compile_markers=(COMPILE_FAILED,),
        # The launcher's closing summary: a solution that ends the JVM early (exit 0
        # from inside a test) never prints it.
        passed_pattern=r"^\[\s+0 tests failed\s+\]$",
    )


JAVA = java_toolchain()
