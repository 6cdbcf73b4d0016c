"""Reasoning models' parameter rules, and their keys in the models TOML. Pure."""

from __future__ import annotations

import pytest

from benchwarden.models.config import ConfigError, parse_config
from benchwarden.models.errors import BadRequest, UpstreamError
from benchwarden.models.param_rules import (
    ParamRules,
    ReasoningSettings,
    looks_like_reasoning_model,
    refused_param,
)
from benchwarden.models.types import GenerateRequest

BASE = '[models.x]\nprovider = "openai"\nbase_url = "http://h/v1"\n'


@pytest.mark.parametrize(
    ("name", "reasoning"),
    [
        ("o1", True),
        ("o1-mini", True),
        ("o3-pro-2025-06-10", True),
        ("o4-mini", True),
        ("gpt-5", True),
        ("gpt-5.1-codex", True),
        ("openai/gpt-5-mini", True),
        ("gpt-4o", False),
        ("gpt-4.1-mini", False),
        ("llama-3-o1-style", False),
        ("omni-moderation", False),
    ],
)
def test_reasoning_models_by_name(name: str, reasoning: bool) -> None:
    assert looks_like_reasoning_model(name) is reasoning


@pytest.mark.parametrize(
    ("message", "code", "param"),
    [
        (
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "unsupported_parameter",
            "max_tokens",
        ),
        (
            "Unsupported value: 'temperature' does not support 0.2 with this model. "
            "Only the default (1) value is supported.",
            "unsupported_value",
            "temperature",
        ),
        ("Unsupported parameter: 'reasoning.summary' is not supported.", None, "reasoning"),
        ("Invalid value for 'messages'.", "invalid_value", None),
    ],
)
def test_the_refused_parameter_is_read_from_the_400(
    message: str, code: str | None, param: str | None
) -> None:
    assert refused_param(BadRequest("m", message, status=400, code=code)) == param


def test_only_a_400_teaches() -> None:
    message = "Unsupported parameter: 'top_p' is not supported with this model."
    assert refused_param(UpstreamError("m", message, status=500)) is None


def test_defaults_settings_and_learning() -> None:
    rules = ParamRules.for_model("gpt-4o", None)
    payload = {"model": "gpt-4o", "max_tokens": 5, "temperature": 0.1}
    assert rules.shape(payload) == payload
    refusal = BadRequest("m", "Unsupported parameter: 'temperature' is not supported.", status=400)
    assert rules.learn(refusal, payload) == "temperature dropped"
    assert rules.learn(refusal, payload) is None  # no progress: not again
    assert rules.shape(payload) == {"model": "gpt-4o", "max_tokens": 5}
    configured = ParamRules.for_model("o3", ReasoningSettings(unsupported_params=()))
    assert configured.shape(payload) == {
        "model": "gpt-4o",
        "max_completion_tokens": 5,
        "temperature": 0.1,
    }
    request = GenerateRequest.from_prompt("x")
    assert ParamRules.for_model("o3", ReasoningSettings(budget_tokens=9000)).effort(request) == (
        "high"
    )


def test_config_keys() -> None:
    specs = parse_config(
        BASE
        + 'api = "responses"\nreasoning_effort = "low"\nthinking_budget = 2048\n'
        + 'token_param = "max_tokens"\nunsupported_params = ["top_p"]\n'
    )
    spec = specs["x"]
    assert (spec.api, spec.reasoning_effort, spec.thinking_budget) == ("responses", "low", 2048)
    assert spec.token_param == "max_tokens" and spec.unsupported_params == ("top_p",)
    assert parse_config(BASE)["x"].api == "chat"


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ('api = "completions"', "field 'api'"),
        ('reasoning_effort = "max"', "field 'reasoning_effort'"),
        ("thinking_budget = 512", "field 'thinking_budget'"),
        ('token_param = "max_output_tokens"', "field 'token_param'"),
        ('unsupported_params = "temperature"', "field 'unsupported_params'"),
    ],
)
def test_bad_config_keys_name_the_field(extra: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        parse_config(BASE + extra)


def test_responses_needs_openai() -> None:
    text = '[models.x]\nprovider = "anthropic"\nbase_url = "http://h"\napi = "responses"\n'
    with pytest.raises(ConfigError, match="provider = 'openai'"):
        parse_config(text)
