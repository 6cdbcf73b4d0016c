"""Suite names to suites: the built-in ones, or a suite file given by path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from benchwarden.bench.agentic.trajectory import attempt_limits
from benchwarden.bench.suite import Suite
from benchwarden.bench.suites.coding import coding_suites
from benchwarden.bench.suites.polyglot import NAME as POLYGLOT
from benchwarden.bench.suites.polyglot import polyglot_suite
from benchwarden.bench.suites.safety import OVER_REFUSAL, SAFETY
from benchwarden.bench.suites.smoke import SMOKE
from benchwarden.bench.suites.writing import WRITING

BUILTIN: dict[str, Suite] = {
    s.name: s for s in [SMOKE, *coding_suites(), SAFETY, OVER_REFUSAL, WRITING, polyglot_suite()]
}
AGENTIC = frozenset({POLYGLOT})
"""Suites that take ``--agent`` and ``--language``."""
SUITE_FILE_SUFFIXES = (".yaml", ".yml", ".toml")


class UnknownSuite(ValueError):
    pass


def get_suite(
    name: str,
    *,
    agent: str | None = None,
    languages: Sequence[str] = (),
    limits: Mapping[str, float] | None = None,
    runs_here: bool = True,
) -> Suite:
    """A built-in suite by name, or a suite file (YAML/TOML) by path. Agentic suites
    take the protocol (``edit`` by default), the languages to run and attempt limits;
    ``runs_here`` False: the caller only plans (a cluster's driver)."""
    if name == POLYGLOT:
        return polyglot_suite(
            agent or "edit", languages, attempt_limits(limits or {}), runs_here=runs_here
        )
    if name in BUILTIN:
        return BUILTIN[name]
    if name.endswith(SUITE_FILE_SUFFIXES):
        from benchwarden.bench.suite_files import load_suite_file

        return load_suite_file(Path(name))
    known = ", ".join(sorted(BUILTIN))
    raise UnknownSuite(
        f"unknown suite {name!r}: use one of {known}, or the path of a suite file "
        "(.yaml/.toml; see `benchwarden suites --help`)"
    )
