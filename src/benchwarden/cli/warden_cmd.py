"""warden's commands: ``serve``, ``org``, ``grant``, ``key``, ``audit``.

Thin: parse, call ``warden.tenancy.Tenancy`` (or start the server), print. Registered
in app.py as ``serve`` and the sub-apps ``org``, ``grant``, ``key``, ``audit``. The
warden modules load on first use, so the rest of the CLI starts fast.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from benchwarden.cli import serve_config
from benchwarden.cli.common import console, err_console, fail
from benchwarden.cli.listing import Column, JsonOption, Section, emit

if TYPE_CHECKING:
    from benchwarden.warden.tenancy import Tenancy

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database: a SQLite path or URL, or postgresql://... "
        "(default: $BENCHWARDEN_HOME/benchwarden.db, shared with bench).",
    ),
]
PurposeOption = Annotated[
    list[str] | None,
    typer.Option("--purpose", "-p", help="A permitted purpose; repeat for several."),
]
ExpiresOption = Annotated[
    str | None, typer.Option("--expires", help="Expiry, ISO 8601 (UTC when no offset).")
]

org_app = typer.Typer(help="Organizations (who keys and grants belong to).", no_args_is_help=True)
grant_app = typer.Typer(
    help="Grants: models an organization may use, and on what terms.", no_args_is_help=True
)
key_app = typer.Typer(help="API keys: create (shown once), revoke, list.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def _tenancy(db: str | None) -> Iterator[Tenancy]:
    from benchwarden.store.records import StoreError
    from benchwarden.store.warden_store import open_warden_store
    from benchwarden.warden.tenancy import Tenancy, WardenError

    try:
        store = open_warden_store(db)
    except StoreError as exc:
        fail(str(exc))
    try:
        yield Tenancy(store, _actor())
    except (WardenError, StoreError) as exc:
        fail(str(exc))
    finally:
        store.close()


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        fail(f"--expires {text!r} is not an ISO 8601 time (e.g. 2026-12-31T23:59:00Z).")


def _show(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _limit(value: int | None) -> str:
    return "∞" if value is None else str(value)


def _iso(moment: datetime | None) -> str | None:
    """A time as listings carry it (JSON and plain rows): ISO 8601, or None."""
    return None if moment is None else moment.isoformat()


def _show_iso(text: str | None) -> str:
    """A listing's ISO time as the table shows it."""
    return _show(None if text is None else datetime.fromisoformat(text))


# -- serve ------------------------------------------------------------------------------


