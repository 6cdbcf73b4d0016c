"""The response cache: identical requests hit, anything that changes the answer misses,
and concurrent writers (threads and processes) never leave a torn entry."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from benchwarden.models.cache import ResponseCache, cache_key
from benchwarden.models.config import ModelSpec
from benchwarden.models.factory import open_client
from benchwarden.models.types import (
    Choice,
    FinishReason,
    GenerateRequest,
    GenerateResult,
    Mode,
    Usage,
)
from benchwarden.testing.mock_upstream import MockUpstream


def spec_for(mock: MockUpstream) -> ModelSpec:
    return ModelSpec(
        name="cached", provider="openai", upstream_model="m", base_url=f"{mock.base_url}/v1"
    )


async def test_identical_requests_hit(mock: MockUpstream, tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    client = open_client(spec_for(mock), cache=cache)
    req = GenerateRequest.from_prompt("same", seed=1, temperature=0.0)
    first = await client.generate(req)
    second = await client.generate(req)
    assert not first.cached and second.cached and second.text == first.text
    assert mock.stats.requests == 1
    # Anything that can change the answer is part of the key.
    for changed in (
        GenerateRequest.from_prompt("other", seed=1, temperature=0.0),
        GenerateRequest.from_prompt("same", seed=2, temperature=0.0),
        GenerateRequest.from_prompt("same", seed=1, temperature=0.5),
        GenerateRequest.from_prompt("same", seed=1, temperature=0.0, epoch=1),
    ):
        assert not (await client.generate(changed)).cached
    streamed = "".join([d.text async for d in client.stream(req)])
    assert streamed == first.text and mock.stats.requests == 5
    await client.aclose()


async def test_cache_off(mock: MockUpstream) -> None:
    client = open_client(spec_for(mock), use_cache=False)
    req = GenerateRequest.from_prompt("same")
    await client.generate(req)
    await client.generate(req)
    await client.aclose()
    assert mock.stats.requests == 2


def test_key_depends_on_model_and_endpoint() -> None:
    req = GenerateRequest.from_prompt("x")
    keys = {
        cache_key("a", "http://h1", req),
        cache_key("b", "http://h1", req),
        cache_key("a", "http://h2", req),
    }
    assert len(keys) == 3


def _result(text: str) -> GenerateResult:
    return GenerateResult(
        model="m",
        choices=(Choice(text, FinishReason.STOP),),
        usage=Usage(1, 2),
        latency_s=0.1,
        mode=Mode.CHAT,
        endpoint="e",
    )


def _hammer(directory: str, worker: int) -> None:
    cache = ResponseCache(Path(directory))
    for i in range(200):
        cache.put(f"{i % 10:064x}", _result(f"w{worker}-{i}" * 50))
        got = cache.get(f"{(i + 3) % 10:064x}")
        assert got is None or got.text.startswith("w")


def test_concurrent_writers_never_tear(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(tmp_path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    cache = ResponseCache(tmp_path)
    for i in range(10):
        entry = cache.get(f"{i:064x}")
        assert entry is not None and entry.text.startswith("w")
    assert not list(tmp_path.rglob(".tmp-*"))
    (tmp_path / "ab").mkdir(exist_ok=True)
    (tmp_path / "ab" / f"{'ab' + '0' * 62}.json").write_text("{torn")
    assert cache.get("ab" + "0" * 62) is None  # corrupt entry = miss, not a crash
