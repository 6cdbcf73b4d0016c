"""The backends file: embedded models, aliases, upstreams, and errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchwarden.models.config import ConfigError
from benchwarden.warden.backends import default_backends, load_backends, parse_backends


def test_default_is_the_embedded_models() -> None:
    assert sorted(default_backends()) == ["local/gemma3-270m", "local/smollm2-135m"]
    assert sorted(load_backends(None)) == ["local/gemma3-270m", "local/smollm2-135m"]


def test_parse(tmp_path: Path) -> None:
    path = tmp_path / "backends.toml"
    path.write_text("""
[backends."local/smollm2-135m"]

[backends."smol"]
provider = "local"
model = "local/smollm2-135m"

[backends."gpt"]
provider = "openai"
base_url = "https://api.example.com/v1"
model = "gpt-4.1-mini"
api_key_env = "EXAMPLE_KEY"
max_concurrency = 3
mode = "completion"
max_attempts = 1

[backends."claude"]
provider = "anthropic"
base_url = "https://api.anthropic.com"
api_key_env = "ANTHROPIC_API_KEY"
""")
    specs = load_backends(path)
    assert specs["local/smollm2-135m"].provider == "local"
    assert specs["smol"].name == "smol" and specs["smol"].upstream_model == "smollm2"
    gpt = specs["gpt"]
    assert (gpt.provider, gpt.upstream_model, gpt.max_concurrency, gpt.mode.value) == (
        "openai",
        "gpt-4.1-mini",
        3,
        "completion",
    )
    assert gpt.max_attempts == 1 and gpt.time_budget_s == 300.0
    assert specs["claude"].upstream_model == "claude"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[backends", "not valid TOML"),
        ("x = 1", "no [backends"),
        ('[backends."a"]\nprovider = "azure"', "field 'provider'"),
        ('[backends."a"]\nprovider = "openai"', "field 'base_url'"),
        ('[backends."a"]\nprovider = "openai"\nbase_url = "ftp://x"', "field 'base_url'"),
        (
            '[backends."a"]\nprovider = "openai"\nbase_url = "http://x"\napi_key = "sk-1"',
            "api_key_env",
        ),
        (
            '[backends."a"]\nprovider = "openai"\nbase_url = "http://x"\nmax_concurrency = 0',
            "max_concurrency",
        ),
        ('[backends."a"]\nprovider = "openai"\nbase_url = "http://x"\nmode = "x"', "field 'mode'"),
        ('[backends."a"]\nprovider = "local"\nmodel = "local/nope"', "not an embedded model"),
    ],
)
def test_errors_name_the_file_and_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_backends(text, "b.toml")
    assert message in str(info.value) and str(info.value).startswith("b.toml")
    assert "sk-1" not in str(info.value)
