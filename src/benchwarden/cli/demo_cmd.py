"""``benchwarden demo``: both sides at once, on the embedded models, with no network.

warden serves the two embedded models; a rival lab gets a grant for benchmarking and
safety evaluation only; bench compares the models through warden with that lab's
key (the smoke suite, then a few coding items for benchmarking and safety items for
safety evaluation); an agent turn runs through it (the model calls a tool, reads the
result, answers); a request for another purpose is refused; the key is revoked in the
middle of a second run, which records clean errors and keeps what it measured; the audit chain
verifies. Only cli/ may import both sides: they meet at the HTTP line.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.rule import Rule

from benchwarden.cli.common import console, fail
from benchwarden.cli.compare_view import print_comparison
from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import AccessDenied, ModelError
from benchwarden.models.factory import open_client
from benchwarden.models.types import GenerateRequest, Mode
from benchwarden.paths import home_dir

if TYPE_CHECKING:
    from benchwarden.bench.service import RunRequest
    from benchwarden.warden.tenancy import Tenancy

ORG = "rival-lab"
PURPOSES = ("benchmarking", "safety-evaluation")
KEY_ENV = "BENCHWARDEN_DEMO_KEY"
SERVED = {"local/smollm2-135m": Mode.CHAT, "local/gemma3-270m": Mode.COMPLETION}


class _RevokeAfter:
    """A progress sink that revokes the key once ``after`` samples have finished."""

    def __init__(self, after: int, revoke: Callable[[], object]) -> None:
        self.after = after
        self.revoke = revoke
        self.seen = 0
        self.revoked_at: int | None = None

    def start(self, model: str, total: int, already_done: int) -> None:
        pass

    def advance(self, model: str, ok: bool) -> None:
        self.seen += 1
        if self.seen == self.after and self.revoked_at is None:
            self.revoked_at = self.seen
            self.revoke()
            console.print(
                f"  [bold red]key revoked[/] after {self.seen} samples "
                "(on the running server, effective at the next request)"
            )


def _bench_name(served: str) -> str:
    """How bench names a model it reaches through warden: ``smollm2-135m@warden``."""
    return f"{served.split('/', 1)[1]}@warden"


def _bench_specs(base_url: str) -> dict[str, ModelSpec]:
    return {
        _bench_name(name): ModelSpec(
            name=_bench_name(name),
            provider="openai",
            upstream_model=name,
            base_url=f"{base_url}/v1",
            api_key_env=KEY_ENV,
            purposes=PURPOSES,
            max_concurrency=2,
            mode=mode,
            max_attempts=2,
            time_budget_s=120,
        )
        for name, mode in SERVED.items()
    }


def demo(
    db: Annotated[
        Path | None,
        typer.Option(
            help="Where to keep the demo's database "
            "(default: $BENCHWARDEN_HOME/demo.db, replaced on each run)."
        ),
    ] = None,
) -> None:
    """warden serves the embedded models under a grant; bench compares them through it."""
    from benchwarden.bench.data import DataError
    from benchwarden.bench.service import RunRequest, execute, prepare
    from benchwarden.store import open_store
    from benchwarden.warden.app import create_app, runtime_of
    from benchwarden.warden.server import BackgroundServer
    from benchwarden.warden.tenancy import GrantTerms

    started = time.monotonic()
    path = db or home_dir() / "demo.db"
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    app = create_app(str(path), admin_token="")
    with BackgroundServer(app) as server:
        tenancy = runtime_of(app).tenancy
        console.print(Rule("1. warden: serve the embedded models under contract terms"))
        tenancy.create_org(ORG)
        for model in SERVED:
            tenancy.add_grant(
                ORG,
                model,
                GrantTerms(purposes=PURPOSES, rpm=600, tpm=200_000, max_concurrency=4).check(),
            )
        key, secret = tenancy.create_key(ORG, purposes=PURPOSES)
        os.environ[KEY_ENV] = secret  # this process only; never printed
        console.print(f"  serving {', '.join(SERVED)} at {server.url}")
        console.print(
            f"  org [bold]{ORG}[/]: grant for {' and '.join(PURPOSES)} "
            f"(600 requests/min, 200k tokens/min); key {key.key_id} issued"
        )

        specs = _bench_specs(server.url)
        store = open_store(str(path))
        try:
            console.print(Rule("2. bench: compare the models through warden, for benchmarking"))
            first = compare_request(list(specs))
            prepared = prepare(store, first, specs)
            outcome = asyncio.run(execute(store, prepared, first))
            console.print(f"  {outcome.recorded} answers recorded, {outcome.errors} errors")
            print_comparison(store, "demo-compare")

            console.print(
                Rule("3. a few coding and safety items, each run under its declared purpose")
            )
            for request, what in suite_runs(list(specs)):
                try:
                    prepared = prepare(store, request, specs)
                except DataError as exc:  # no network and no BENCHWARDEN_DATA_MIRROR
                    console.print(f"  [yellow]skipped {request.run_id}:[/] {exc}")
                    continue
                outcome = asyncio.run(execute(store, prepared, request))
                console.print(
                    f"  {', '.join(request.suites)} for {request.purpose}: "
                    f"{outcome.recorded} answers {what}, {outcome.errors} errors"
                )
                print_comparison(store, str(request.run_id))

            console.print(
                Rule("4. an agent turn: the model calls a tool, reads its result, answers")
            )
            _show_agent_turn(specs[_bench_name("local/smollm2-135m")], tenancy)

            console.print(Rule("5. a purpose outside the grant is refused"))
            refused = _ask(specs[_bench_name("local/smollm2-135m")], "product-development")
            if refused is None:
                fail("warden accepted a purpose outside the grant")
            console.print(f"  product-development: [red]{refused}[/]")

            console.print(Rule("6. the key is revoked in the middle of a run"))
            second = RunRequest(
                suites=["smoke"],
                models=list(specs),
                purpose="benchmarking",
                epochs=3,
                seed=1,
                run_id="demo-revoked",
                use_cache=False,
            )
            sink = _RevokeAfter(10, lambda: tenancy.revoke_key(key.key_id, "terms breached"))
            prepared = prepare(store, second, specs)
            outcome = asyncio.run(execute(store, prepared, second, sink))
            run = store.get_run("demo-revoked")
            console.print(
                f"  kept {outcome.recorded - outcome.errors} answers measured before "
                f"the revocation; {outcome.errors} calls failed cleanly; run status "
                f"{run.status if run else '?'}"
            )
            for name in outcome.blocked:
                console.print(f"  {name}: [red]stopped, access refused (key_revoked)[/]")
            print_comparison(store, "demo-revoked")
            after = _ask(specs[_bench_name("local/smollm2-135m")], "benchmarking")
            console.print(f"  next call with the revoked key: [red]{after}[/]")
        finally:
            store.close()

        console.print(Rule("7. the audit chain"))
        report = tenancy.verify_audit()
        if not report.ok:
            fail(f"audit chain broken: {report.problem}")
        console.print(
            f"  [green]intact[/]: {report.records} records, every decision and admin "
            f"action chained (head {report.head_hash[:16]}…)"
        )
    console.print(Rule("8. the reports: one HTML file per run, no network needed"))
    for written in _write_reports(path):
        console.print(f"  {written}")
    console.print(
        f"\ndone in {time.monotonic() - started:.0f}s · results and audit log in "
        f"{path} (`benchwarden compare demo-compare --db {path}`)"
    )


def _show_agent_turn(spec: ModelSpec, tenancy: Tenancy) -> None:
    from benchwarden.cli.demo_agent import agent_turn

    try:
        turn = agent_turn(spec, "benchmarking")
    except (ModelError, RuntimeError) as exc:
        fail(f"the agent step failed: {exc}")
    console.print(f"  {spec.name} called [bold]{turn.tool}[/]({turn.arguments})", highlight=False)
    console.print(f"  the tool returned {turn.result}; the model answered: {turn.answer!r}")
    calls = [r for r in tenancy.audit_tail(50) if "tools" in r.detail]
    if calls:
        detail = calls[-1].detail
        console.print(
            f"  audit: tools declared {detail['tools']}, client {detail.get('client', '?')!r}"
            " (names only, never arguments)",
            highlight=False,
        )


def _write_reports(db: Path) -> list[Path]:
    """``benchwarden report`` for every run of the demo, beside its database."""
    from benchwarden.bench.report import build_report

    folder = db.parent / "demo-reports"
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    from benchwarden.store import open_store

    store = open_store(str(db))
    try:
        for run in store.list_runs():
            target = folder / f"{run.run_id}.html"
            samples = store.samples(run.run_id)
            target.write_text(
                build_report(run, samples, store.judgments(run.run_id)), encoding="utf-8"
            )
            written.append(target)
    finally:
        store.close()
    return written


def compare_request(models: list[str]) -> RunRequest:
    """The demo's first comparison. Greedy decoding (temperature 0) and a fixed seed:
    the same request gives the same answer directly and through warden (a test holds it
    for these very settings)."""
    from benchwarden.bench.prompting import SamplingOptions
    from benchwarden.bench.service import RunRequest

    return RunRequest(
        suites=["smoke"],
        models=models,
        purpose="benchmarking",
        seed=0,
        run_id="demo-compare",
        use_cache=False,
        sampling=SamplingOptions(temperature=0.0),
    )


def suite_runs(models: list[str]) -> list[tuple[RunRequest, str]]:
    """A few items of the coding and safety suites, each under its own purpose (greedy,
    like :func:`compare_request`)."""
    from benchwarden.bench.prompting import SamplingOptions
    from benchwarden.bench.service import RunRequest

    coding = RunRequest(
        suites=["humaneval"],
        models=models,
        purpose="benchmarking",
        limit=2,
        run_id="demo-coding",
        use_cache=False,
        sampling=SamplingOptions(max_tokens=160, temperature=0.0),
    )
    safety = RunRequest(
        suites=["safety", "over-refusal"],
        models=models,
        purpose="safety-evaluation",
        limit=3,
        run_id="demo-safety",
        use_cache=False,
        sampling=SamplingOptions(max_tokens=48, temperature=0.0),
    )
    return [
        (coding, "run against the tests in the sandbox"),
        (safety, "labelled by the offline refusal classifier (answers not shown)"),
    ]


def _ask(spec: ModelSpec, purpose: str) -> str | None:
    """One call for ``purpose``: None if it was served, else the refusal as text."""

    async def call() -> str | None:
        client = open_client(spec, use_cache=False)
        try:
            await client.generate(
                GenerateRequest.from_prompt("Hello", max_tokens=4, purpose=purpose)
            )
        except AccessDenied as exc:
            return f"refused, {exc.code}: {exc.message}"
        except ModelError as exc:
            return f"failed, {exc.kind}: {exc.message}"
        finally:
            await client.aclose()
        return None

    return asyncio.run(call())
