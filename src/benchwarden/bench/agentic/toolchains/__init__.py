"""One toolchain per language of the polyglot benchmark (see ``base.Toolchain``)."""

from __future__ import annotations

from benchwarden.bench.agentic.toolchains.base import OUTCOMES, Toolchain
from benchwarden.bench.agentic.toolchains.java import JAVA
from benchwarden.bench.agentic.toolchains.javascript import JAVASCRIPT
from benchwarden.bench.agentic.toolchains.python import PYTHON

TOOLCHAINS: dict[str, Toolchain] = {t.language: t for t in (PYTHON, JAVASCRIPT, JAVA)}
"""The languages whose exercises can be tested, by name."""

__all__ = ["OUTCOMES", "TOOLCHAINS", "Toolchain"]
