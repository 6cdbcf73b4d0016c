"""The report's sections, as plug-ins.

A section says which kind of run content it is for (``generic`` sections appear in
every report; ``agentic``, ``coding``, ``safety``, ``writing``... only when the run
has a suite of that kind) and builds an HTML fragment from the :class:`ReportContext`,
or ``None`` when it has nothing to show. A new suite kind adds a module here that calls
``register``; no other section changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchwarden.bench.report.context import ReportContext

Builder = Callable[[ReportContext], str | None]


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # anchor in the page; unique
    title: str
    kind: str  # "generic" or a suite kind
    order: int  # place in the page, lowest first
    build: Builder


_REGISTRY: dict[str, Section] = {}


def register(section: Section) -> Section:
    if section.key in _REGISTRY:
        raise ValueError(f"report section {section.key!r} is registered twice")
    _REGISTRY[section.key] = section
    return section


def section(
    key: str, title: str, *, kind: str = "generic", order: int = 50
) -> Callable[[Builder], Builder]:
    """Decorator form of ``register``."""

    def wrap(build: Builder) -> Builder:
        register(Section(key, title, kind, order, build))
        return build

    return wrap


def sections_for(ctx: ReportContext) -> list[Section]:
    _load_builtin()
    present = set(ctx.kinds.values())
    chosen = [s for s in _REGISTRY.values() if s.kind == "generic" or s.kind in present]
    return sorted(chosen, key=lambda s: (s.order, s.key))


def _load_builtin() -> None:
    # Imported for their ``register`` calls.
    from benchwarden.bench.report.sections import (  # noqa: F401
        agentic,
        coding,
        costs,
        provenance,
        safety,
        summary,
        writing,
    )
