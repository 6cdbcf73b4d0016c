"""Building a ready ModelClient from a spec: transport, then pacing, then the cache.

Concurrency is per client (``--max-concurrency``); the rate schedule is per provider
account and model, shared in the process (``pacing.shared``)."""

from __future__ import annotations

import os

from benchwarden.models.anthropic_client import AnthropicTransport
from benchwarden.models.cache import CachedClient, ResponseCache
from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import ModelUnavailable
from benchwarden.models.openai_client import OpenAITransport
from benchwarden.models.pacing.concurrency import AdaptiveLimiter
from benchwarden.models.pacing.paced import PacedClient
from benchwarden.models.pacing.pacer import RatePacer
from benchwarden.models.pacing.retry import RetryPolicy
from benchwarden.models.pacing.shared import pacer_for
from benchwarden.models.param_rules import ReasoningSettings
from benchwarden.models.protocol import ModelClient, Transport
from benchwarden.models.responses_client import ResponsesTransport
from benchwarden.paths import cache_dir


def api_key(spec: ModelSpec) -> str | None:
    if not spec.api_key_env:
        return None
    key = os.environ.get(spec.api_key_env)
    if not key:
        raise ModelUnavailable(
            spec.name,
            f"its API key is not set (environment variable {spec.api_key_env})",
            hint=f"export {spec.api_key_env}=... and try again.",
        )
    return key


def reasoning_settings(spec: ModelSpec) -> ReasoningSettings:
    return ReasoningSettings(
        effort=spec.reasoning_effort,
        budget_tokens=spec.thinking_budget,
        token_param=spec.token_param,
        unsupported_params=spec.unsupported_params,
    )


def open_transport(spec: ModelSpec, pacer: RatePacer | None = None) -> Transport:
    """One provider's transport; ``pacer`` reads the rate-limit headers of its answers."""
    if spec.provider == "local":
        from benchwarden.models.local.client import LocalTransport  # llama.cpp loads lazily

        return LocalTransport(spec)
    if spec.provider == "replay":
        from benchwarden.models.replay import ReplayTransport

        return ReplayTransport(spec)
    assert spec.base_url is not None
    key = api_key(spec)
    connections = max(spec.max_concurrency, 1)
    reasoning = reasoning_settings(spec)
    if spec.provider == "openai" and spec.api == "responses":
        return ResponsesTransport(
            spec.name,
            spec.base_url,
            spec.upstream_model,
            key,
            max_connections=connections,
            extra_headers=spec.headers,
            observe=None if pacer is None else pacer.observe,
            reasoning=reasoning,
        )
    if spec.provider == "openai":
        return OpenAITransport(
            spec.name,
            spec.base_url,
            spec.upstream_model,
            key,
            default_mode=spec.mode,
            max_connections=connections,
            extra_headers=spec.headers,
            observe=None if pacer is None else pacer.observe,
            reasoning=reasoning,
        )
    return AnthropicTransport(
        spec.name,
        spec.base_url,
        spec.upstream_model,
        key,
        max_connections=connections,
        extra_headers=spec.headers,
        observe=None if pacer is None else pacer.observe,
        reasoning=reasoning,
    )


def open_client(
    spec: ModelSpec,
    *,
    use_cache: bool = True,
    cache: ResponseCache | None = None,
    policy: RetryPolicy | None = None,
    max_concurrency: int | None = None,
) -> ModelClient:
    limiter = AdaptiveLimiter(max_concurrency or spec.max_concurrency)
    if spec.provider in ("local", "replay"):
        pacer = RatePacer(spec.name, start=False)  # no provider limit to learn
    else:
        assert spec.base_url is not None
        pacer = pacer_for(spec.base_url, api_key(spec), spec.upstream_model)
    policy = policy or RetryPolicy(
        max_attempts=spec.max_attempts,
        attempt_timeout_s=spec.attempt_timeout_s,
        time_budget_s=spec.time_budget_s,
    )
    client: ModelClient = PacedClient(open_transport(spec, pacer), limiter, policy, pacer=pacer)
    if use_cache and spec.provider != "replay":  # recorded answers need no cache
        client = CachedClient(client, cache or ResponseCache(cache_dir() / "responses"))
    return client
