"""Rust exercises: ``cargo test`` with Debian's ``cargo`` and ``rustc``, offline.

The sandbox sees ``/usr`` only, so it runs Debian's toolchain (``/usr/bin/cargo``),
never a rustup one under a home folder. There is no crates registry here: the few
exercises that name crates (``rand``, ``time``, ``anyhow``...) get Debian's
``librust-*-dev`` packages, which install the crates' sources under
``/usr/share/cargo/registry``, a directory source that a ``.cargo/config.toml`` in the
workspace puts in place of crates.io (``Cargo.lock`` is absent and made offline).

Build outputs go to ``/tmp`` (a fresh tmpfs per command), never to the workspace: a
``target/`` the attempt could write would let it plant a built test binary for the
final run. Exercism marks every test but the first ``#[ignore]``; the benchmark runs
them all (as Aider's does with ``--include-ignored``), so the markers are removed from
the test files too, and a model reading them sees what will run. Optional features
(``advanced``, ``io``, ``exponentials``) stay off, as in Aider's benchmark.
"""

# ruff: noqa: S108 - /tmp is the sandbox's own tmpfs, fresh for every command
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from benchwarden.bench.agentic.toolchains.base import Toolchain
from benchwarden.bench.sandbox.shell import ShellEnvironment

DEBIAN_REGISTRY = "/usr/share/cargo/registry"
"""Where Debian's ``librust-*-dev`` packages put crate sources."""

CRATES = {
    "anyhow": "librust-anyhow-dev",
    "rand": "librust-rand-dev",
    "time": "librust-time-dev",
    "thiserror": "librust-thiserror-dev",
}
"""The crates the exercises' ``Cargo.toml`` files name (grep, simple-cipher, gigasecond),
and the one more grep's reference solution uses, with the Debian packages that provide
them."""

KNOWN_ISSUES: dict[str, str] = {
    "alphametics": "reference fails: its .meta/Cargo-example.toml asks for itertools 0.5 "
    "(Debian bookworm packages 0.10)",
    "decimal": "reference fails: it asks for num-bigint 0.4.4 and num-traits 0.2.16 "
    "(Debian bookworm packages 0.4.3 and 0.2.15)",
    "pig-latin": "reference fails: it uses std::sync::LazyLock (Rust 1.80; Debian "
    "bookworm's rustc is 1.63) and regex 0.2 (Debian packages 1.7)",
    "poker": "reference fails: it uses the crate counter, which Debian does not package",
    "robot-name": "reference fails: it uses std::sync::LazyLock (Rust 1.80; Debian "
    "bookworm's rustc is 1.63) and rand 0.3 (Debian packages 0.8)",
}
"""Exercises that cannot meet the check (reference passes, stub fails) here, and why:
their reference solutions need crates or a compiler newer than Debian's (a model's
answer needs neither, so the exercises themselves still run)."""

CARGO_CONFIG = f"""\
# Written by benchwarden: crates come from Debian's packages, never from a network.
[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "{DEBIAN_REGISTRY}"

[net]
offline = true
"""

# A line holding only `#[ignore]` (or `#[ignore = "reason"]`).
_IGNORE = re.compile(r'^[ \t]*#\[ignore(?:\s*=\s*"[^"\n]*")?\][ \t]*\r?\n', re.MULTILINE)


def enable_all_tests(text: str) -> str:
    """Pure: the test file without its ``#[ignore]`` markers."""
    return _IGNORE.sub("", text)


@dataclass(frozen=True, slots=True)
class RustToolchain(Toolchain):
    """``cargo test`` against Debian's crate directory (``registry``)."""

    registry: str = DEBIAN_REGISTRY

    def extra_unavailable(self) -> str | None:
        missing = [package for crate, package in CRATES.items() if not self.has_crate(crate)]
        if missing:
            return (
                f"missing the Debian packages of crates the exercises use: {' '.join(missing)} "
                f"(not in {self.registry}; apt-get install {' '.join(missing)}, or "
                "`bash scripts/system-deps.sh test`)"
            )
        return None

    def has_crate(self, name: str) -> bool:
        """Whether the crate directory holds some version of ``name`` (``rand-0.8.5``)."""
        root = Path(self.registry)
        if not root.is_dir():
            return False
        version = re.compile(rf"{re.escape(name)}-[0-9][^/]*")
        return any(version.fullmatch(p.name) and p.is_dir() for p in root.iterdir())

    def prepare_tests(self, path: str, text: str) -> str:
        return enable_all_tests(text) if path.endswith(".rs") else text


RUST = RustToolchain(
    language="rust",
    test_script="cargo test --offline --quiet -- --include-ignored 2>&1",
    requires=("cargo", "rustc"),
    known_issues=KNOWN_ISSUES,
    packages=("cargo", "rustc", *CRATES.values()),
    environment=ShellEnvironment(
        env={
            "CARGO_HOME": "/tmp/cargo",
            "CARGO_TARGET_DIR": "/tmp/target",
            "CARGO_TERM_COLOR": "never",
            "CARGO_INCREMENTAL": "0",
            "RUST_BACKTRACE": "0",
            # rustc links with `cc`, which Debian makes a link into /etc/alternatives,
            # and the sandbox has no /etc: name the compiler itself.
            "RUSTFLAGS": "-C linker=gcc",
            "CC": "gcc",
        }
    ),
    # rustc's `error[E...]`, cargo's `could not compile`, and a dependency that the
    # local crate directory cannot provide: no test ran.
    compile_markers=(
        "error[E",
        "error: could not compile",
        "error: failed to select a version",
        "error: no matching package named",
        "error: failed to parse manifest",
        "error: failed to load manifest",
    ),
    setup_files={".cargo/config.toml": CARGO_CONFIG},
    # At least one test ran and the run ended well (a crate whose tests were all turned
    # off, `harness = false` or a test target gone, runs none: not a pass).
    passed_pattern=r"^test result: ok\. [1-9][0-9]* passed",
)
