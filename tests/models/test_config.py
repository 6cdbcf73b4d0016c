"""Model configuration files: good ones parse, bad ones name the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchwarden.models.config import ConfigError, load_config, parse_config
from benchwarden.models.errors import ModelUnavailable
from benchwarden.models.registry import resolve
from benchwarden.models.types import Mode

GOOD = """
[models."lab-vllm"]
provider = "openai"
base_url = "http://10.0.0.5:8000/v1"
model = "meta-llama/Llama-3.1-8B-Instruct"
api_key_env = "LAB_KEY"
purposes = ["benchmarking", "safety-evaluation"]
max_concurrency = 16

[models.base]
provider = "openai"
base_url = "http://127.0.0.1:8080/v1"
mode = "completion"
"""


def test_good_config() -> None:
    specs = parse_config(GOOD)
    vllm = specs["lab-vllm"]
    assert vllm.upstream_model == "meta-llama/Llama-3.1-8B-Instruct"
    assert vllm.max_concurrency == 16 and vllm.api_key_env == "LAB_KEY"
    assert vllm.permits("benchmarking") and not vllm.permits("product-development")
    assert specs["base"].mode is Mode.COMPLETION and specs["base"].upstream_model == "base"
    assert resolve("lab-vllm", specs) is vllm


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[models.x]\nprovider = 'grok'\nbase_url = 'http://h'", "field 'provider'"),
        ("[models.x]\nprovider = 'openai'", "field 'base_url'"),
        ("[models.x]\nprovider = 'openai'\nbase_url = 'ftp://h'", "field 'base_url'"),
        (
            "[models.x]\nprovider = 'openai'\nbase_url = 'http://h'\nmax_concurrency = 0",
            "field 'max_concurrency'",
        ),
        (
            "[models.x]\nprovider = 'openai'\nbase_url = 'http://h'\npurposes = 'all'",
            "field 'purposes'",
        ),
        (
            "[models.x]\nprovider = 'openai'\nbase_url = 'http://h'\napi_key = 'sk-123'",
            "api_key_env",
        ),
        ("[models.x\nprovider = 1", "not valid TOML"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "models.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and needle in str(info.value)
    assert "sk-123" not in str(info.value)


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(ModelUnavailable) as info:
        resolve("nope/model")
    assert "local/smollm2-135m" in str(info.value) and "openai/<model>" in str(info.value)


def test_builtin_provider_names() -> None:
    spec = resolve("openai/gpt-4.1-mini")
    assert spec.provider == "openai" and spec.upstream_model == "gpt-4.1-mini"
    assert spec.api_key_env == "OPENAI_API_KEY"
    assert resolve("anthropic/claude-x").api_key_env == "ANTHROPIC_API_KEY"
