"""Python exercises: the tests are ``unittest`` cases, run by Debian's ``python3``
with the standard library only (``-S``: no site-packages, as on a clean Python).

``-P`` keeps the workspace off ``sys.path`` while ``unittest`` itself is imported (a
workspace folder named ``unittest`` would otherwise replace the test runner);
``discover`` then adds it for the tests' own imports. A pass needs unittest's summary
(``Ran N tests`` with N > 0, then ``OK``), not just exit code 0."""

from __future__ import annotations

from benchwarden.bench.agentic.toolchains.base import Toolchain

PYTHON = Toolchain(
    language="python",
    test_script="python3 -P -S -B -m unittest discover -s . -t . -p '*_test.py' 2>&1",
    requires=("python3",),
    packages=("python3",),
    compile_markers=("SyntaxError", "IndentationError", "ImportError", "ModuleNotFoundError"),
    passed_pattern=r"^Ran [1-9][0-9]* tests? in .*\n+OK\b",
)
