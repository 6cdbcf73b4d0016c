"""The real coding clients (npm, pinned by clients/package-lock.json) against the
scripted upstream directly, no warden: the baseline the warden tests build on.

Claude Code speaks Anthropic Messages, Codex CLI the Responses API; each must run
the shell tool the mock asks for, send its result back, and finish on the mock's
final text. A 403 mid-session stops each client with the server's message."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchwarden.testing.agent_upstream import ThreadedAgentUpstream
from benchwarden.testing.coding_clients import client_binary, run_claude, run_codex

pytestmark = pytest.mark.timeout(120)

PROMPT = "Create the file result.txt containing the word done, using the shell."
REFUSAL = "warden: key bw-test was revoked; this session is over."


@pytest.fixture(scope="module", autouse=True)
def _clients_installed() -> None:
    missing = [name for name in ("claude", "codex") if client_binary(name) is None]
    if missing:
        pytest.fail(f"coding clients not installed ({', '.join(missing)}): run `make clients`")


def test_claude_code_runs_its_shell_tool_against_anthropic_messages(tmp_path: Path) -> None:
    with ThreadedAgentUpstream(file_name="result.txt", content="done") as upstream:
        run = run_claude(
            upstream.base_url,
            PROMPT,
            timeout_s=60,
            work_dir=tmp_path / "work",
            home=tmp_path / "home",
        )
    assert not run.timed_out and run.exit_code == 0, run.stdout + run.stderr
    assert (run.work_dir / "result.txt").read_text() == "done\n"
    assert "Wrote result.txt." in run.stdout
    turns = upstream.conversation()
    assert [t.api for t in turns] == ["messages", "messages"]
    assert all(t.query == "beta=true" and t.body["stream"] is True for t in turns)
    assert turns[0].headers["x-api-key"] == "sk-ant-test"
    assert "Bash" in turns[0].tool_names
    assert upstream.saw_tool_result()
    results = [
        block
        for message in turns[1].body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]
    assert [r["tool_use_id"] for r in results] == ["toolu_mock01"]


def test_codex_runs_its_shell_tool_against_responses(tmp_path: Path) -> None:
    with ThreadedAgentUpstream(file_name="result.txt", content="done") as upstream:
        run = run_codex(
            upstream.base_url + "/v1",
            PROMPT,
            timeout_s=60,
            work_dir=tmp_path / "work",
            home=tmp_path / "home",
        )
    assert not run.timed_out and run.exit_code == 0, run.stdout + run.stderr
    assert (run.work_dir / "result.txt").read_text() == "done\n"
    assert "Wrote result.txt." in run.stdout
    turns = upstream.conversation()
    assert [t.api for t in turns] == ["responses", "responses"]
    assert turns[0].headers["authorization"] == "Bearer sk-test"
    assert turns[0].body["store"] is False and turns[0].body["stream"] is True
    assert "exec_command" in turns[0].tool_names
    outputs = [i for i in turns[1].body["input"] if i.get("type") == "function_call_output"]
    assert [o["call_id"] for o in outputs] == ["call_mock01"]
    assert upstream.saw_tool_result()


def test_claude_code_stops_on_a_403_mid_session_and_shows_the_message(tmp_path: Path) -> None:
    """No retry on 403: the second turn is refused and the client exits 1 with the
    server's message (Claude Code prints API errors on stdout in ``-p`` mode)."""
    body = {"type": "error", "error": {"type": "permission_error", "message": REFUSAL}}
    with ThreadedAgentUpstream() as upstream:
        upstream.fail_from(1, 403, body)
        run = run_claude(
            upstream.base_url,
            PROMPT,
            timeout_s=60,
            work_dir=tmp_path / "work",
            home=tmp_path / "home",
        )
    assert not run.timed_out and run.exit_code == 1
    assert f"API Error: 403 {REFUSAL}" in run.stdout
    assert len(upstream.conversation()) == 2


def test_codex_stops_on_a_403_mid_session_and_shows_the_message(tmp_path: Path) -> None:
    """Codex retries a 403 turn ``stream_max_retries`` times (5 by default, about 6 s);
    with retries off it stops at once with the server's message on stderr."""
    body = {"error": {"message": REFUSAL, "type": "permission_error", "code": "key_revoked"}}
    with ThreadedAgentUpstream() as upstream:
        upstream.fail_from(1, 403, body)
        run = run_codex(
            upstream.base_url + "/v1",
            PROMPT,
            timeout_s=60,
            retries=0,
            work_dir=tmp_path / "work",
            home=tmp_path / "home",
        )
    assert not run.timed_out and run.exit_code == 1
    assert f"unexpected status 403 Forbidden: {REFUSAL}" in run.stderr
    assert len(upstream.conversation()) == 2
