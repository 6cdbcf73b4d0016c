"""The real coding clients through warden, under a grant's terms, to the scripted
upstream: each to a backend of its own API (relayed as sent) and of the other one
(translated: Claude Code onto Chat Completions, Codex onto Anthropic Messages).

Each run must finish the tool round trip (the file exists), leave the calls in the
audit chain with the tools declared and called and the client named, show up in the
usage monitor as agent traffic, and stop with warden's refusal once the key is
revoked mid-session."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from benchwarden.testing.agent_upstream import AgentUpstream, ThreadedAgentUpstream
from benchwarden.testing.coding_clients import (
    CLAUDE_MODEL,
    CODEX_MODEL,
    ClientRun,
    client_binary,
    run_claude,
    run_codex,
)
from benchwarden.warden.app import Runtime, WardenSettings, create_app, runtime_of
from benchwarden.warden.backends import Backends, parse_backends, parse_routes
from benchwarden.warden.server import BackgroundServer
from benchwarden.warden.tenancy import GrantTerms

pytestmark = pytest.mark.timeout(180)

PROMPT = "Create the file result.txt containing the word done, using the shell."
KEY_ENV = "AGENT_TEST_UPSTREAM_KEY"


@pytest.fixture(scope="module", autouse=True)
def _clients_installed() -> None:
    missing = [name for name in ("claude", "codex") if client_binary(name) is None]
    if missing:
        pytest.fail(f"coding clients not installed ({', '.join(missing)}): run `make clients`")


@dataclass
class Served:
    url: str
    runtime: Runtime
    upstream: AgentUpstream
    key: str
    key_id: str

    def usage(self, wait_for: Callable[[list[Any]], bool]) -> list[Any]:
        deadline = time.monotonic() + 5
        while True:
            now = datetime.now(UTC)
            rows = self.runtime.store.monitor.usage(now - timedelta(days=1), now + timedelta(1))
            if wait_for(rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)

    def audit(self, wait_for: Callable[[list[Any]], bool]) -> list[Any]:
        deadline = time.monotonic() + 5
        while True:
            rows = self.runtime.tenancy.audit_tail(10_000)
            if wait_for(rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)


def _backend(name: str, api: str, upstream: AgentUpstream) -> str:
    if api == "anthropic":
        return f"""
[backends."{name}"]
provider = "anthropic"
base_url = "{upstream.base_url}"
model = "upstream-claude"
api_key_env = "{KEY_ENV}"
max_attempts = 1
"""
    apis = '["chat"]' if api == "chat" else '["chat", "responses"]'
    return f"""
