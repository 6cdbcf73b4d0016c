"""What a call says about agent use, for the audit detail and the usage monitor. Pure.

Names only, never arguments or content: the tools declared and how the call reaches
its backend go in the audit detail; the monitor gets flags (``agent``: tools
declared; ``tool_loop``: the call carries tool results, a turn of an agent loop;
``coding_tools``: a coding agent's tool set; ``client:NAME``; ``session:HASH``, a
hash of the client's session id) from which it tells agent sessions apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from benchwarden.api.wire import ParsedCall
from benchwarden.models.content import ToolResult

MAX_NAMES = 64
_MAX_NAME = 64
_MAX_AGENT = 120
# Tools by which coding agents act on a code base (Claude Code, Codex CLI, Aider...).
CODING_TOOLS = frozenset(
    {
        "bash",
        "write",
        "edit",
        "multiedit",
        "read",
        "exec_command",
        "shell",
        "local_shell",
        "apply_patch",
        "write_stdin",
        "str_replace_based_edit_tool",
        "str_replace_editor",
        "run_shell_command",
    }
)
# Claude Code's, Codex's (session-id, thread-id), and common generic ones.
_SESSION_HEADERS = ("x-claude-code-session-id", "session-id", "thread-id", "x-session-id")


def client_of(user_agent: str | None) -> str:
    agent = (user_agent or "").lower()
    if "claude-cli" in agent or "claude-code" in agent:
        return "claude-code"
    if "codex" in agent:
        return "codex"
    if agent.startswith(("openai/", "anthropic/")) or "stainless" in agent:
        return "sdk"
    return "other" if agent else "none"


def tool_results(call: ParsedCall) -> int:
    return sum(
        isinstance(part, ToolResult) for message in call.request.messages for part in message.parts
    )


def session_of(call: ParsedCall, headers: Mapping[str, str]) -> str | None:
    """A short hash of the client's session id, when it sends one."""
    for name in _SESSION_HEADERS:
        if headers.get(name):
            return hashlib.sha256(headers[name].encode()).hexdigest()[:12]
    raw = call.raw
    key = raw.get("prompt_cache_key")
    if not isinstance(key, str):
        metadata = raw.get("metadata")
        key = metadata.get("user_id") if isinstance(metadata, dict) else None
    return hashlib.sha256(key.encode()).hexdigest()[:12] if isinstance(key, str) and key else None


def agent_context(
    call: ParsedCall,
    headers: Mapping[str, str],
    relayed: bool,
    removed: tuple[tuple[int, str], ...],
) -> dict[str, Any]:
    """The audit detail of a call: tools declared (names), client, route."""
    detail: dict[str, Any] = {"route": "relay" if relayed else "translate"}
    names = [t.name[:_MAX_NAME] for t in call.request.tools]
    names += [kind[:_MAX_NAME] for _, kind in call.hosted_tools]
    if names:
        detail["tools"] = names[:MAX_NAMES]
        detail["tools_declared"] = len(names)
    if removed:
        detail["hosted_tools_removed"] = [kind for _, kind in removed]
    results = tool_results(call)
    if results:
        detail["tool_results"] = results
    if call.dropped and not relayed:
        detail["dropped"] = list(call.dropped)
    agent = headers.get("user-agent")
    if agent:
        detail["client"] = agent[:_MAX_AGENT]
    return detail


def agent_flags(call: ParsedCall, headers: Mapping[str, str]) -> list[str]:
    """Flags for the usage monitor (see the module docstring)."""
    flags = [f"client:{client_of(headers.get('user-agent'))}"]
    tools = call.request.tools
    if tools or call.hosted_tools:
        flags.append("agent")
    if any(t.name.lower() in CODING_TOOLS for t in tools):
        flags.append("coding_tools")
    if tool_results(call):
        flags.append("tool_loop")
    session = session_of(call, headers)
    if session is not None and (tools or call.hosted_tools):
        flags.append(f"session:{session}")
    return flags
