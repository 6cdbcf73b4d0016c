"""``benchwarden suites``: the suites and their item counts, and ``suites check polyglot``:
every reference solution must pass and every untouched stub must fail, in the sandbox."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from benchwarden.bench.registry import BUILTIN, UnknownSuite, get_suite
from benchwarden.cli.common import console, err_console, fail
from benchwarden.cli.listing import Column, Section, emit
from benchwarden.cli.tables import add_columns, results_table


def suites(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="Suite files (YAML/TOML) to check and list too; or `check polyglot` to run "
            "every reference solution and stub of the agentic suite in the sandbox; or "
            "`prepare polyglot` to build what makes its runs faster (C++: Catch's main, "
            "once).",
            show_default=False,
        ),
    ] = None,
    language: Annotated[
        list[str] | None,
        typer.Option("--language", "-l", help="check: only this language (repeatable)."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="check: exercises at once.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the suites with their item counts (`suites check polyglot`: validity first).

    Add your own with no code: a YAML or TOML file naming the suite, its items file
    (JSONL or CSV with columns id, input, target, and optionally prompt and stop) and
    its scorer (exact, includes or regex); pass the file's path to --suite.
    """
    args = args or []
    if args and args[0] == "check":
        if len(args) != 2:
            fail("usage: benchwarden suites check polyglot [--language L] [--json]")
        _check(args[1], language or [], workers, as_json)
        return
    if args and args[0] == "prepare":
        if len(args) != 2:
            fail("usage: benchwarden suites prepare polyglot")
        _prepare(args[1])
        return
    _list([Path(a) for a in args], as_json)


def _prepare(name: str) -> None:
    """Build the prebuilt Catch main the C++ toolchain uses (80% of each C++ build)."""
    import time

    from benchwarden.bench.agentic.check import language_reason
    from benchwarden.bench.agentic.toolchains.cpp import install_catch_main
    from benchwarden.bench.data import DataError
    from benchwarden.bench.sandbox.shell import WorkspaceUnavailable, require_isolation
    from benchwarden.bench.suites.polyglot import NAME as POLYGLOT

    if name != POLYGLOT:
        fail(f"`suites prepare` prepares the agentic suite {POLYGLOT!r}, not {name!r}")
    reason = language_reason("cpp")
    if reason is not None:
        console.print(f"nothing to prepare: C++ cannot run here ({reason})")
        return
    start = time.monotonic()
    try:
        require_isolation()
        folder = install_catch_main()
    except (WorkspaceUnavailable, DataError, RuntimeError, OSError) as exc:
        fail(f"could not build Catch's main for the C++ exercises: {exc}")
    console.print(
        f"C++: Catch's main built into {folder} in {time.monotonic() - start:.0f} s; "
        "C++ attempts started from now on link it instead of compiling it"
    )


def _polyglot_languages() -> list[dict[str, object]]:
    from benchwarden.bench.agentic.exercises import ExerciseError, load_exercises
    from benchwarden.bench.data import DataError
    from benchwarden.bench.suites.polyglot import runnable_languages

    rows: list[dict[str, object]] = []
    for lang, reason in runnable_languages().items():
        try:
            count: int | None = len(load_exercises((lang,)))
        except (DataError, ExerciseError):
            count = None
        rows.append(
            {
                "language": lang,
                "exercises": count,
                "runnable": reason is None,
                "reason": reason or "",
            }
        )
    return rows


def _count(n: object) -> str:
    return "—" if n is None else str(n)


_SUITE_COLUMNS = (
    Column("suite", kind="id"),
    Column("items", kind="number", show=_count),
    Column("scorer", kind="id"),
    Column("description"),
)
_LANGUAGE_COLUMNS = (
    Column("language", kind="id"),
    Column("exercises", kind="number", show=_count),
    Column("runnable", "runs here", kind="id"),
    Column("reason", "why not"),
)


