"""``benchwarden monitor``: fingerprints, report, evaluate, apply.

``fingerprints build`` is the one place bench's datasets meet warden's sketches (the
CLI may import both). The rest calls ``warden.monitor.service.MonitorService`` on the
database, as the admin API does on a running server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from benchwarden.cli.common import console, fail
from benchwarden.cli.listing import Column, JsonOption, Section, emit
from benchwarden.cli.warden_cmd import DbOption, _actor

if TYPE_CHECKING:
    from benchwarden.warden.monitor.service import MonitorService

monitor_app = typer.Typer(
    help="The usage monitor: findings with evidence, graduated responses.", no_args_is_help=True
)
fingerprints_app = typer.Typer(
    help="Benchmark fingerprints (MinHash, no text).", no_args_is_help=True
)
monitor_app.add_typer(fingerprints_app, name="fingerprints")

HoursOption = Annotated[float, typer.Option("--hours", help="Window length, hours.")]
AutoOption = Annotated[
    str | None,
    typer.Option(
        "--auto", help="Highest response applied without an admin: none, flag, throttle, ..."
    ),
]


@contextmanager
def _service(db: str | None, auto: str | None = None) -> Iterator[MonitorService]:
    from benchwarden.store.records import StoreError
    from benchwarden.store.warden_store import open_warden_store
    from benchwarden.warden.monitor.responses import ResponseError
    from benchwarden.warden.monitor.scoring import Policy
    from benchwarden.warden.monitor.service import MonitorService

    try:
        policy = Policy(auto_max=auto) if auto else Policy()
    except ValueError as exc:
        fail(str(exc))
    try:
        store = open_warden_store(db)
    except StoreError as exc:
        fail(str(exc))
    try:
        yield MonitorService(store, policy=policy)
    except (ResponseError, StoreError) as exc:
        fail(str(exc))
    finally:
        store.close()


@fingerprints_app.command("build")
def build(
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Where (default: $BENCHWARDEN_HOME/monitor/...)."),
    ] = None,
) -> None:
    """Sketch the public benchmarks bench knows into a file warden loads."""
    from benchwarden.cli.monitor_sources import benchmark_prompts
    from benchwarden.warden.monitor.fingerprints import Fingerprints, default_path

    prompts, missing = benchmark_prompts()
    prints = Fingerprints.from_texts(
        (p.dataset, p.item, text) for p in prompts for text in p.variants
    )
    if not len(prints):
        fail("No benchmark data could be read: " + "; ".join(missing.values()))
    target = output or default_path()
    prints.save(target)
    for name, why in missing.items():
        console.print(f"[yellow]skipped[/] {name}: {why}", highlight=False)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(prints.counts().items()))
    console.print(f"{len(prints)} signatures ({counts}) -> {target}", highlight=False)


_ORG_COLUMNS = (
    Column("org", kind="id"),
    Column("score", kind="number", show=lambda v: f"{v:.1f}"),
    Column("kind", kind="id"),
    Column("level", kind="id"),
    Column("requests", kind="number"),
    Column("top_signals", show=", ".join),
)
_FINDING_COLUMNS = (
    Column("id", kind="id"),
    Column("org", kind="id"),
    Column("score", kind="number", show=lambda v: f"{v:.1f}"),
    Column("kind", kind="id"),
    Column("recommended", kind="id"),
    Column("status", kind="id"),
    Column("action", kind="id", show=lambda a: a or "—"),
)


@monitor_app.command("report")
def report(
    db: DbOption = None,
    hours: HoursOption = 24.0,
    org: Annotated[str | None, typer.Option("--org", help="One organization.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    as_json: JsonOption = False,
) -> None:
    """Scores per organization over the last window, with evidence, and the findings.

    Plain tab-separated rows in a pipe: org, score, kind, level, requests, top signals;
    then, after a blank line, the findings: id, org, score, kind, recommended, status,
    action. --json (or --format json) for the whole report."""
    if output_format not in ("table", "json"):
        fail("--format must be table or json.")
    with _service(db) as service:
        body = service.report(hours=hours, org=org)
    if as_json or output_format == "json":
        typer.echo(json.dumps(body, indent=2, sort_keys=True))
        return
    orgs = [
        {
            **item,
            "requests": item["evidence"]["requests"],
            "top_signals": item["evidence"]["top_signals"][:3],
        }
        for item in body["orgs"]
    ]
    emit(
        Section(f"monitor: last {hours:g} h", _ORG_COLUMNS, orgs),
        Section("findings (latest first)", _FINDING_COLUMNS, body["findings"][:20]),
    )


@monitor_app.command("evaluate")
def evaluate(db: DbOption = None, hours: HoursOption = 24.0, auto: AutoOption = None) -> None:
    """Record findings for the last window and apply the policy's automatic responses."""
    with _service(db, auto) as service:
        found = service.evaluate(hours=hours, actor=f"{_actor()}:policy")
    for f in found:
        console.print(
            f"finding {f.id}: {f.org} score {f.score:.1f} ({f.kind}), "
            f"recommended {f.recommended}, {f.status}{' ' + f.action if f.action else ''}",
            highlight=False,
        )
    if not found:
        console.print("no findings")


@monitor_app.command("apply")
def apply(
    finding_id: Annotated[int, typer.Argument(help="The finding's id (see monitor report).")],
    action: Annotated[
        str,
        typer.Argument(
            help="flag, throttle, suspend, revoke or dismiss (an open finding only), or "
            "restore (lift the suspension a finding applied)."
        ),
    ],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    db: DbOption = None,
) -> None:
    """Apply a response to an open finding (an admin's approval), or restore a suspended
    one; audited. A finding already acted on is an error: escalate on a newer one."""
    with _service(db) as service:
        applied = service.apply(finding_id, action, actor=_actor(), reason=reason)
    console.print(f"finding {finding_id}: {applied.action} applied", highlight=False)
    for change in applied.changes:
        console.print(f"  {json.dumps(change, default=str)}", highlight=False)
