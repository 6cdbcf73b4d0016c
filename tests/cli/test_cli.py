"""The command line, run as a user runs it: a real process, real models, a loopback server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchwarden.testing.mock_upstream import ThreadedMockUpstream

SECRET = "sk-never-print-this-1234567890"


def run(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "160", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "benchwarden.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
        input=stdin,
        check=False,
    )


def write_config(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(f"""
[models."mock-chat"]
provider = "openai"
base_url = "{base_url}/v1"
model = "served"
api_key_env = "MOCK_KEY"
purposes = ["benchmarking"]

[models."mock-claude"]
provider = "anthropic"
base_url = "{base_url}"
api_key_env = "MOCK_KEY"
""")
    return path


def test_models_lists_embedded_and_configured_without_keys(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")
    missing = run("models", "--config", str(config), env={"MOCK_KEY": ""})
    assert missing.returncode == 0, missing.stderr
    for name in ("local/smollm2-135m", "local/gemma3-270m", "mock-chat", "mock-claude"):
        assert name in missing.stdout
    assert "missing: MOCK_KEY" in missing.stdout
    present = run("models", "--config", str(config), env={"MOCK_KEY": SECRET})
    assert "set" in present.stdout and SECRET not in present.stdout + present.stderr


def test_ask_configured_models_side_by_side(tmp_path: Path) -> None:
    with ThreadedMockUpstream(reply="Four.") as mock:
        config = write_config(tmp_path, mock.base_url)
        result = run(
            "ask",
            "What is 2+2?",
            "-m",
            "mock-chat",
            "-m",
            "mock-claude",
            "--config",
            str(config),
            "--purpose",
            "benchmarking",
            "--no-cache",
            env={"MOCK_KEY": SECRET},
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("Four.") == 2
        assert mock.stats.purposes == ["benchmarking", "benchmarking"]
        streamed = run(
            "ask",
            "Hi",
            "-m",
            "mock-chat",
            "--stream",
            "--config",
            str(config),
            env={"MOCK_KEY": SECRET},
        )
        assert streamed.returncode == 0 and "Four." in streamed.stdout


def test_ask_reports_a_dead_provider_clearly(tmp_path: Path) -> None:
    with ThreadedMockUpstream() as mock:
        mock.script(*["drop"] * 20)
        config = write_config(tmp_path, mock.base_url)
        result = run(
            "ask",
            "Hi",
            "-m",
            "mock-chat",
            "--config",
            str(config),
            "--no-cache",
            env={"MOCK_KEY": SECRET},
        )
    assert result.returncode == 1
    assert "upstream_error" in result.stdout and "connection failed" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_bad_input_gets_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[models.x]\nprovider = 'openai'\n")
    result = run("models", "--config", str(bad))
    assert result.returncode == 1 and "field 'base_url'" in result.stderr
    unknown = run("ask", "hi", "-m", "no/such-model")
    assert unknown.returncode == 1 and "unknown model" in unknown.stderr
    no_key = run("ask", "hi", "-m", "openai/gpt-4.1-mini", env={"OPENAI_API_KEY": ""})
    assert no_key.returncode == 1 and "OPENAI_API_KEY" in no_key.stdout + no_key.stderr


def test_ask_embedded_model_from_stdin() -> None:
    result = run(
        "ask",
        "-",
        "-m",
        "local/gemma3-270m",
        "--max-tokens",
        "8",
        "--temperature",
        "0",
        stdin="The capital of Japan is",
    )
    assert result.returncode == 0, result.stderr
    assert "Tokyo" in result.stdout


def test_demo_runs_both_sides_end_to_end(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = run("demo", "--db", str(db))
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "16 answers recorded, 0 errors" in out
    assert "humaneval for benchmarking: 4 answers run against the tests" in out
    assert "safety, over-refusal for safety-evaluation: 12 answers labelled" in out
    assert "safety per hazard" in out
    assert "smollm2-135m@warden" in out and "gemma3-270m@warden" in out
    assert "smollm2-135m@warden called count_words(" in out
    assert "audit: tools declared ['count_words']" in out
    assert "product-development: refused, purpose_not_permitted" in out
    assert "key revoked after 10 samples" in out and "run status stopped" in out
    assert "next call with the revoked key: refused, key_revoked" in out
    assert "intact:" in out
    assert "bw_" not in out  # the key's secret is never printed
    verify = run("audit", "verify", "--db", str(db))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    reports = sorted((tmp_path / "demo-reports").glob("*.html"))
    assert [p.stem for p in reports] == [
        "demo-coding",
        "demo-compare",
        "demo-revoked",
        "demo-safety",
    ]
    for report in reports:
        assert str(report) in out.replace("\n", "")
        page = report.read_text()
        assert "<svg" in page and "http://" not in page.split("</style>")[0]
