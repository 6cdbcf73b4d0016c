"""``benchwarden ask`` and the interim ``benchwarden demo``: answers side by side."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table

from benchwarden.cli.common import ConfigOption, configured_models, console, fail
from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import ModelError
from benchwarden.models.factory import open_client
from benchwarden.models.protocol import ModelClient
from benchwarden.models.registry import EMBEDDED, resolve
from benchwarden.models.types import GenerateRequest, GenerateResult, Message, Mode

DEFAULT_MODELS = list(EMBEDDED)


RequestFor = Callable[[int, ModelSpec], GenerateRequest]


async def _answer(
    names: list[str],
    count: int,
    request_for: RequestFor,
    config: dict[str, ModelSpec],
    use_cache: bool,
) -> dict[tuple[int, str], GenerateResult | ModelError]:
    """Every (prompt, model) pair concurrently; each model paces its own calls."""
    outcomes: dict[tuple[int, str], GenerateResult | ModelError] = {}
    specs = [resolve(n, config) for n in names]
    clients = [open_client(spec, use_cache=use_cache) for spec in specs]

    async def one(i: int, spec: ModelSpec, client: ModelClient) -> None:
        try:
            outcomes[(i, client.name)] = await client.generate(request_for(i, spec))
        except ModelError as exc:
            outcomes[(i, client.name)] = exc

    try:
        await asyncio.gather(
            *(
                one(i, spec, client)
                for i in range(count)
                for spec, client in zip(specs, clients, strict=True)
            )
        )
    finally:
        for client in clients:
            await client.aclose()
    return outcomes


def _cell(outcome: GenerateResult | ModelError) -> str:
    if isinstance(outcome, ModelError):
        return f"[red]{outcome.kind}: {outcome.describe()}[/]"
    speed = (outcome.usage.output_tokens / outcome.latency_s) if outcome.latency_s > 0 else 0.0
    footer = (
        f"[dim]{outcome.mode.value} · {outcome.usage.input_tokens}→"
        f"{outcome.usage.output_tokens} tokens · {outcome.latency_s:.2f}s"
        f"{f' · {speed:.0f} tok/s' if not outcome.cached else ' · cached'}"
        f" · {outcome.finish_reason.value}[/]"
    )
    text = outcome.text.strip() or "[dim](empty answer)[/]"
    return f"{text}\n{footer}"


def _show(
    names: list[str],
    prompts: list[str],
    outcomes: dict[tuple[int, str], GenerateResult | ModelError],
) -> int:
    table = Table(show_lines=True, expand=True)
    table.add_column("prompt", ratio=1, overflow="fold")
    for name in names:
        table.add_column(name, ratio=2, overflow="fold")
    failures = 0
    for i, prompt in enumerate(prompts):
        cells = []
        for name in names:
            outcome = outcomes[(i, name)]
            failures += isinstance(outcome, ModelError)
            cells.append(_cell(outcome))
        table.add_row(prompt, *cells)
    console.print(table)
    return failures


def ask(
    prompt: Annotated[str, typer.Argument(help="The prompt ('-' reads standard input).")],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", "-m", help="Model to ask (repeatable). Default: both embedded models."
        ),
    ] = None,
    system: Annotated[str | None, typer.Option(help="System prompt (chat mode).")] = None,
    mode: Annotated[
        Mode | None,
        typer.Option(
            help="chat (the model's template) or completion (raw text to continue). "
            "Default: the model's own (Gemma 3 270M is a base model: completion)."
        ),
    ] = None,
    max_tokens: Annotated[int, typer.Option(min=1)] = 128,
    temperature: Annotated[float | None, typer.Option(min=0.0, max=2.0)] = None,
    top_p: Annotated[float | None, typer.Option(min=0.0, max=1.0)] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    stop: Annotated[list[str] | None, typer.Option(help="Stop sequence (repeatable).")] = None,
    stream: Annotated[bool, typer.Option(help="Print tokens as they come (one model).")] = False,
    cache: Annotated[bool, typer.Option(help="Serve identical requests from the cache.")] = True,
    purpose: Annotated[
        str | None,
        typer.Option(help="Declared purpose, sent to OpenAI/Anthropic-compatible endpoints."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Ask one prompt of one or more models and show the answers side by side."""
    if prompt == "-":
        prompt = sys.stdin.read()
    names = model or DEFAULT_MODELS
    configured = configured_models(config)
    try:
        request = GenerateRequest(
            messages=(Message("user", prompt),),
            system=system,
            mode=mode,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            stop=tuple(stop or ()),
            purpose=purpose,
        )
        for name in names:
            resolve(name, configured)
    except (ValueError, ModelError) as exc:
        fail(str(exc))
    if stream:
        if len(names) != 1:
            fail("--stream shows one model at a time; pass exactly one --model.")
        raise typer.Exit(asyncio.run(_stream_one(names[0], request, configured, cache)))
    outcomes = asyncio.run(_answer(names, 1, lambda _i, _s: request, configured, cache))
    if _show(names, [prompt], outcomes):
        raise typer.Exit(1)


async def _stream_one(
    name: str, request: GenerateRequest, configured: dict[str, ModelSpec], use_cache: bool
) -> int:
    client = open_client(resolve(name, configured), use_cache=use_cache)
    try:
        async for delta in client.stream(request):
            if delta.text:
                sys.stdout.write(delta.text)
                sys.stdout.flush()
            if delta.usage is not None:
                sys.stdout.write("\n")
                console.print(
                    f"[dim]{delta.finish_reason} · {delta.usage.input_tokens}→"
                    f"{delta.usage.output_tokens} tokens[/]"
                )
    except ModelError as exc:
        console.print(f"\n[red]{exc.describe()}[/]")
        return 1
    finally:
        await client.aclose()
    return 0
