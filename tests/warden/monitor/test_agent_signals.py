"""Coding-agent traffic in the monitor (pure): a grant for evaluation used as a daily
coding assistant is a purpose mismatch with evidence; a benchmark harness that runs
agents on known exercises is not."""

from __future__ import annotations

from benchwarden.warden.monitor import signals as sg
from benchwarden.warden.monitor.scoring import assess
from tests.warden.monitor.test_signals import CFG, DAY, T0, row

AGENT = ["client:claude-code", "agent", "coding_tools", "tool_loop"]


def _daily_assistant() -> list[sg.UsageRow]:
    """Three working sessions of five hours, a turn every two minutes, own code."""
    rows = []
    for session in range(3):
        start = session * 8 * 3600
        for turn in range(150):
            flags = [*AGENT, f"session:s{session}"]
            rows.append(row(start + turn * 120, purpose="benchmarking", flags=flags))
    return rows


def _benchmark_harness() -> list[sg.UsageRow]:
    """Two hundred exercises, one short session each (five turns in three minutes),
    every prompt a known benchmark item."""
    rows = []
    for exercise in range(200):
        start = exercise * 400
        for turn in range(5):
            flags = [*AGENT, f"session:e{exercise}"]
            rows.append(
                row(
                    start + turn * 36,
                    purpose="benchmarking",
                    flags=flags,
                    benchmark=f"polyglot/{exercise}",
                )
            )
    return rows


def test_daily_coding_sessions_under_an_evaluation_grant_are_a_purpose_mismatch() -> None:
    rows = _daily_assistant()
    found = sg.all_signals(rows, T0, DAY, CFG)
    agent = found["agent_sessions"]
    assert agent.value == 1.0 and agent.strength > 0.9
    assert agent.detail["sessions"] == 3 and agent.detail["longest_session_hours"] > 4.9
    assert agent.detail["clients"] == {"claude-code": 450}
    verdict = assess(found, {"benchmarking", "safety-evaluation"})
    assert verdict.kind == "purpose-mismatch" and verdict.level != "none"
    assert verdict.top[0] == "agent_sessions"


def test_benchmark_runs_that_exercise_tools_are_not() -> None:
    rows = _benchmark_harness()
    found = sg.all_signals(rows, T0, DAY, CFG)
    assert found["agent_sessions"].detail["sessions"] == 200
    assert found["agent_sessions"].strength == 0.0  # sessions of minutes, not hours
    verdict = assess(found, {"benchmarking"})
    assert verdict.parts["purpose-mismatch"] == 0.0


def test_the_same_sessions_are_fine_under_a_grant_for_product_development() -> None:
    found = sg.all_signals(_daily_assistant(), T0, DAY, CFG)
    assert assess(found, {"product-development"}).parts["purpose-mismatch"] == 0.0


def test_plain_chat_traffic_has_no_agent_signal() -> None:
    rows = [row(i * 60, purpose="benchmarking") for i in range(100)]
    signal = sg.agent_sessions(rows, CFG)
    assert signal.value == 0.0 and signal.strength == 0.0
    assert sg.agent_sessions(rows[:3], CFG).detail["insufficient"]
