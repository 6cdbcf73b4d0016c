"""Model configuration: which models exist, where they live and what their terms permit.

A TOML file adds models beside the built-in ones::

    [models."lab-vllm"]
    provider = "openai"                 # openai | anthropic
    base_url = "http://10.0.0.5:8000/v1"
    model = "meta-llama/Llama-3.1-8B-Instruct"   # the name the endpoint knows
    api_key_env = "LAB_VLLM_KEY"        # the variable holding the key (never the key)
    purposes = ["benchmarking", "safety-evaluation"]
    max_concurrency = 16
    mode = "chat"                       # or "completion" for base models
    input_price_per_mtok = 0.15         # USD per million tokens, for cost and --max-cost
    output_price_per_mtok = 0.60
    max_attempts = 6                    # per call, retries included
    attempt_timeout_s = 120             # one attempt
    time_budget_s = 600                 # one call, retries and waits included

Reasoning models and the APIs they speak (all optional; the defaults fit the common
case, and a parameter an upstream refuses with 400 ``unsupported_parameter`` is dropped
or swapped once and remembered, so none of these is needed to get an answer)::

    api = "chat"                        # openai only: "chat" (Chat Completions) or "responses"
    reasoning_effort = "low"            # none | minimal | low | medium | high | xhigh
    thinking_budget = 2048              # Anthropic thinking budget_tokens (>= 1024)
    token_param = "max_completion_tokens"   # or "max_tokens": how the answer cap is sent
    unsupported_params = ["temperature", "top_p"]   # never sent to this model

OpenAI models named like o1/o3/o4/gpt-5 default to ``max_completion_tokens`` and no
``temperature``/``top_p``; ``unsupported_params = []`` sends them anyway.

Answers recorded elsewhere (a CSV or JSONL file; see models/replay_file.py) are a
model too, scored like any other (``-m replay:FILE`` does the same without a file)::

    [models."vendor-answers"]
    provider = "replay"
    path = "answers/vendor.csv"         # relative to this file
    purposes = ["benchmarking"]

The default file is ``BENCHWARDEN_HOME/models.toml``; ``--config FILE`` picks another.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from benchwarden.models.types import Mode
from benchwarden.paths import home_dir

Provider = Literal["openai", "anthropic", "local", "replay"]
PROVIDERS: tuple[Provider, ...] = ("openai", "anthropic", "local", "replay")
Api = Literal["chat", "responses"]
APIS: tuple[Api, ...] = ("chat", "responses")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
TOKEN_PARAMS = ("max_tokens", "max_completion_tokens")
MIN_THINKING_BUDGET = 1024  # the Anthropic API's minimum budget_tokens


class ConfigError(ValueError):
    """A configuration file that cannot be used, naming the file and the field."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    provider: Provider
    upstream_model: str
    base_url: str | None = None
    api_key_env: str | None = None
    # None means the terms were not recorded: the runner treats that as unrestricted
    # only for embedded models; see ``permits``.
    purposes: tuple[str, ...] | None = None
    max_concurrency: int = 8
    mode: Mode = Mode.CHAT
    description: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    input_price_per_mtok: float = 0.0
    output_price_per_mtok: float = 0.0
    # Pacing: attempts per call, seconds per attempt, seconds per call (waits included).
    max_attempts: int = 6
    attempt_timeout_s: float = 120.0
    time_budget_s: float = 600.0
    # Which OpenAI API (Chat Completions or Responses) and how a reasoning model wants
    # its parameters; None means the default for the model (see the module's docs).
    api: Api = "chat"
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    token_param: str | None = None
    unsupported_params: tuple[str, ...] | None = None

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (
            input_tokens * self.input_price_per_mtok + output_tokens * self.output_price_per_mtok
        ) / 1_000_000

    def permits(self, purpose: str) -> bool:
        return self.purposes is None or purpose in self.purposes or "*" in self.purposes


def default_config_path() -> Path:
    return home_dir() / "models.toml"


