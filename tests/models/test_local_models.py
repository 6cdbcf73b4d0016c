"""The embedded models, for real: llama.cpp on SmolLM2-135M and Gemma 3 270M.

Prompts are tiny and answers few tokens, so the whole file runs in seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from benchwarden.models.factory import open_client
from benchwarden.models.local.client import model_path
from benchwarden.models.local.engine import engine_for
from benchwarden.models.protocol import ModelClient
from benchwarden.models.registry import EMBEDDED, resolve
from benchwarden.models.types import FinishReason, GenerateRequest, Mode

SMOL = "local/smollm2-135m"
GEMMA = "local/gemma3-270m"
CODE = 'def add(a, b):\n    """Return the sum of a and b."""\n'
CODE_STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\n#")


def local(name: str) -> ModelClient:
    return open_client(resolve(name), use_cache=False)


async def test_smollm2_answers_by_chat() -> None:
    client = local(SMOL)
    result = await client.generate(
        GenerateRequest.from_prompt(
            "Name the capital city of Japan.", max_tokens=12, temperature=0.0
        )
    )
    assert result.mode is Mode.CHAT
    assert "tokyo" in result.text.lower()
    assert result.usage.input_tokens > 5 and 0 < result.usage.output_tokens <= 12
    assert result.metadata["engine"] == "llama.cpp"


async def test_gemma_completes_code() -> None:
    client = local(GEMMA)
    result = await client.generate(
        GenerateRequest(prompt=CODE, max_tokens=24, temperature=0.0, stop=CODE_STOPS)
    )
    assert result.mode is Mode.COMPLETION
    assert "return a + b" in result.text
    assert result.usage.output_tokens <= 24


async def test_max_tokens_and_stop_are_honored() -> None:
    client = local(GEMMA)
    short = await client.generate(
        GenerateRequest(prompt="1, 2, 3, 4, 5,", max_tokens=3, temperature=0.0)
    )
    assert short.finish_reason is FinishReason.LENGTH and short.usage.output_tokens == 3
    stopped = await client.generate(
        GenerateRequest(prompt="1, 2, 3, 4, 5,", max_tokens=30, temperature=0.0, stop=(" 9",))
    )
    assert stopped.finish_reason is FinishReason.STOP
    assert "9" not in stopped.text and "8" in stopped.text


async def test_seed_makes_sampling_reproducible() -> None:
    client = local(SMOL)

    async def sample(seed: int) -> str:
        req = GenerateRequest.from_prompt(
            "Tell me a word.", max_tokens=8, temperature=1.5, top_p=1.0, seed=seed
        )
        return (await client.generate(req)).text

    first, again = await sample(42), await sample(42)
    assert first == again
    others = {await sample(seed) for seed in range(1, 6)}
    assert len(others | {first}) > 1  # the seed actually changes sampling


async def test_n_samples() -> None:
    client = local(SMOL)
    result = await client.generate(
        GenerateRequest.from_prompt("Say a color.", max_tokens=4, temperature=1.0, seed=3, n=2)
    )
    assert len(result.choices) == 2
    assert result.usage.output_tokens <= 8


async def test_stream_matches_generate() -> None:
    client = local(SMOL)
    req = GenerateRequest.from_prompt("Count from one to five.", max_tokens=16, temperature=0.0)
    whole = await client.generate(req)
    deltas = [d async for d in client.stream(req)]
    assert "".join(d.text for d in deltas) == whole.text
    assert deltas[-1].usage is not None
    assert deltas[-1].usage.output_tokens == whole.usage.output_tokens
    assert deltas[-1].usage.input_tokens == whole.usage.input_tokens


async def test_abandoned_stream_frees_the_model() -> None:
    client = local(SMOL)
    req = GenerateRequest.from_prompt(
        "Write a long story about a ship.", max_tokens=200, temperature=0.0
    )
    stream = client.stream(req)
    async for delta in stream:
        if delta.text:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    started = time.monotonic()
    quick = await client.generate(GenerateRequest.from_prompt("Hi", max_tokens=2, temperature=0.0))
    assert quick.usage.output_tokens <= 2
    # The abandoned 200-token story was cut short, not finished before serving us.
    assert time.monotonic() - started < 30


async def test_concurrent_callers_queue_without_blocking_the_loop() -> None:
    clients = [local(SMOL) for _ in range(2)]  # two clients, one shared engine
    ticks: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    tick_task = asyncio.create_task(ticker())
    reqs = [
        GenerateRequest.from_prompt(f"Name a fruit number {i}.", max_tokens=6, temperature=0.0)
        for i in range(8)
    ]
    results = await asyncio.gather(*(clients[i % 2].generate(r) for i, r in enumerate(reqs)))
    stop.set()
    await tick_task
    assert len(results) == 8 and all(r.usage.output_tokens > 0 for r in results)
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 20 and max(gaps) < 1.0  # the loop kept running while llama worked


def test_each_model_is_loaded_once() -> None:
    for name in EMBEDDED:
        path = model_path(resolve(name))
        assert path.is_file()
        assert engine_for(path) is engine_for(path)


@pytest.mark.parametrize("name", list(EMBEDDED))
def test_embedded_specs(name: str) -> None:
    spec = resolve(name)
    assert spec.provider == "local" and spec.permits("benchmarking")


@pytest.mark.parametrize("name", [SMOL, GEMMA])
async def test_choices_hold_the_answer_to_one_of_them(name: str) -> None:
    """A grammar keeps even a base model to the labels (what tiny judges need)."""
    client = local(name)
    choices = ("A>>B", "A>B", "A=B", "B>A", "B>>A", 'say "x"\n')
    answers = set()
    for seed, prompt in enumerate(["Which is better, tea or coffee?", "The sky is", "Hi"]):
        result = await client.generate(
            GenerateRequest.from_prompt(
                prompt, max_tokens=8, temperature=1.0, seed=seed, choices=choices
            )
        )
        answers.add(result.text)
    assert answers <= set(choices)