[backends."{name}"]
provider = "openai"
base_url = "{upstream.base_url}/v1"
model = "upstream-gpt"
api_key_env = "{KEY_ENV}"
apis = {apis}
max_attempts = 1
"""


@pytest.fixture
def serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, str], Served]]:
    """A warden serving ``model`` from a backend of ``api``, a grant for benchmarking
    and safety evaluation, and a key carrying one purpose (so the clients, which send
    no purpose header, are admitted under it)."""
    monkeypatch.setenv(KEY_ENV, "sk-upstream-agent")
    started: list[tuple[BackgroundServer, ThreadedAgentUpstream]] = []

    def make(model: str, api: str) -> Served:
        threaded = ThreadedAgentUpstream(file_name="result.txt", content="done")
        upstream = threaded.__enter__()
        text = _backend(model, api, upstream)
        backends = Backends(parse_backends(text), routes=parse_routes(text))
        settings = WardenSettings(watch_interval_s=0.05, monitor_flush_s=0.05)
        app = create_app(str(tmp_path / "warden.db"), backends, admin_token="", settings=settings)
        server = BackgroundServer(app).start()
        started.append((server, threaded))
        runtime = runtime_of(app)
        runtime.tenancy.create_org("lab")
        terms = GrantTerms(("benchmarking", "safety-evaluation"), None, None, None)
        runtime.tenancy.add_grant("lab", model, terms)
        record, secret = runtime.tenancy.create_key("lab", ["benchmarking"])
        return Served(server.url, runtime, upstream, secret, record.key_id)

    yield make
    for server, upstream in started:
        server.stop()
        upstream.__exit__(None, None, None)


def _claude(served: Served, tmp_path: Path) -> ClientRun:
    return run_claude(
        served.url,
        PROMPT,
        api_key=served.key,
        timeout_s=90,
        work_dir=tmp_path / "work",
        home=tmp_path / "home",
    )


def _codex(served: Served, tmp_path: Path, retries: int | None = None) -> ClientRun:
    return run_codex(
        served.url + "/v1",
        PROMPT,
        api_key=served.key,
        timeout_s=90,
        retries=retries,
        work_dir=tmp_path / "work",
        home=tmp_path / "home",
    )


def _check_session(served: Served, run: ClientRun, endpoint: str, tool: str, client: str) -> None:
    assert not run.timed_out and run.exit_code == 0, run.stdout + run.stderr
    assert (run.work_dir / "result.txt").read_text() == "done\n"
    assert served.upstream.saw_tool_result()

    def settled(rows: list[Any]) -> bool:
        return any(r.action == f"{endpoint}.settle" and "tools_called" in r.detail for r in rows)

    rows = served.audit(settled)
    decisions = [r for r in rows if r.action == endpoint and r.decision == "allow"]
    assert len(decisions) >= 2, [(r.action, r.decision, r.code) for r in rows]
    first = decisions[0].detail
    assert tool in first["tools"] and first["tools_declared"] >= 2
    assert client.split("-")[0] in first["client"].lower()
    assert any(d.detail.get("tool_results") for d in decisions)
    calls = [r.detail["tools_called"] for r in rows if "tools_called" in r.detail]
    assert [tool] in calls
    # Names only: no arguments, no prompt text, no answer in the chain.
    blob = json.dumps([r.detail for r in rows])
    assert "echo done" not in blob and "result.txt" not in blob
    verified = served.runtime.tenancy.verify_audit()
    assert verified.ok, verified
    # The usage monitor sees agent work: the client, its coding tools, the tool loop,
    # and the client's session.
    usage = served.usage(lambda rows: sum("tool_loop" in r.flags for r in rows) >= 1)
    flags = {f for r in usage for f in r.flags}
    assert {f"client:{client}", "agent", "coding_tools", "tool_loop"} <= flags, flags
    assert any(f.startswith("session:") for f in flags)


def test_claude_code_through_warden_to_anthropic(serve: Any, tmp_path: Path) -> None:
    served = serve(CLAUDE_MODEL, "anthropic")
    run = _claude(served, tmp_path)
    _check_session(served, run, "messages", "Bash", "claude-code")
    turns = served.upstream.conversation()
    # Relayed as sent: the upstream sees the client's own fields and betas.
    assert turns[0].body["model"] == "upstream-claude"
    assert "thinking" in turns[0].body or "context_management" in turns[0].body
    assert "anthropic-beta" in turns[0].headers
    assert turns[0].headers["x-api-key"] == "sk-upstream-agent"


def test_codex_through_warden_to_responses(serve: Any, tmp_path: Path) -> None:
    served = serve(CODEX_MODEL, "responses")
    run = _codex(served, tmp_path)
    _check_session(served, run, "responses", "exec_command", "codex")
    turns = served.upstream.conversation()
    assert turns[0].body["model"] == "upstream-gpt"
    assert turns[0].body["store"] is False and "include" in turns[0].body
    assert turns[0].headers["authorization"] == "Bearer sk-upstream-agent"


def test_claude_code_through_warden_to_chat_completions(serve: Any, tmp_path: Path) -> None:
    served = serve(CLAUDE_MODEL, "chat")
    run = _claude(served, tmp_path)
    _check_session(served, run, "messages", "Bash", "claude-code")
    turns = served.upstream.conversation()
    assert {t.api for t in turns} == {"chat"}
    assert "Bash" in turns[0].tool_names


def test_codex_through_warden_to_anthropic(serve: Any, tmp_path: Path) -> None:
    served = serve(CODEX_MODEL, "anthropic")
    run = _codex(served, tmp_path)
    _check_session(served, run, "responses", "exec_command", "codex")
    turns = served.upstream.conversation()
    assert {t.api for t in turns} == {"messages"}
    assert "exec_command" in turns[0].tool_names
    # Hosted tools Codex always sends are taken out, and named in the audit detail.
    rows = served.runtime.tenancy.audit_tail(10_000)
    removed = [r.detail.get("hosted_tools_removed") for r in rows if r.action == "responses"]
    assert any(removed)


def _revoke_after_first_turn(served: Served) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if served.upstream.conversation():
                served.runtime.tenancy.revoke_key(served.key_id, "contract ended")
                return
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("api", ["anthropic", "chat"])
def test_claude_code_stops_when_the_key_is_revoked(serve: Any, tmp_path: Path, api: str) -> None:
    served = serve(CLAUDE_MODEL, api)
    watcher = _revoke_after_first_turn(served)
    run = _claude(served, tmp_path)
    watcher.join()
    assert not run.timed_out and run.exit_code != 0
    assert "revoked" in (run.stdout + run.stderr).lower(), run.stdout + run.stderr
    assert len(served.upstream.conversation()) == 1


@pytest.mark.parametrize("api", ["responses", "anthropic"])
def test_codex_stops_when_the_key_is_revoked(serve: Any, tmp_path: Path, api: str) -> None:
    served = serve(CODEX_MODEL, api)
    watcher = _revoke_after_first_turn(served)
    run = _codex(served, tmp_path, retries=0)
    watcher.join()
    assert not run.timed_out and run.exit_code != 0
    assert "revoked" in (run.stdout + run.stderr).lower(), run.stdout + run.stderr
    assert len(served.upstream.conversation()) == 1
