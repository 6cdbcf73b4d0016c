"""JavaScript exercises: Jest with Babel, as every exercise's ``package.json`` asks.

Debian's ``nodejs`` runs them; the test runner (jest, babel-jest, the Exercism Babel
preset, core-js) is installed once by ``make js-runner`` from
``toolchains/javascript/package-lock.json`` and never during an attempt (there is no
network there). Its ``node_modules`` is bound read-only at ``/node_modules``: Node
and Babel look for packages in every parent folder of ``/workspace``, so the
exercise's own ``babel.config.js`` finds its preset with nothing installed in the
workspace. ``$BENCHWARDEN_JS_RUNNER`` points elsewhere (an installed wheel has no
checkout beside it); the folder is read when the module is imported.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from benchwarden.bench.agentic.toolchains.base import Toolchain
from benchwarden.bench.sandbox.shell import WORKSPACE_LIMITS, ShellEnvironment

RUNNER_ENV = "BENCHWARDEN_JS_RUNNER"
"""Names the folder holding the runner's ``node_modules`` (default: the checkout's)."""

RUNNER_MOUNT = "/node_modules"

# The files whose absence means the runner is not (fully) installed.
_RUNNER_FILES = (
    "jest/bin/jest.js",
    "babel-jest/package.json",
    "@exercism/babel-preset-javascript/index.js",
    "core-js/package.json",
)

# Exercism skips every test but the first (``xtest``/``xit``/``xdescribe``) and two
# slow ones (``test.skip``, "up to you to test your solution locally"); the benchmark
# runs them all.
_SKIPPED = re.compile(r"(?<![\w$.])(?:x(test|it|describe)|(test|it|describe)\.skip)(?=\s*\()")

# The address-space limit is what bounds memory in the sandbox, and V8 reserves far more
# than it uses: about 0.5 GiB of address space per isolate (its code range), so each
# worker thread costs that much. parallel-letter-frequency starts 50 workers at once
# (about 28 GiB reserved, a few hundred MiB resident). The limit is raised for Node to
# what that needs; each isolate's heap stays bounded by V8 itself.
LIMITS = replace(WORKSPACE_LIMITS, memory_mb=40 * 1024)


TEST_TIMEOUT_MS = 60_000


def default_runner_dir() -> Path:
    """The checkout's ``toolchains/javascript`` (src/benchwarden/bench/agentic/toolchains/)."""
    return Path(__file__).resolve().parents[5] / "toolchains" / "javascript"


def runner_dir() -> Path:
    """Where the runner is installed: ``$BENCHWARDEN_JS_RUNNER`` or the checkout's folder."""
    configured = os.environ.get(RUNNER_ENV, "").strip()
    return Path(configured) if configured else default_runner_dir()


def enable_all_tests(text: str) -> str:
    """Pure: the spec file with every ``xtest``/``xit``/``xdescribe``/``*.skip`` enabled."""
    return _SKIPPED.sub(lambda m: m.group(1) or m.group(2), text)


@dataclass(frozen=True, slots=True)
class JavaScriptToolchain(Toolchain):
    """Jest from a runner folder bound read-only into the sandbox."""

    runner: str = ""  # the folder holding node_modules

    def extra_unavailable(self) -> str | None:
        modules = Path(self.runner) / "node_modules"
        missing = [f for f in _RUNNER_FILES if not (modules / f).is_file()]
        if missing:
            return (
                f"the JavaScript test runner is not installed in {modules} (missing "
                f"{', '.join(missing)}): run `make js-runner` in a benchwarden checkout "
                f"(npm ci of toolchains/javascript), or set {RUNNER_ENV} to a folder "
                "holding that package.json and its installed node_modules"
            )
        return None

    def prepare_tests(self, path: str, text: str) -> str:
        return enable_all_tests(text) if path.endswith(".spec.js") else text


def jest_config() -> str:
    """Pure: Jest's configuration, as JSON, fixed whatever the workspace holds.

    It is what every exercise's ``babel.config.js`` says (all are the same), given
    here so that an agent's ``babel.config.js``, ``jest.config.js``, Babel plugin or
    ``node_modules`` in the workspace cannot change how the tests are compiled or run.
    """
    babel = {
        "configFile": False,
        "babelrc": False,
        "presets": [f"{RUNNER_MOUNT}/@exercism/babel-preset-javascript"],
    }
    return json.dumps(
        {
            "rootDir": "/workspace",
            "transform": {r"\.[jt]sx?$": [f"{RUNNER_MOUNT}/babel-jest", babel]},
            # Packages come from the runner only (core-js, which the preset injects).
            "modulePathIgnorePatterns": ["^/workspace/node_modules/"],
            # Jest's 5 s per test is a wall clock: on a loaded machine, 50 worker threads
            # (parallel-letter-frequency) take longer. The sandbox's own CPU and wall
            # limits still bound the whole run.
            "testTimeout": TEST_TIMEOUT_MS,
        },
        separators=(",", ":"),
    )


def test_script() -> str:
    """Pure: run every spec of the workspace in one process (no cache: /tmp is new)."""
    return (
        f"node {RUNNER_MOUNT}/jest/bin/jest.js --ci --no-cache --no-watchman --runInBand"
        f" --config '{jest_config()}' 2>&1"
    )


def javascript_toolchain(runner: Path) -> JavaScriptToolchain:
    """The toolchain with its runner at ``runner`` (a folder holding node_modules)."""
    return JavaScriptToolchain(
        language="javascript",
        test_script=test_script(),
        requires=("node",),
        packages=("nodejs", "npm"),
        environment=ShellEnvironment(
            env={"NODE_ENV": "test", "NO_COLOR": "1"},
            ro_binds=((str(runner / "node_modules"), RUNNER_MOUNT),),
        ),
        limits=LIMITS,
        # Jest's "Test suite failed to run": the spec or the solution did not load
        # (a syntax error, a missing export or module), so no test ran.
        compile_markers=("Test suite failed to run",),
        # Jest's closing summary: a solution that calls process.exit(0) never prints it.
        passed_pattern=r"^Tests:\s+\d+ passed, \d+ total$",
        runner=str(runner),
    )


JAVASCRIPT = javascript_toolchain(runner_dir())