def serve(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML file of these options under [serve] (limits, limits-lease, workers, "
            "limits-fail-open, db...); options given here win over it.",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    backends: Annotated[
        Path | None,
        typer.Option("--backends", help="TOML file of served models (default: the embedded ones)."),
    ] = None,
    db: DbOption = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    fingerprints: Annotated[
        Path | None,
        typer.Option(
            "--fingerprints",
            help="Benchmark fingerprints for the monitor (default: "
            "$BENCHWARDEN_HOME/monitor/fingerprints.npz when present; build it with "
            "`monitor fingerprints build`).",
        ),
    ] = None,
    monitor: Annotated[
        bool, typer.Option("--monitor/--no-monitor", help="Record usage for the monitor.")
    ] = True,
    max_body_mb: Annotated[
        float,
        typer.Option(
            "--max-body-mb",
            min=0.001,
            help="Largest request body accepted, in MB (agent sessions resend their history).",
        ),
    ] = 32.0,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Worker processes on this port (more than 1 needs --limits redis://...).",
        ),
    ] = 1,
    limits: Annotated[
        str | None,
        typer.Option(
            "--limits",
            help="Where the rate and token limits are counted: redis://HOST:PORT/DB to share "
            "them across replicas (default: in this process).",
        ),
    ] = None,
    limits_lease: Annotated[
        float,
        typer.Option(
            "--limits-lease",
            min=0.1,
            help="With --limits: seconds a call in flight keeps its slot unless its replica "
            "renews it (a replica that dies frees its slots within this).",
        ),
    ] = 15.0,
    limits_fail_open: Annotated[
        list[str] | None,
        typer.Option(
            "--limits-fail-open",
            help="With --limits: a grant (id, as the admin API shows it, or ORG/MODEL) "
            "served without limit accounting while Redis is unreachable, each such "
            "admission audited as limits.bypass (others get 503 limits_unavailable); "
            "repeat for several.",
        ),
    ] = None,
    monitor_every: Annotated[
        float,
        typer.Option(
            "--monitor-every",
            min=0.0,
            help="Seconds between the monitor's evaluations (findings, automatic "
            "responses), run on one replica only (a PostgreSQL advisory lock); 0: off.",
        ),
    ] = 0.0,
    monitor_auto: Annotated[
        str | None,
        typer.Option(
            "--monitor-auto",
            help="The highest response the scheduled evaluation applies by itself: none, "
            "flag (the default), throttle, suspend, revoke.",
        ),
    ] = None,
    monitor_thresholds: Annotated[
        str | None,
        typer.Option(
            "--monitor-thresholds",
            help="Scores (0-100) for flag,throttle,suspend,revoke (default 40,60,80,95).",
        ),
    ] = None,
    watch_interval: Annotated[
        float,
        typer.Option(
            "--watch-interval",
            min=0.01,
            help="Seconds between re-reads of the calls in flight (the fallback: on "
            "PostgreSQL, admin changes reach every replica at once by LISTEN/NOTIFY).",
        ),
    ] = 0.25,
) -> None:
    """Serve models under contract terms (OpenAI and Anthropic endpoints)."""
    from benchwarden.models.config import ConfigError
    from benchwarden.models.registry import key_status
    from benchwarden.store.records import StoreError
    from benchwarden.warden.app import ADMIN_TOKEN_ENV, WardenSettings, create_app, runtime_of
    from benchwarden.warden.backends import Backends, load_backends, load_routes
    from benchwarden.warden.monitor.fingerprints import FingerprintError
    from benchwarden.warden.monitor.scoring import Policy
    from benchwarden.warden.server import run

    try:
        scope = locals()
        given = {name: scope[name] for name in serve_config.KEYS}
        given = serve_config.merge(ctx.get_parameter_source, given, config)
    except serve_config.ServeConfigError as exc:
        fail(str(exc))
    host, port, db, log_level = given["host"], given["port"], given["db"], given["log_level"]
    backends, fingerprints, monitor = given["backends"], given["fingerprints"], given["monitor"]
    max_body_mb, workers, limits = given["max_body_mb"], given["workers"], given["limits"]
    limits_lease, monitor_every = given["limits_lease"], given["monitor_every"]
    watch_interval, fail_open = (
        given["watch_interval"],
        sorted(set(given["limits_fail_open"] or ())),
    )
    try:
        policy = serve_config.monitor_policy(given["monitor_auto"], given["monitor_thresholds"])
    except serve_config.ServeConfigError as exc:
        fail(str(exc))
    if fail_open and limits is None:
        fail(
            "--limits-fail-open needs --limits redis://...: limits counted in this process "
            "are always reachable."
        )
    if limits is not None and not limits.startswith(("redis://", "rediss://", "unix://")):
        fail(f"--limits {limits!r}: give a Redis URL (redis://HOST:PORT/DB).")
    if workers > 1 and limits is None:
        fail(
            f"--workers {workers} needs --limits redis://...: limits counted in each process "
            f"would let {workers} workers admit {workers} times each grant."
        )
    options: dict[str, Any] = {
        "monitor": monitor,
        "max_body_bytes": int(max_body_mb * 1_000_000),
        "limits_url": limits,
        "watch_interval_s": watch_interval,
        "limits_lease_s": limits_lease,
        "monitor_every_s": monitor_every,
        "limits_fail_open": fail_open,  # a list in the workers' JSON, a frozenset here
    }
    try:
        specs = load_backends(backends)
        served = Backends(specs, routes=load_routes(backends))
        settings = WardenSettings(**{**options, "limits_fail_open": frozenset(fail_open)})
        rules = Policy(**policy) if policy else None
        app = create_app(db, served, settings=settings, fingerprints=fingerprints, policy=rules)
    except (ConfigError, StoreError, FingerprintError) as exc:
        fail(str(exc))
    for spec in specs.values():
        status = key_status(spec)
        if status.startswith("missing"):
            err_console.print(f"[yellow]warning:[/] {spec.name}: upstream key {status}")
    runtime = runtime_of(app)
    admin = "on" if os.environ.get(ADMIN_TOKEN_ENV) else f"off (set {ADMIN_TOKEN_ENV})"
    watching = f"on, {len(runtime.fingerprints)} fingerprints" if monitor else "off"
    if monitor_every > 0:
        rules = runtime.monitor.policy if runtime.monitor is not None else Policy()
        watching += f", evaluated every {monitor_every:g}s, automatic up to {rules.auto_max}"
    err_console.print(
        f"warden on http://{host}:{port}: {', '.join(sorted(specs))}; db {runtime.store.url}; "
        f"admin API {admin}; monitor {watching}; limits {_limits_shown(limits)}"
        + (f"; fail open for grants {', '.join(fail_open)}" if fail_open else "")
        + (f"; {workers} workers" if workers > 1 else ""),
        highlight=False,
        soft_wrap=True,
    )
    if workers == 1:
        run(app, host, port, log_level)
        return
    from benchwarden.warden.workers import ServeSpec, run_workers

    # This app only checked the options (and migrated the database once): each worker
    # builds its own.
    runtime.store.close()
    runtime.executor.shutdown()
    serve_spec = ServeSpec(
        db,
        str(backends) if backends else None,
        str(fingerprints) if fingerprints else None,
        options,
        policy,
    )
    run_workers(serve_spec, host, port, workers, log_level)