def _require(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = table.get(key)
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: field '{key}' must be a {kind.__name__}")
    return value


def parse_model_options(table: dict[str, Any], where: str) -> dict[str, Any]:
    """The API and reasoning keys of one model table, as ``ModelSpec`` arguments
    (shared with warden's backends file)."""
    options: dict[str, Any] = {}
    api = table.get("api", "chat")
    if api not in APIS:
        raise ConfigError(f"{where}: field 'api' must be 'chat' or 'responses', got {api!r}")
    if api == "responses" and table.get("provider") != "openai":
        raise ConfigError(f"{where}: field 'api' = 'responses' needs provider = 'openai'")
    options["api"] = api
    effort = table.get("reasoning_effort")
    if effort is not None:
        if effort not in EFFORTS:
            raise ConfigError(
                f"{where}: field 'reasoning_effort' must be one of {', '.join(EFFORTS)}, "
                f"got {effort!r}"
            )
        options["reasoning_effort"] = effort
    budget = table.get("thinking_budget")
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < MIN_THINKING_BUDGET:
            raise ConfigError(
                f"{where}: field 'thinking_budget' must be an integer >= {MIN_THINKING_BUDGET} "
                "(the Anthropic API's minimum budget_tokens)"
            )
        options["thinking_budget"] = budget
    token_param = table.get("token_param")
    if token_param is not None:
        if token_param not in TOKEN_PARAMS:
            raise ConfigError(
                f"{where}: field 'token_param' must be 'max_tokens' or 'max_completion_tokens'"
            )
        options["token_param"] = token_param
    unsupported = table.get("unsupported_params")
    if unsupported is not None:
        if not (isinstance(unsupported, list) and all(isinstance(p, str) for p in unsupported)):
            raise ConfigError(
                f"{where}: field 'unsupported_params' must be a list of parameter names"
            )
        options["unsupported_params"] = tuple(unsupported)
    return options


def _purposes(table: dict[str, Any], where: str) -> tuple[str, ...] | None:
    purposes = table.get("purposes")
    if purposes is not None and not (
        isinstance(purposes, list) and all(isinstance(p, str) for p in purposes)
    ):
        raise ConfigError(f"{where}: field 'purposes' must be a list of strings")
    return tuple(purposes) if purposes is not None else None


def replay_spec(name: str, path: Path, purposes: tuple[str, ...] | None = None) -> ModelSpec:
    """Recorded answers in ``path`` as a model (the file is read when it is opened)."""
    return ModelSpec(
        name=name,
        provider="replay",
        upstream_model=str(path),
        purposes=purposes,
        max_concurrency=8,
        description=f"recorded answers from {path.name}",
    )


def _replay(name: str, table: dict[str, Any], where: str, source: str) -> ModelSpec:
    raw = _require(table, "path", str, where)
    path = Path(raw).expanduser()
    if not path.is_absolute() and source != "<config>":
        path = Path(source).parent / path
    return replay_spec(name, path, _purposes(table, where))


def parse_config(text: str, source: str = "<config>") -> dict[str, ModelSpec]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from exc
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise ConfigError(f"{source}: [models] must be a table of model tables")
    specs: dict[str, ModelSpec] = {}
    for name, table in models.items():
        where = f'{source}: [models."{name}"]'
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table")
        provider = _require(table, "provider", str, where)
        if provider == "replay":
            specs[name] = _replay(name, table, where, source)
            continue
        if provider not in ("openai", "anthropic"):
            raise ConfigError(
                f"{where}: field 'provider' must be 'openai', 'anthropic' or 'replay', "
                f"got {provider!r}"
            )
        base_url = _require(table, "base_url", str, where)
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: field 'base_url' must start with http:// or https://")
        purposes = _purposes(table, where)
        max_conc = table.get("max_concurrency", 8)
        if not isinstance(max_conc, int) or max_conc < 1:
            raise ConfigError(f"{where}: field 'max_concurrency' must be a positive integer")
        mode_raw = table.get("mode", "chat")
        if mode_raw not in ("chat", "completion"):
            raise ConfigError(f"{where}: field 'mode' must be 'chat' or 'completion'")
        key_env = table.get("api_key_env")
        if key_env is not None and not isinstance(key_env, str):
            raise ConfigError(f"{where}: field 'api_key_env' must be a string (a variable name)")
        if "api_key" in table:
            raise ConfigError(
                f"{where}: do not put keys in the file; name the environment "
                "variable that holds it with 'api_key_env'"
            )
        prices = {}
        for price_field in ("input_price_per_mtok", "output_price_per_mtok"):
            price = table.get(price_field, 0.0)
            if not isinstance(price, int | float) or price < 0:
                raise ConfigError(f"{where}: field '{price_field}' must be a number >= 0")
            prices[price_field] = float(price)
        pacing: dict[str, Any] = {}
        for pacing_field, kind in (
            ("max_attempts", int),
            ("attempt_timeout_s", float),
            ("time_budget_s", float),
        ):
            if pacing_field in table:
                value = table[pacing_field]
                if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                    raise ConfigError(f"{where}: field '{pacing_field}' must be a positive number")
                pacing[pacing_field] = kind(value)
        specs[name] = ModelSpec(
            name=name,
            provider=provider,
            upstream_model=str(table.get("model", name)),
            base_url=base_url,
            api_key_env=key_env,
            purposes=purposes,
            max_concurrency=max_conc,
            mode=Mode(mode_raw),
            description=str(table.get("description", "")),
            input_price_per_mtok=prices["input_price_per_mtok"],
            output_price_per_mtok=prices["output_price_per_mtok"],
            **pacing,
            **parse_model_options(table, where),
        )
    return specs


def load_config(path: Path | None = None) -> dict[str, ModelSpec]:
    """Models from ``path`` (must exist) or from the default file (may be absent)."""
    if path is None:
        path = default_config_path()
        if not path.is_file():
            return {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    return parse_config(text, str(path))
