"""The embedded models as a Transport: ``local/smollm2-135m`` and ``local/gemma3-270m``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import BadRequest, ModelError, ModelTimeout, ModelUnavailable
from benchwarden.models.local.engine import (
    LlamaEngine,
    LocalCall,
    LocalOutcome,
    NoChatTemplate,
    engine_for,
)
from benchwarden.models.local.files import gemma3_path, smollm2_path
from benchwarden.models.openai_client import chat_messages, completion_prompt
from benchwarden.models.types import (
    Choice,
    GenerateRequest,
    GenerateResult,
    Mode,
    StreamDelta,
    Usage,
    map_finish_reason,
)

# llama-cpp-python's own defaults, used when a request leaves them unset.
DEFAULT_TEMPERATURE = {Mode.CHAT: 0.2, Mode.COMPLETION: 0.8}
DEFAULT_TOP_P = 0.95


def model_path(spec: ModelSpec) -> Path:
    if spec.upstream_model == "smollm2":
        return smollm2_path(spec.name)
    if spec.upstream_model == "gemma3":
        return gemma3_path(spec.name)
    raise ModelUnavailable(spec.name, f"no embedded model called {spec.upstream_model!r}")


class LocalTransport:
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.endpoint = f"local://{spec.upstream_model}"
        self._engine: LlamaEngine | None = None

    def _get_engine(self) -> LlamaEngine:
        if self._engine is None:
            self._engine = engine_for(model_path(self.spec))
            self.endpoint = f"local://{self._engine.path.name}"
        return self._engine

    def _mode(self, request: GenerateRequest) -> Mode:
        if request.mode is not None:
            return request.mode
        return Mode.COMPLETION if request.prompt is not None else self.spec.mode

    def _call(self, request: GenerateRequest, mode: Mode, index: int) -> LocalCall:
        seed = None if request.seed is None else request.seed + index
        return LocalCall(
            chat=chat_messages(request) if mode is Mode.CHAT else None,
            text=completion_prompt(request) if mode is Mode.COMPLETION else None,
            max_tokens=request.max_tokens,
            temperature=(
                request.temperature
                if request.temperature is not None
                else DEFAULT_TEMPERATURE[mode]
            ),
            top_p=request.top_p if request.top_p is not None else DEFAULT_TOP_P,
            stop=list(request.stop),
            seed=seed,
            choices=request.choices,
        )

    def _error(self, exc: Exception) -> ModelError:
        if isinstance(exc, NoChatTemplate):
            return BadRequest(self.name, str(exc), hint="Use --mode completion for this model.")
        if isinstance(exc, ValueError):
            return BadRequest(self.name, str(exc), hint="Shorten the prompt.")
        return ModelUnavailable(self.name, f"llama.cpp failed: {type(exc).__name__}: {exc}")

    def _metadata(self, mode: Mode, call: LocalCall) -> dict[str, object]:
        return {
            "provider": "local",
            "mode": mode.value,
            "engine": "llama.cpp",
            "temperature": call.temperature,
            "top_p": call.top_p,
        }

    async def attempt(self, request: GenerateRequest, timeout_s: float) -> GenerateResult:
        mode = self._mode(request)
        engine = self._get_engine()
        started = time.perf_counter()
        choices: list[Choice] = []
        usage = Usage()
        call = self._call(request, mode, 0)
        try:
            async with asyncio.timeout(timeout_s):
                for index in range(request.n):
                    call = self._call(request, mode, index)
                    outcome = await engine.generate(call)
                    choices.append(Choice(outcome.text, map_finish_reason(outcome.finish_reason)))
                    usage = usage + Usage(outcome.input_tokens, outcome.output_tokens)
        except TimeoutError as exc:
            raise ModelTimeout(self.name, f"no answer within {timeout_s:.0f}s") from exc
        except ModelError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc
        return GenerateResult(
            model=self.name,
            choices=tuple(choices),
            usage=usage,
            latency_s=time.perf_counter() - started,
            mode=mode,
            endpoint=self.endpoint,
            metadata=self._metadata(mode, call),
        )

    async def attempt_stream(
        self, request: GenerateRequest, timeout_s: float
    ) -> AsyncIterator[StreamDelta]:
        mode = self._mode(request)
        engine = self._get_engine()
        call = self._call(request, mode, 0)
        outcome: LocalOutcome | None = None
        try:
            async with asyncio.timeout(timeout_s):
                async for item in engine.stream(call):
                    if isinstance(item, str):
                        yield StreamDelta(text=item)
                    else:
                        outcome = item
        except TimeoutError as exc:
            raise ModelTimeout(self.name, f"no answer within {timeout_s:.0f}s") from exc
        except ModelError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc
        if outcome is not None:
            yield StreamDelta(
                finish_reason=map_finish_reason(outcome.finish_reason),
                usage=Usage(outcome.input_tokens, outcome.output_tokens),
            )

    async def aclose(self) -> None:
        """Engines live for the process; nothing to close per client."""