def _list(files: list[Path], as_json: bool) -> None:
    """The suites (and the polyglot languages), as every list command prints: see
    cli/listing.py (table, plain rows in a pipe, --json as before)."""
    from benchwarden.bench.data import DataError
    from benchwarden.bench.suites.polyglot import NAME as POLYGLOT

    rows: list[dict[str, object]] = []
    missing: list[str] = []
    languages: list[dict[str, object]] = []
    for suite in BUILTIN.values():
        if suite.name == POLYGLOT:
            languages = _polyglot_languages()
            runnable = [r for r in languages if r["runnable"] and r["exercises"] is not None]
            count: int | None = sum(int(str(r["exercises"])) for r in runnable)
        else:
            try:
                count = len(suite.load())
            except DataError as exc:  # no network and no mirror: say so, list the rest
                count = None
                missing.append(str(exc))
        rows.append(
            {
                "suite": suite.name,
                "items": count,
                "scorer": suite.scorer.name,
                "description": suite.description,
            }
        )
    for path in files:
        try:
            suite = get_suite(str(path))
            count = len(suite.load())
        except (UnknownSuite, ValueError) as exc:
            fail(str(exc))
        rows.append(
            {
                "suite": suite.name,
                "items": count,
                "scorer": suite.scorer.name,
                "description": f"{suite.description} ({suite.source})",
            }
        )
    if as_json:
        print(json.dumps({"suites": rows, "polyglot_languages": languages}, indent=2))
        return
    sections = [Section("suites", _SUITE_COLUMNS, rows)]
    if languages:
        sections.append(Section("polyglot languages (--language)", _LANGUAGE_COLUMNS, languages))
    emit(*sections)
    if missing:  # on stderr: a pipe reads the rows only
        err_console.print(f"[yellow]some suites' data is not available:[/] {missing[0]}")


def _check(name: str, languages: list[str], workers: int, as_json: bool) -> None:
    from benchwarden.bench.agentic.check import check_exercises
    from benchwarden.bench.agentic.exercises import LANGUAGES, load_exercises
    from benchwarden.bench.data import DataError
    from benchwarden.bench.sandbox.shell import WorkspaceUnavailable, require_isolation
    from benchwarden.bench.suites.polyglot import NAME as POLYGLOT

    if name != POLYGLOT:
        fail(f"`suites check` checks the agentic suite {POLYGLOT!r}, not {name!r}")
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown:
        fail(f"unknown language {', '.join(unknown)}; use one of {', '.join(LANGUAGES)}")
    chosen = tuple(languages) or LANGUAGES
    try:
        require_isolation()
        exercises = load_exercises(chosen)
    except (WorkspaceUnavailable, DataError) as exc:
        fail(str(exc))
    done = [0]
    total = 2 * len(exercises)

    def progress(exercise: str, kind: str, expected: bool) -> None:
        done[0] += 1
        if not expected and not as_json:
            console.print(f"[red]unexpected:[/] {exercise} {kind}")
        if sys.stderr.isatty():
            print(f"\r{done[0]}/{total} runs", end="", file=sys.stderr, flush=True)

    checks = check_exercises(exercises, chosen, workers=workers, on_result=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if as_json:
        print(json.dumps({lang: c.to_json() for lang, c in checks.items()}, indent=2))
    else:
        table = results_table(f"{POLYGLOT}: references must pass, stubs must fail")
        add_columns(
            table,
            ("language", "reference passed", "stub passed", "status"),
            keep=("language",),
            numeric=("reference passed", "stub passed"),
        )
        for lang, c in checks.items():
            status = "ok" if c.ok else ("not runnable: " + c.reason if not c.runnable else "FAIL")
            ref = f"{c.reference_passed}/{c.total}" if c.runnable else "—"
            stub = f"{c.stub_passed}/{c.total - len(c.exempt)}" if c.runnable else "—"
            if c.exempt:
                status += f" ({len(c.exempt)} refactoring stubs pass by design)"
            if c.unverifiable:
                status += f" ({len(c.unverifiable)} unverifiable here, listed below)"
            table.add_row(lang, ref, stub, status)
        console.print(table)
        for c in checks.values():
            for exercise, why in c.unverifiable:
                console.print(f"[yellow]unverifiable here:[/] {exercise}: {why}")
        for c in checks.values():
            for exercise, kind, tail in c.problems[:5]:
                console.print(f"[red]{exercise}[/] {kind}:\n{tail[-400:]}")
    bad = [c for c in checks.values() if c.runnable and not c.ok]
    asked_blocked = [c for c in checks.values() if not c.runnable and languages]
    if bad or asked_blocked:
        raise typer.Exit(1)
