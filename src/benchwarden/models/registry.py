"""Model names to specs: the embedded models, ``openai/<m>``, ``anthropic/<m>``,
``replay:FILE`` (recorded answers) and the names a config file defines. Resolution is
lazy: nothing is loaded or contacted (a replay file must exist, nothing more).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from benchwarden.models.config import ModelSpec, replay_spec
from benchwarden.models.errors import ModelUnavailable
from benchwarden.models.types import Mode

OPENAI_BASE_URL = "https://api.openai.com/v1"
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
REPLAY_PREFIX = "replay:"

EMBEDDED: dict[str, ModelSpec] = {
    "local/smollm2-135m": ModelSpec(
        name="local/smollm2-135m",
        provider="local",
        upstream_model="smollm2",
        max_concurrency=1,
        mode=Mode.CHAT,
        description="SmolLM2-135M-Instruct Q4_1 (Apache-2.0), chat via its own template",
    ),
    "local/gemma3-270m": ModelSpec(
        name="local/gemma3-270m",
        provider="local",
        upstream_model="gemma3",
        max_concurrency=1,
        mode=Mode.COMPLETION,
        description="Gemma 3 270M Q4_K_M base model (Gemma terms), plain completion",
    ),
}


def resolve(name: str, configured: dict[str, ModelSpec] | None = None) -> ModelSpec:
    configured = configured or {}
    if name in configured:
        return configured[name]
    if name in EMBEDDED:
        return EMBEDDED[name]
    if name.startswith(REPLAY_PREFIX):
        path = Path(name.removeprefix(REPLAY_PREFIX)).expanduser()
        if not path.is_file():
            raise ModelUnavailable(
                name,
                f"no replay file at {path}",
                hint="Give the path of a CSV or JSONL file of recorded answers: replay:FILE.",
            )
        return replay_spec(name, path.absolute())
    provider, _, model = name.partition("/")
    if provider == "openai" and model:
        return ModelSpec(
            name=name,
            provider="openai",
            upstream_model=model,
            base_url=os.environ.get("OPENAI_BASE_URL", OPENAI_BASE_URL),
            api_key_env="OPENAI_API_KEY",
        )
    if provider == "anthropic" and model:
        return ModelSpec(
            name=name,
            provider="anthropic",
            upstream_model=model,
            base_url=os.environ.get("ANTHROPIC_BASE_URL", ANTHROPIC_BASE_URL),
            api_key_env="ANTHROPIC_API_KEY",
        )
    known = ", ".join(sorted([*EMBEDDED, *configured]))
    raise ModelUnavailable(
        name,
        "unknown model",
        hint=f"Use one of {known}, openai/<model>, anthropic/<model>, replay:FILE, "
        "or define it in a config file (see `benchwarden models --help`).",
    )


@dataclass(frozen=True, slots=True)
class ModelListing:
    spec: ModelSpec
    key_status: str  # "not needed", "set", "missing: VAR"


def key_status(spec: ModelSpec) -> str:
    if spec.provider == "local" or not spec.api_key_env:
        return "not needed"
    return "set" if os.environ.get(spec.api_key_env) else f"missing: {spec.api_key_env}"


def list_models(configured: dict[str, ModelSpec]) -> list[ModelListing]:
    specs = [*EMBEDDED.values(), *configured.values()]
    return [ModelListing(spec, key_status(spec)) for spec in specs]