def _limits_shown(url: str | None) -> str:
    if url is None:
        return "in process"
    _head, at, tail = url.rpartition("@")
    return f"redis://...@{tail}" if at else url


# -- org --------------------------------------------------------------------------------


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(help="Organization name.")], db: DbOption = None
) -> None:
    """Create an organization."""
    with _tenancy(db) as tenancy:
        org = tenancy.create_org(name)
    console.print(f"Created organization {org.name!r}.", highlight=False)


@org_app.command("list")
def org_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List organizations (plain tab-separated rows in a pipe: name, created)."""
    with _tenancy(db) as tenancy:
        orgs = tenancy.list_orgs()
    rows = [{"organization": o.name, "created": _iso(o.created_at)} for o in orgs]
    columns = (Column("organization", kind="id"), Column("created", show=_show_iso))
    emit(Section("organizations", columns, rows), as_json=as_json)


# -- grant ------------------------------------------------------------------------------


@grant_app.command("add")
def grant_add(
    org: Annotated[str, typer.Option("--org", help="Organization name.")],
    model: Annotated[list[str], typer.Option("--model", "-m", help="Model; repeat for several.")],
    purpose: PurposeOption = None,
    rpm: Annotated[int | None, typer.Option(min=1, help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option(min=1, help="Tokens per minute.")] = None,
    max_concurrency: Annotated[
        int | None, typer.Option("--max-concurrency", min=1, help="Calls in flight.")
    ] = None,
    expires: ExpiresOption = None,
    db: DbOption = None,
) -> None:
    """Grant models to an organization (replaces the terms of an existing grant).

    Without --purpose the grant permits any purpose; limits left out are unlimited.
    """
    from benchwarden.warden.tenancy import GrantTerms

    terms = GrantTerms(tuple(purpose or ("*",)), rpm, tpm, max_concurrency, _when(expires))
    with _tenancy(db) as tenancy:
        for name in model:
            grant = tenancy.add_grant(org, name, terms)
            console.print(
                f"Granted {grant.model!r} to {grant.org!r}: purposes "
                f"{', '.join(grant.purposes)}; rpm {_limit(grant.rpm)}, tpm {_limit(grant.tpm)}, "
                f"concurrency {_limit(grant.max_concurrency)}, expires {_show(grant.expires_at)}.",
                highlight=False,
                soft_wrap=True,
            )


@grant_app.command("remove")
def grant_remove(
    org: Annotated[str, typer.Option("--org", help="Organization name.")],
    model: Annotated[list[str], typer.Option("--model", "-m", help="Model; repeat for several.")],
    db: DbOption = None,
) -> None:
    """Remove grants; running servers refuse the next request and end open streams."""
    with _tenancy(db) as tenancy:
        for name in model:
            tenancy.remove_grant(org, name)
            console.print(f"Removed the grant of {name!r} to {org!r}.", highlight=False)


_GRANT_COLUMNS = (
    Column("org", kind="id"),
    Column("model", kind="id"),
    Column("purposes", show=", ".join),
    Column("rpm", kind="number", show=_limit),
    Column("tpm", kind="number", show=_limit),
    Column("max_concurrency", "concurrency", kind="number", show=_limit),
    Column("expires", show=_show_iso),
    Column("suspended", show=lambda at: "—" if at is None else f"since {_show_iso(at)}"),
)


@grant_app.command("list")
def grant_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List grants and their terms (plain tab-separated rows in a pipe: org, model,
    purposes, rpm, tpm, concurrency, expires, suspended; empty means unlimited/never)."""
    with _tenancy(db) as tenancy:
        grants = tenancy.list_grants(org)
    rows = [
        {
            "org": g.org,
            "model": g.model,
            "purposes": list(g.purposes),
            "rpm": g.rpm,
            "tpm": g.tpm,
            "max_concurrency": g.max_concurrency,
            "expires": _iso(g.expires_at),
            "suspended": _iso(g.suspended_at),
        }
        for g in grants
    ]
    emit(Section("grants", _GRANT_COLUMNS, rows), as_json=as_json)


