"""A cluster's driver plans a polyglot run without the toolchains: the nodes that take
the attempts need them (they refuse cleanly when they lack one), the driver does not."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from benchwarden.bench.agentic import toolchains as registry
from benchwarden.bench.registry import get_suite
from benchwarden.bench.suites.polyglot import PolyglotUnavailable


@pytest.fixture
def python_missing_here() -> Iterator[None]:
    current = registry.TOOLCHAINS["python"]
    registry.TOOLCHAINS["python"] = dataclasses.replace(
        current, requires=("/nonexistent/python3",), packages=("python3",)
    )
    try:
        yield
    finally:
        registry.TOOLCHAINS["python"] = current


def test_a_driver_plans_languages_it_cannot_run(python_missing_here: None) -> None:
    with pytest.raises(PolyglotUnavailable, match="cannot run here: python"):
        get_suite("polyglot", languages=["python"]).load()
    planned = get_suite("polyglot", languages=["python"], runs_here=False).load()
    assert len(planned) == 34 and all(i.metadata["language"] == "python" for i in planned)
    with pytest.raises(PolyglotUnavailable, match="unknown language cobol"):
        get_suite("polyglot", languages=["cobol"], runs_here=False).load()


def test_without_languages_a_driver_plans_what_runs_here(python_missing_here: None) -> None:
    planned = get_suite("polyglot", languages=[], runs_here=False).load()
    assert planned and "python" not in {i.metadata["language"] for i in planned}
