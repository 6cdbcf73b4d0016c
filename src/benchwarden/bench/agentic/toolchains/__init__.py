"""One toolchain per language of the polyglot benchmark (see ``base.Toolchain``)."""

from __future__ import annotations

from benchwarden.bench.agentic.toolchains.base import OUTCOMES, Toolchain
from benchwarden.bench.agentic.toolchains.cpp import CPP
from benchwarden.bench.agentic.toolchains.go import GO
from benchwarden.bench.agentic.toolchains.java import JAVA
from benchwarden.bench.agentic.toolchains.javascript import JAVASCRIPT
from benchwarden.bench.agentic.toolchains.python import PYTHON
from benchwarden.bench.agentic.toolchains.rust import RUST

TOOLCHAINS: dict[str, Toolchain] = {
    t.language: t for t in (PYTHON, JAVASCRIPT, JAVA, GO, RUST, CPP)
}
"""The languages whose exercises can be tested, by name."""

__all__ = ["OUTCOMES", "TOOLCHAINS", "Toolchain"]
