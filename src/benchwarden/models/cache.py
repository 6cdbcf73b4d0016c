"""Content-addressed response cache on disk, and the client wrapper that uses it.

The key is a SHA-256 over (model, endpoint, mode, messages, system, prompt, sampling
parameters, seed, epoch). Each entry is one JSON file written to a temporary name
and renamed into place, so concurrent writers (threads or processes) never leave a
torn entry; a corrupt or unreadable entry counts as a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import (
    Choice,
    GenerateRequest,
    GenerateResult,
    Mode,
    StreamDelta,
    Usage,
)

CACHE_FORMAT = 1


def cache_key(model: str, endpoint: str, request: GenerateRequest) -> str:
    material = {
        "v": CACHE_FORMAT,
        "model": model,
        "endpoint": endpoint,
        "mode": request.mode.value if request.mode else None,
        "system": request.system,
        "messages": [
            [m.role, m.content, *([m.to_dict()["parts"]] if m.parts else [])]
            for m in request.messages
        ],
        "prompt": request.prompt,
        "params": request.sampling_params(),
        "epoch": request.epoch,
    }
    blob = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> GenerateResult | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            result = GenerateResult.from_dict(data, cached=True)
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return result

    def put(self, key: str, result: GenerateResult) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(result.to_dict(), handle, ensure_ascii=False)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class CachedClient:
    """Serves identical requests from the cache; streams are replayed in one delta."""

    def __init__(self, inner: ModelClient, cache: ResponseCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.endpoint = inner.endpoint

    async def generate(self, request: GenerateRequest) -> GenerateResult:
        key = cache_key(self.name, self.endpoint, request)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        result = await self.inner.generate(request)
        self.cache.put(key, result)
        return result

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamDelta]:
        key = cache_key(self.name, self.endpoint, request)
        hit = self.cache.get(key)
        if hit is not None:
            yield StreamDelta(text=hit.text)
            yield StreamDelta(finish_reason=hit.finish_reason, usage=hit.usage)
            return
        parts: list[str] = []
        final: StreamDelta | None = None
        meta: dict[str, Any] = {"streamed": True}
        async for delta in self.inner.stream(request):
            parts.append(delta.text)
            if delta.finish_reason is not None:
                final = delta
            yield delta
        if final is not None and final.finish_reason is not None and request.n == 1:
            self.cache.put(
                key,
                GenerateResult(
                    model=self.name,
                    choices=(Choice("".join(parts), final.finish_reason),),
                    usage=final.usage or Usage(),
                    latency_s=0.0,
                    mode=request.mode or Mode.CHAT,
                    endpoint=self.endpoint,
                    metadata=meta,
                ),
            )

    async def aclose(self) -> None:
        await self.inner.aclose()
