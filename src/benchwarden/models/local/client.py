"""The embedded models as a Transport: ``local/smollm2-135m`` and ``local/gemma3-270m``.

Tool use (see ``tools``, ``tool_plan``, ``tool_grammar``): a request that declares
tools is decoded under a grammar, so a call that comes back is one declared tool with
arguments its schema allows (``finish_reason`` TOOL_CALLS, empty text). Streamed,
such a request is generated whole first when its answer may be a call, then sent as
one ``ToolCallDelta`` (or, when the model chose prose, the text in one piece); when
its answer can only be text (``tool_choice`` none, an answer from tool results), the
text streams as it comes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

from benchwarden.models.config import ModelSpec
from benchwarden.models.content import ToolCallDelta
from benchwarden.models.errors import (
    CONTEXT_LENGTH_EXCEEDED,
    BadRequest,
    ModelError,
    ModelTimeout,
    ModelUnavailable,
)
from benchwarden.models.local.engine import (
    ContextOverflow,
    GrammarRejected,
    LlamaEngine,
    LocalCall,
    LocalOutcome,
    NoChatTemplate,
    engine_for,
)
from benchwarden.models.local.files import gemma3_path, smollm2_path
from benchwarden.models.local.tool_plan import Branch, ToolChoiceError, ToolPlan, plan_tools
from benchwarden.models.local.tools import (
    ToolGrammar,
    cut_at_stop,
    needs_tools,
    read_call,
    render_chat,
    render_completion,
)
from benchwarden.models.openai_client import chat_messages, completion_prompt
from benchwarden.models.types import (
    Choice,
    FinishReason,
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

    def _plan(self, request: GenerateRequest) -> ToolPlan | None:
        if not needs_tools(request):
            return None
        try:
            return plan_tools(request)
        except ToolChoiceError as exc:
            raise BadRequest(self.name, str(exc), hint="Name one of the declared tools.") from exc

    def _call(
        self, request: GenerateRequest, mode: Mode, index: int, plan: ToolPlan | None = None
    ) -> LocalCall:
        seed = None if request.seed is None else request.seed + index
        chat = text = None
        if plan is None:
            chat = chat_messages(request) if mode is Mode.CHAT else None
            text = completion_prompt(request) if mode is Mode.COMPLETION else None
        else:
            chat = render_chat(request, plan) if mode is Mode.CHAT else None
            text = render_completion(request, plan) if mode is Mode.COMPLETION else None
        call = LocalCall(
            chat=chat,
            text=text,
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
        if plan is not None:
            call.grammar = ToolGrammar(plan)
            call.choices = ()
            # A stop string must not cut a call short: while the answer may be a call,
            # stops apply only once it has turned out to be prose.
            if plan.branch is not Branch.TEXT:
                call.stop = []
                call.text_stops = list(request.stop) if plan.branch is Branch.EITHER else []
        return call

    def _choice(
        self, outcome: LocalOutcome, plan: ToolPlan | None, stops: tuple[str, ...]
    ) -> Choice:
        finish = map_finish_reason(outcome.finish_reason)
        if plan is None or plan.branch is Branch.TEXT:
            return Choice(outcome.text, finish)
        call = read_call(outcome.text, plan.tools)
        if call is not None:
            return Choice("", FinishReason.TOOL_CALLS, (call,))
        # Prose (the model's choice), or a call cut short at max_tokens (kept as text
        # with finish_reason LENGTH: never a call that is not valid).
        text, stopped = cut_at_stop(outcome.text, stops)
        return Choice(text, FinishReason.STOP if stopped else finish)

    def _error(self, exc: Exception) -> ModelError:
        if isinstance(exc, NoChatTemplate):
            return BadRequest(self.name, str(exc), hint="Use --mode completion for this model.")
        if isinstance(exc, GrammarRejected):
            return BadRequest(self.name, str(exc), hint="Simplify the tools' JSON schemas.")
        if isinstance(exc, ContextOverflow):
            # Worded and coded as the OpenAI API does (context_length_exceeded), sizes first.
            return BadRequest(
                self.name,
                f"This model's maximum context length is {exc.window} tokens, but the prompt "
                f"has {exc.prompt_tokens} tokens: it does not fit, with room for the answer",
                hint="Shorten the prompt or the conversation; for an embedded model the "
                "window can be raised with BENCHWARDEN_LOCAL_CTX.",
                code=CONTEXT_LENGTH_EXCEEDED,
            )
        if isinstance(exc, ValueError):
            return BadRequest(self.name, str(exc), hint="Check the request's parameters.")
        return ModelUnavailable(self.name, f"llama.cpp failed: {type(exc).__name__}: {exc}")

    def _metadata(self, mode: Mode, call: LocalCall, plan: ToolPlan | None) -> dict[str, object]:
        data: dict[str, object] = {
            "provider": "local",
            "mode": mode.value,
            "engine": "llama.cpp",
            "temperature": call.temperature,
            "top_p": call.top_p,
        }
        if plan is not None:
            data["tools"] = {"decoding": plan.branch.value, "reason": plan.reason}
        return data

    async def attempt(self, request: GenerateRequest, timeout_s: float) -> GenerateResult:
        mode = self._mode(request)
        plan = self._plan(request)
        engine = self._get_engine()
        started = time.perf_counter()
        choices: list[Choice] = []
        usage = Usage()
        call = self._call(request, mode, 0, plan)
        try:
            async with asyncio.timeout(timeout_s):
                for index in range(request.n):
                    call = self._call(request, mode, index, plan)
                    outcome = await engine.generate(call)
                    choices.append(self._choice(outcome, plan, request.stop))
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
            metadata=self._metadata(mode, call, plan),
        )

    async def attempt_stream(
        self, request: GenerateRequest, timeout_s: float
    ) -> AsyncIterator[StreamDelta]:
        mode = self._mode(request)
        plan = self._plan(request)
        if plan is not None and plan.branch is not Branch.TEXT:
            async for delta in self._stream_whole(request, timeout_s):
                yield delta
            return
        engine = self._get_engine()
        call = self._call(request, mode, 0, plan)
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

    async def _stream_whole(
        self, request: GenerateRequest, timeout_s: float
    ) -> AsyncIterator[StreamDelta]:
        """An answer that may be a call: generated whole, then sent in one piece."""
        result = await self.attempt(dataclasses.replace(request, n=1), timeout_s)
        choice = result.choices[0]
        for index, call in enumerate(choice.tool_calls):
            yield StreamDelta(
                tool_call=ToolCallDelta(index, call.id, call.name, call.arguments, call.kind)
            )
        if choice.text:
            yield StreamDelta(text=choice.text)
        yield StreamDelta(finish_reason=choice.finish_reason, usage=result.usage)

    async def aclose(self) -> None:
        """Engines live for the process; nothing to close per client."""
