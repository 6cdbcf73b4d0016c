"""Python exercises: the tests are ``unittest`` cases, run by Debian's ``python3``
with the standard library only (``-S``: no site-packages, as on a clean Python)."""

from __future__ import annotations

from benchwarden.bench.agentic.toolchains.base import Toolchain

PYTHON = Toolchain(
    language="python",
    test_script="python3 -S -B -m unittest discover -p '*_test.py' 2>&1",
    requires=("python3",),
    packages=("python3",),
    compile_markers=("SyntaxError", "IndentationError", "ImportError", "ModuleNotFoundError"),
)
