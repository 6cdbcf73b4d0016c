"""`benchwarden run` on reasoning models, against an upstream that enforces the real APIs'
parameter rules (``max_tokens`` refused, ``temperature`` refused, thinking with
``budget_tokens`` < ``max_tokens``): every sample is answered, with nothing configured
for the common case and only a thinking budget for the Anthropic model."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.cli_process import run_cli
from tests.models.strict_upstream import refusals, strict_upstream


def test_run_on_reasoning_models_under_the_real_rules(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    with strict_upstream() as server:
        config = tmp_path / "models.toml"
        config.write_text(f"""
[models."o4-mini"]
provider = "openai"
base_url = "{server.base_url}/v1"
purposes = ["benchmarking"]

[models."house-reasoner"]  # a name no rule knows: learnt from the upstream's own 400s
provider = "openai"
base_url = "{server.base_url}/v1"
model = "house-reasoner-1"
purposes = ["benchmarking"]

[models."gpt-5-responses"]
provider = "openai"
api = "responses"
base_url = "{server.base_url}/v1"
model = "gpt-5-mini"
reasoning_effort = "low"
purposes = ["benchmarking"]

[models."claude-thinking"]
provider = "anthropic"
base_url = "{server.base_url}"
model = "claude-sonnet-4-5"
thinking_budget = 2048
purposes = ["benchmarking"]
""")
        models = ["o4-mini", "house-reasoner", "gpt-5-responses", "claude-thinking"]
        result = run_cli(
            "run",
            "-s",
            "smoke",
            "--limit",
            "2",
            *[arg for m in models for arg in ("-m", m)],
            "--temperature",
            "0.3",  # refused by every one of these models: never reaches them
            "--max-concurrency",
            "1",
            "--no-cache",
            "--config",
            str(config),
            "--db",
            str(db),
            "--run-id",
            "reasoning",
        )
        bodies = [(r.path, r.body) for r in server.requests]
        rejected = refusals(server)
    assert result.returncode == 0, result.stderr + result.stdout
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT model, status, passed FROM samples").fetchall()
    assert sorted(r[0] for r in rows) == sorted(m for m in models for _ in range(2))
    assert all(status == "ok" and passed for _, status, passed in rows), rows
    # Known names go out right the first time; the unknown one is refused for max_tokens,
    # then for temperature, once each: remembered for the next sample.
    assert rejected == 2
    chat = [b for path, b in bodies if path.endswith("/chat/completions")]
    assert all("max_tokens" not in b and "temperature" not in b for b in chat[-2:])
    assert all(b["max_completion_tokens"] == 24 for b in chat if "max_completion_tokens" in b)
    responses = [b for path, b in bodies if path.endswith("/responses")]
    assert all(b["reasoning"] == {"effort": "low"} and b["store"] is False for b in responses)
    assert all("temperature" not in b for b in responses)
    messages = [b for path, b in bodies if path.endswith("/messages")]
    assert len(messages) == 2
    for body in messages:
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
        assert body["max_tokens"] == 2048 + 24 and "temperature" not in body
