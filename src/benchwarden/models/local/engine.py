"""One llama.cpp model per process, served by its own worker thread.

A llama.cpp context is not thread-safe, so every call on a model runs on that
model's single worker thread (FIFO): concurrent callers queue instead of crashing,
and the event loop never blocks. Streams cross from the worker to the loop through
``call_soon_threadsafe``; a caller that goes away sets a cancel flag that llama.cpp
checks after every token.

Chat prompts are rendered here with the model's own Jinja template (as
llama-cpp-python's chat handler does) so that chat and completion share one path
with exact token counts and cancellation.

Grammars (``choices``, tool calls) are checked by llama.cpp's own parser before
decoding: llama-cpp-python 0.3.36 hands a grammar it cannot parse to the sampler
chain as a null pointer, which would take the process down.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

_END = object()
# llama-cpp-python silences loading by swapping the process's stdout/stderr file
# descriptors; two loads at once on different threads would leave them swapped
# (the program's output silently lost), so loads take turns.
_LOAD_LOCK = threading.Lock()
_QUIET_LOG: Any = None


def _quiet_llama_logs() -> None:
    """Route llama.cpp's native log to Python logging (it prints to stderr otherwise)."""
    global _QUIET_LOG
    if _QUIET_LOG is not None:
        return
    import ctypes
    import logging

    import llama_cpp

    log = logging.getLogger("benchwarden.llama_cpp")

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def forward(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        # Failures surface as exceptions; the native chatter (some of it at error
        # level, such as the SWA cache notice) is kept for --verbose debugging only.
        log.debug("[%d] %s", level, text.decode("utf-8", "replace").rstrip())

    _QUIET_LOG = forward
    llama_cpp.llama_log_set(forward, ctypes.c_void_p(0))


class GrammarSource(Protocol):
    """Builds a GBNF grammar; ``accepts`` tells whether llama.cpp can parse a piece."""

    def gbnf(self, accepts: Callable[[str], bool]) -> str: ...


class GrammarRejected(ValueError):
    """llama.cpp cannot parse the grammar built for a request."""


class ContextOverflow(ValueError):
    """The prompt does not fit the model's context window: nothing was generated (the
    model did not refuse anything; the request was too long for it)."""

    def __init__(self, prompt_tokens: int, window: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.window = window
        super().__init__(
            f"prompt of {prompt_tokens} tokens exceeds the model's context window of "
            f"{window} tokens"
        )


@dataclass(slots=True)
class LocalCall:
    """A fully prepared generation: chat messages or raw text, and sampling knobs."""

    chat: list[dict[str, str]] | None
    text: str | None
    max_tokens: int
    temperature: float
    top_p: float
    stop: list[str]
    seed: int | None
    cancel: threading.Event = field(default_factory=threading.Event)
    choices: tuple[str, ...] = ()
    # Decoding under this grammar (it takes the place of ``choices``).
    grammar: GrammarSource | None = None
    # Stop strings that end a text answer but not a JSON tool call (an output that
    # starts with "{"); they are left in the text, for the caller to cut.
    text_stops: list[str] = field(default_factory=list)


@dataclass(slots=True)
class LocalOutcome:
    text: str
    finish_reason: str
    input_tokens: int
    output_tokens: int


@functools.lru_cache(maxsize=32)
def _choice_grammar(choices: tuple[str, ...]) -> str:
    """A GBNF grammar whose only sentences are ``choices``."""

    def literal(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    return "root ::= (" + " | ".join(literal(c) for c in choices) + ")"


class NoChatTemplate(RuntimeError):
    pass


class LlamaEngine:
    def __init__(self, path: Path, *, n_ctx: int = 4096, n_threads: int | None = None) -> None:
        self.path = path
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"llama-{path.stem[:20]}"
        )
        self._llama: Any = None
        self._formatter: Any = None
        self._eos_text = ""
        self._eos_id = -1
        self._grammar_verdicts: dict[str, bool] = {}

    # ---- worker-thread side -------------------------------------------------
    def _load(self) -> Any:
        if self._llama is None:
            from llama_cpp import Llama

            with _LOAD_LOCK:
                _quiet_llama_logs()
                self._llama = Llama(
                    model_path=str(self.path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    verbose=False,
                )
            self._eos_id = int(self._llama.token_eos())
            if self._eos_id >= 0:
                self._eos_text = self._llama.detokenize([self._eos_id], special=True).decode(
                    "utf-8", errors="ignore"
                )
        return self._llama

    def _chat_formatter(self, llama: Any) -> Any:
        if self._formatter is None:
            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise NoChatTemplate(f"{self.path.name} has no chat template")
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            bos_id = int(llama.token_bos())
            bos = (
                llama.detokenize([bos_id], special=True).decode("utf-8", "ignore")
                if bos_id >= 0
                else ""
            )
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=self._eos_text,
                bos_token=bos,
                stop_token_ids=[self._eos_id] if self._eos_id >= 0 else None,
            )
        return self._formatter

    def accepts(self, grammar: str) -> bool:
        """Whether llama.cpp parses ``grammar`` (start rule ``root``). Worker thread."""
        verdict = self._grammar_verdicts.get(grammar)
        if verdict is None:
            import llama_cpp

            llama = self._load()
            sampler = llama_cpp.llama_sampler_init_grammar(
                llama_cpp.llama_model_get_vocab(llama.model), grammar.encode("utf-8"), b"root"
            )
            verdict = bool(sampler)
            if verdict:
                llama_cpp.llama_sampler_free(sampler)
            if len(self._grammar_verdicts) >= 512:
                self._grammar_verdicts.clear()
            self._grammar_verdicts[grammar] = verdict
        return verdict

    def _grammar(self, call: LocalCall) -> Any:
        if call.grammar is not None:
            text = call.grammar.gbnf(self.accepts)
        elif call.choices:
            text = _choice_grammar(call.choices)
        else:
            return None
        if not self.accepts(text):
            raise GrammarRejected("llama.cpp could not parse the grammar built for this request")
        from llama_cpp.llama_grammar import LlamaGrammar

        return LlamaGrammar.from_string(text, verbose=False)

    def _prepare(self, call: LocalCall) -> tuple[Any, list[int], list[str]]:
        llama = self._load()
        stop = list(call.stop)
        if call.chat is not None:
            rendered = self._chat_formatter(llama)(messages=call.chat)
            tokens = llama.tokenize(rendered.prompt.encode("utf-8"), add_bos=False, special=True)
            if self._eos_text:
                stop.append(self._eos_text)
        else:
            tokens = llama.tokenize((call.text or "").encode("utf-8"), add_bos=True, special=True)
        if len(tokens) + 1 >= self.n_ctx:  # at least one token must fit after it
            raise ContextOverflow(len(tokens), self.n_ctx)
        return llama, tokens, stop

    def _run(self, call: LocalCall, emit: Callable[[str], None] | None) -> LocalOutcome:
        llama, tokens, stop = self._prepare(call)
        # Evaluate the whole prompt every time: reusing a cached prefix changes the
        # logits slightly (single-token vs batch kernels), and with them what a seed
        # samples; the same request must give the same answer.
        llama.reset()
        from llama_cpp import StoppingCriteriaList

        prompt_length = len(tokens)

        def should_stop(input_ids: Any, _logits: Any) -> bool:
            if call.cancel.is_set():
                return True  # llama.cpp ends on end-of-generation itself
            if not call.text_stops:
                return False
            produced = llama.detokenize(list(input_ids[prompt_length:])).decode(
                "utf-8", errors="ignore"
            )
            return not produced.startswith("{") and any(s in produced for s in call.text_stops)

        kwargs: dict[str, Any] = {
            "prompt": tokens,
            "max_tokens": call.max_tokens,
            "temperature": call.temperature,
            "top_p": call.top_p,
            "stop": stop,
            "seed": call.seed,
            "stopping_criteria": StoppingCriteriaList([should_stop]),
        }
        grammar = self._grammar(call)
        if grammar is not None:
            kwargs["grammar"] = grammar
        if emit is None:
            out = llama.create_completion(**kwargs)
            choice = out["choices"][0]
            usage = out.get("usage") or {}
            return LocalOutcome(
                choice["text"],
                choice.get("finish_reason") or "stop",
                int(usage.get("prompt_tokens", len(tokens))),
                int(usage.get("completion_tokens", 0)),
            )
        parts: list[str] = []
        finish = "stop"
        for chunk in llama.create_completion(stream=True, **kwargs):
            choice = chunk["choices"][0]
            if choice.get("text"):
                parts.append(choice["text"])
                emit(choice["text"])
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
            if call.cancel.is_set():
                break
        text = "".join(parts)
        # Streamed chunks carry no usage: a length stop used every token; otherwise
        # count by re-tokenizing the text (exact but for the tokens of a stop string).
        if finish == "length":
            produced = call.max_tokens
        else:
            produced = len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))
        return LocalOutcome(text, finish, len(tokens), produced)

    # ---- event-loop side ----------------------------------------------------
    async def generate(self, call: LocalCall) -> LocalOutcome:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._run, call, None)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            call.cancel.set()  # the worker stops at its next token
            raise

    async def stream(self, call: LocalCall) -> AsyncIterator[str | LocalOutcome]:
        """Text pieces as they come, then the ``LocalOutcome``."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()

        def emit(piece: str) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, piece)

        def work() -> None:
            try:
                outcome: object = self._run(call, emit)
            except BaseException as exc:  # handed to the caller below
                outcome = exc
            loop.call_soon_threadsafe(queue.put_nowait, outcome)
            loop.call_soon_threadsafe(queue.put_nowait, _END)

        self._executor.submit(work)
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, str | LocalOutcome)
                yield item
        finally:
            call.cancel.set()


_ENGINES: dict[Path, LlamaEngine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(path: Path) -> LlamaEngine:
    """The process-wide engine for a model file (loaded on first use, once).

    ``BENCHWARDEN_LOCAL_CTX`` sets its context window (4096), ``BENCHWARDEN_LOCAL_THREADS``
    its threads (default: every CPU of the machine)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(path)
        if engine is None:
            n_ctx = int(os.environ.get("BENCHWARDEN_LOCAL_CTX", "4096"))
            # Threads: the machine's CPUs, unless this process has a share of them (a
            # Ray engine actor or task sets it to the CPUs it was given).
            threads = int(os.environ.get("BENCHWARDEN_LOCAL_THREADS", "0")) or None
            engine = _ENGINES[path] = LlamaEngine(path, n_ctx=n_ctx, n_threads=threads)
        return engine
