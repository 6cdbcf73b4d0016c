"""A stream's meter: pieces counted, cut at max_tokens, reservation extended while the
grant has room and the stream ended when it has none."""

from __future__ import annotations

from benchwarden.models.types import GenerateRequest, Message
from benchwarden.warden.limits import Limits, Reservation, SlidingWindowLimiter
from benchwarden.warden.tokens import Meter, prompt_bound, rough_estimate


def test_prompt_bound_covers_bytes_and_templates() -> None:
    request = GenerateRequest(messages=(Message("user", "héllo"),), system="sys")
    assert prompt_bound(request) == len("héllo".encode()) + 3 + 2 * 8 + 64
    assert rough_estimate(request) < prompt_bound(request)


def test_cut_at_max_tokens() -> None:
    lim = SlidingWindowLimiter()
    reservation = lim.reserve(1, 100, 0.0)
    assert isinstance(reservation, Reservation)
    meter = Meter(lim, reservation, 10, 3, clock=lambda: 0.0)
    assert [meter.admit_piece() for _ in range(4)] == [None, None, None, "max_tokens"]
    assert meter.counted().output_tokens == 3


def test_extends_then_ends_when_the_grant_is_full() -> None:
    lim = SlidingWindowLimiter()
    lim.set_limits(1, Limits(tpm=40))
    # A reservation that undershoots (as an estimate that was beaten would).
    reservation = lim.reserve(1, 12, 0.0)
    assert isinstance(reservation, Reservation)
    meter = Meter(lim, reservation, prompt_tokens=10, max_tokens=1000, clock=lambda: 1.0)
    results = [meter.admit_piece() for _ in range(40)]
    sent = results.index("token_limit")
    assert sent == 30  # 10 prompt + 30 pieces = the grant's 40 tokens
    assert lim.usage(1, 1.0)[1] == 40
    lim.settle(reservation, meter.counted().total_tokens, 2.0)
    assert lim.usage(1, 2.0)[1] == 40


def test_prompt_bound_counts_tools_tool_turns_thinking_and_images() -> None:
    from benchwarden.models.content import (
        ImagePart,
        Reasoning,
        ToolCall,
        ToolResult,
        ToolSpec,
    )
    from benchwarden.models.types import GenerateRequest, Message
    from benchwarden.warden.tokens import IMAGE_TOKENS, prompt_bound

    plain = GenerateRequest(messages=(Message("user", "hi"),))
    schema = {"type": "object", "properties": {"command": {"type": "string"}}}
    tool = ToolSpec("Bash", "Run a shell command. " * 50, schema)
    with_tools = GenerateRequest(messages=plain.messages, tools=(tool,))
    assert prompt_bound(with_tools) >= prompt_bound(plain) + len(tool.description)
    output = "x" * 5000
    turns = GenerateRequest(
        messages=(
            Message("user", "hi"),
            Message(
                "assistant",
                "",
                (Reasoning("thinking " * 100, signature="s" * 500), ToolCall("c1", "Bash", "{}")),
            ),
            Message("user", "", (ToolResult("c1", output), ImagePart("image/png", "AAAA"))),
        )
    )
    bound = prompt_bound(turns)
    assert bound >= len(output) + len("thinking " * 100) + IMAGE_TOKENS
    assert bound < len(output) + len("thinking " * 100) + IMAGE_TOKENS + 500  # no signature