# -- key --------------------------------------------------------------------------------


@key_app.command("create")
def key_create(
    org: Annotated[str, typer.Option("--org", help="Organization name.")],
    purpose: PurposeOption = None,
    expires: ExpiresOption = None,
    db: DbOption = None,
) -> None:
    """Create a key. Its secret is printed once, as the last line: store it now.

    A key with exactly one --purpose implies it (no Benchwarden-Purpose header needed);
    a key's purposes narrow its organization's grants.
    """
    with _tenancy(db) as tenancy:
        record, secret = tenancy.create_key(org, purpose or [], _when(expires))
    purposes = ", ".join(record.purposes) or "as granted"
    console.print(
        f"Created key {record.key_id} for {record.org!r} (purposes: {purposes}; expires "
        f"{_show(record.expires_at)}). The secret below is shown once and stored nowhere.",
        highlight=False,
        soft_wrap=True,
    )
    typer.echo(secret)


@key_app.command("revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="Key id (8 hex characters, or bw_ + id).")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why; kept in the audit log.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Revoke a key: running servers refuse its next request and end its open streams."""
    with _tenancy(db) as tenancy:
        record, changed = tenancy.revoke_key(key_id, reason)
    if changed:
        console.print(f"Revoked key {record.key_id} of {record.org!r}.", highlight=False)
    else:
        console.print(
            f"Key {record.key_id} was already revoked ({_show(record.revoked_at)}).",
            highlight=False,
            soft_wrap=True,
        )


_KEY_COLUMNS = (
    Column("key_id", kind="id"),
    Column("org", kind="id"),
    Column("purposes", show=lambda p: ", ".join(p) or "as granted"),
    Column("status", kind="id"),
    Column("created", show=_show_iso),
    Column("expires", show=_show_iso),
    Column("revoked", show=_show_iso),
)


@key_app.command("list")
def key_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List keys: ids, organization, purposes, status and dates (never secrets).

    Plain tab-separated rows in a pipe (key id, org, purposes, status, created,
    expires, revoked); --json for every field."""
    with _tenancy(db) as tenancy:
        found = tenancy.list_keys(org)
    rows = [
        {
            "key_id": k.key_id,
            "org": k.org,
            "purposes": list(k.purposes),
            "status": k.status,
            "created": _iso(k.created_at),
            "expires": _iso(k.expires_at),
            "revoked": _iso(k.revoked_at),
            "revoke_reason": k.revoke_reason,
        }
        for k in found
    ]
    emit(Section("keys", _KEY_COLUMNS, rows), as_json=as_json)


# -- audit ------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(db: DbOption = None) -> None:
    """Check the whole chain; exit 0 only when it is intact, else name the first bad record."""
    with _tenancy(db) as tenancy:
        report = tenancy.verify_audit()
    if report.problem is not None:
        p = report.problem
        err_console.print(
            f"[bold red]audit chain broken[/] at record {p.seq} ({p.kind}): {p.message}. "
            f"{report.records} records read.",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print(
        f"audit chain intact: {report.records} records; head {report.head_seq} {report.head_hash}",
        highlight=False,
        soft_wrap=True,
    )


_AUDIT_COLUMNS = (
    Column("seq", kind="number"),
    Column("time", show=_show_iso),
    Column("actor", kind="id"),
    Column("action", kind="id"),
    Column("decision", kind="id"),
    Column("code", kind="id"),
    Column("org", kind="id"),
    Column("model", kind="id"),
    Column("purpose", kind="id"),
    Column("tokens", "tokens in/out", kind="number"),
)


@audit_app.command("tail")
def audit_tail(
    n: Annotated[int, typer.Option("-n", min=1, help="How many records.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, every field.")] = False,
    db: DbOption = None,
) -> None:
    """The last records of the audit log, oldest first (plain tab-separated rows in a
    pipe: seq, time, actor, action, decision, code, org, model, purpose, tokens in/out)."""
    from benchwarden.warden.views import audit_view

    with _tenancy(db) as tenancy:
        rows = tenancy.audit_tail(n)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(audit_view(row), sort_keys=True))
        return
    shown = [
        {
            "seq": r.seq,
            "time": _iso(r.ts),
            "actor": r.actor,
            "action": r.action,
            "decision": r.decision,
            "code": r.code,
            "org": r.org,
            "model": r.model,
            "purpose": r.purpose,
            "tokens": f"{r.input_tokens}/{r.output_tokens}",
        }
        for r in rows
    ]
    emit(Section("audit log (oldest first)", _AUDIT_COLUMNS, shown))
