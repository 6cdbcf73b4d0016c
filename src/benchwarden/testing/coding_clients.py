"""Run the real coding clients headless against any base URL, for tests.

Claude Code (``claude -p``) and Codex CLI (``codex exec``) come from npm, pinned by
``tests/agents/clients/package-lock.json`` (``make clients`` installs them). Each run
gets a fresh work dir and a throwaway home, an environment built from scratch (so a
developer's own keys and settings never leak in), and a timeout after which the
client's whole process group is killed::

    run = run_claude(upstream.base_url, "Create result.txt", model="claude-sonnet-4-5")
    assert run.exit_code == 0 and (run.work_dir / "result.txt").read_text() == "done\\n"
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CLAUDE_MODEL",
    "CODEX_MODEL",
    "ClientRun",
    "client_binary",
    "clients_dir",
    "run_claude",
    "run_codex",
]

# Names the clients know: Claude Code's for its own model, and one from Codex's
# bundled catalogue (its tool set, ``shell_command`` among them, follows the name).
CLAUDE_MODEL = "claude-haiku-4-5"
CODEX_MODEL = "gpt-5.5"

_BINARIES = {
    "claude": ("@anthropic-ai/claude-code-linux-x64/claude", ".bin/claude"),
    "codex": (
        "@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex",
        ".bin/codex",
    ),
}


@dataclass(frozen=True, slots=True)
class ClientRun:
    """How one client run ended."""

    exit_code: int
    stdout: str
    stderr: str
    work_dir: Path
    home: Path
    seconds: float
    timed_out: bool = False


def clients_dir() -> Path:
    """``tests/agents/clients`` of this checkout, or ``$BENCHWARDEN_AGENT_CLIENTS``."""
    override = os.environ.get("BENCHWARDEN_AGENT_CLIENTS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "tests" / "agents" / "clients"


def client_binary(name: str) -> Path | None:
    """The installed client's executable (the native binary where npm placed one),
    or None when not installed."""
    modules = clients_dir() / "node_modules"
    for relative in _BINARIES[name]:
        path = modules / relative
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def _base_env(home: Path, extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "TMPDIR": str(home / "tmp"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
    }
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    env.update(extra or {})
    return env


def _run(
    argv: Sequence[str], env: dict[str, str], work_dir: Path, home: Path, timeout_s: float
) -> ClientRun:
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - the argv is the pinned client binary and ours
        list(argv),
        cwd=work_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    timed_out = False
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=10)
    return ClientRun(
        process.returncode,
        stdout,
        stderr,
        work_dir,
        home,
        time.monotonic() - started,
        timed_out,
    )


def _dirs(work_dir: Path | None, home: Path | None) -> tuple[Path, Path]:
    if work_dir is None:
        work_dir = Path(tempfile.mkdtemp(prefix="bw-agent-work-"))
    if home is None:
        home = Path(tempfile.mkdtemp(prefix="bw-agent-home-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    return work_dir, home


def _require(name: str) -> Path:
    binary = client_binary(name)
    if binary is None:
        raise FileNotFoundError(
            f"{name} is not installed under {clients_dir()}: run `make clients`"
        )
    return binary


def run_claude(
    base_url: str,
    prompt: str,
    *,
    model: str = CLAUDE_MODEL,
    api_key: str = "sk-ant-test",
    work_dir: Path | None = None,
    home: Path | None = None,
    timeout_s: float = 60.0,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> ClientRun:
    """``claude -p PROMPT`` with its shell tool allowed, against ``base_url`` (the
    API root, without ``/v1``); every model variable set to ``model``."""
    binary = _require("claude")
    work_dir, home = _dirs(work_dir, home)
    variables = {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": api_key,
        "ANTHROPIC_MODEL": model,
        "ANTHROPIC_SMALL_FAST_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        "ANTHROPIC_DEFAULT_SONNET_MODEL": model,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": model,
        "CLAUDE_CODE_SUBAGENT_MODEL": model,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_BUG_COMMAND": "1",
        "CLAUDE_CODE_DISABLE_TERMINAL_TITLE": "1",
        **(env or {}),
    }
    argv = [
        str(binary),
        "-p",
        prompt,
        "--permission-mode",
        "acceptEdits",
        "--allowedTools",
        "Bash",
        "Write",
        *args,
    ]
    return _run(argv, _base_env(home, variables), work_dir, home, timeout_s)


def codex_config(
    base_url: str,
    *,
    model: str = CODEX_MODEL,
    key_variable: str = "BENCHWARDEN_CODEX_KEY",
    provider: str = "benchwarden",
    retries: int | None = None,
) -> str:
    """``config.toml`` for a ``CODEX_HOME``: one provider on ``base_url`` (the API root
    with ``/v1``), no approvals, no sandbox (the run's temp dir is the boundary), and
    no update checks, analytics, feedback or history."""
    lines = [
        f'model = "{model}"',
        f'model_provider = "{provider}"',
        'approval_policy = "never"',
        'sandbox_mode = "danger-full-access"',
        "check_for_update_on_startup = false",
        "",
        "[analytics]",
        "enabled = false",
        "",
        "[feedback]",
        "enabled = false",
        "",
        "[history]",
        'persistence = "none"',
        "",
        f"[model_providers.{provider}]",
        f'name = "{provider}"',
        f'base_url = "{base_url}"',
        f'env_key = "{key_variable}"',
        'wire_api = "responses"',
    ]
    if retries is not None:
        lines += [f"request_max_retries = {retries}", f"stream_max_retries = {retries}"]
    return "\n".join(lines) + "\n"


def run_codex(
    base_url: str,
    prompt: str,
    *,
    model: str = CODEX_MODEL,
    api_key: str = "sk-test",
    work_dir: Path | None = None,
    home: Path | None = None,
    timeout_s: float = 60.0,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    retries: int | None = None,
) -> ClientRun:
    """``codex exec PROMPT`` in ``work_dir`` against ``base_url`` (with ``/v1``), the
    key sent as ``Authorization: Bearer``; ``retries`` caps its request and stream
    retries (its defaults otherwise)."""
    binary = _require("codex")
    work_dir, home = _dirs(work_dir, home)
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    key_variable = "BENCHWARDEN_CODEX_KEY"
    (codex_home / "config.toml").write_text(
        codex_config(base_url, model=model, key_variable=key_variable, retries=retries)
    )
    variables = {"CODEX_HOME": str(codex_home), key_variable: api_key, **(env or {})}
    argv = [
        str(binary),
        "exec",
        "--skip-git-repo-check",
        "--ephemeral",
        "-C",
        str(work_dir),
        *args,
        prompt,
    ]
    return _run(argv, _base_env(home, variables), work_dir, home, timeout_s)
