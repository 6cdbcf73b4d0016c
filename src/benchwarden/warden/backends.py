"""What warden serves: model names mapped to the model clients that answer them.

Declared in a TOML file (``serve --backends FILE``); without one, the two embedded
models are served::

    [backends."local/smollm2-135m"]          # an embedded model, by its name

    [backends."smol"]                        # an embedded model under another name
    provider = "local"
    model = "local/smollm2-135m"

    [backends."gpt-4.1-mini"]                # an upstream provider, with its own key
    provider = "openai"                      # openai | anthropic
    base_url = "https://api.openai.com/v1"
    model = "gpt-4.1-mini"                   # the name the upstream knows
    api_key_env = "OPENAI_API_KEY"           # the variable holding the key, never the key
    max_concurrency = 16                     # calls in flight to the upstream
    mode = "chat"                            # or "completion" for base models
    max_attempts = 2                         # per call, retries of 429/5xx included
    attempt_timeout_s = 120
    time_budget_s = 300
    apis = ["chat", "responses"]             # what the upstream speaks (openai: both)
    api = "chat"                             # the API a call of another is translated to
    reasoning_effort = "low"                 # per-model settings, as in the models TOML
    thinking_budget = 2048                   # (also token_param, unsupported_params)
    hosted_tools = "auto"                    # hosted tools (web_search...): "auto" keeps
                                             # them for an upstream of the client's API and
                                             # drops them elsewhere; "drop"; "refuse" (400)

A request to an endpoint of an API the backend speaks is relayed: its body forwarded
as sent (the model name aside). Any other is translated through the neutral types.

Clients come from ``models.factory.open_client`` (pacing and retries, no response
cache: a gateway must not answer one tenant from another's cached answer).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchwarden.models.config import ConfigError, ModelSpec, parse_model_options
from benchwarden.models.factory import api_key, open_client
from benchwarden.models.protocol import ModelClient
from benchwarden.models.registry import EMBEDDED
from benchwarden.models.relay import Relay
from benchwarden.models.types import Mode

Api = str  # "anthropic" | "chat" | "responses"
# auto: an upstream of the client's API runs them, another backend goes without them.
HOSTED_POLICIES = ("auto", "drop", "refuse")
_NATIVE: dict[str, tuple[Api, ...]] = {
    "anthropic": ("anthropic",),
    "openai": ("chat", "responses"),
    "local": (),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """How warden reaches one backend: the APIs it relays to, and what it does with
    hosted tools when it translates."""

    apis: tuple[Api, ...]
    hosted_tools: str = "auto"


# Gentler than bench's defaults: a gateway's caller is waiting on the line.
WARDEN_MAX_ATTEMPTS = 2
WARDEN_TIME_BUDGET_S = 300.0
_PACING: dict[str, type] = {"max_attempts": int, "attempt_timeout_s": float, "time_budget_s": float}


def default_backends() -> dict[str, ModelSpec]:
    return {name: _embedded(name, name, "<default>") for name in EMBEDDED}


def _embedded(served: str, embedded: str, where: str) -> ModelSpec:
    if embedded not in EMBEDDED:
        known = ", ".join(EMBEDDED)
        raise ConfigError(f"{where}: {embedded!r} is not an embedded model (known: {known})")
    return dataclasses.replace(EMBEDDED[embedded], name=served)


def _positive(table: Mapping[str, Any], name: str, kind: type, default: Any, where: str) -> Any:
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{where}: field '{name}' must be a positive number")
    if kind is int and not isinstance(value, int):
        raise ConfigError(f"{where}: field '{name}' must be a positive integer")
    return kind(value)


def _upstream(name: str, table: Mapping[str, Any], where: str) -> ModelSpec:
    provider = table["provider"]
    base_url = table.get("base_url")
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: field 'base_url' must be an http:// or https:// URL")
    if "api_key" in table:
        raise ConfigError(
            f"{where}: do not put keys in the file; name the environment variable that "
            "holds it with 'api_key_env'"
        )
    key_env = table.get("api_key_env")
    if key_env is not None and not isinstance(key_env, str):
        raise ConfigError(f"{where}: field 'api_key_env' must be a variable name")
    model = table.get("model", name)
    if not isinstance(model, str) or not model:
        raise ConfigError(f"{where}: field 'model' must be the upstream's model name")
    mode = table.get("mode", "chat")
    if mode not in ("chat", "completion"):
        raise ConfigError(f"{where}: field 'mode' must be 'chat' or 'completion'")
    pacing: dict[str, Any] = {
        "max_attempts": WARDEN_MAX_ATTEMPTS,
        "attempt_timeout_s": 120.0,
        "time_budget_s": WARDEN_TIME_BUDGET_S,
    }
    for field, kind in _PACING.items():
        pacing[field] = _positive(table, field, kind, pacing[field], where)
    return ModelSpec(
        **parse_model_options(dict(table), where),
        name=name,
        provider=provider,
        upstream_model=model,
        base_url=base_url,
        api_key_env=key_env,
        max_concurrency=_positive(table, "max_concurrency", int, 8, where),
        mode=Mode(mode),
        description=str(table.get("description", "")),
        **pacing,
    )


def _route(provider: str, table: Mapping[str, Any], where: str) -> Route:
    native = _NATIVE[provider]
    apis = table.get("apis", list(native))
    if not isinstance(apis, list) or any(a not in native for a in apis):
        raise ConfigError(f"{where}: field 'apis' must list some of {', '.join(native)}")
    hosted = table.get("hosted_tools", "auto")
    if hosted not in HOSTED_POLICIES:
        raise ConfigError(f"{where}: field 'hosted_tools' must be 'auto', 'drop' or 'refuse'")
    return Route(tuple(apis), hosted)


def parse_routes(text: str, source: str = "<backends>") -> dict[str, Route]:
    """Served name -> Route (the file was checked by ``parse_backends``)."""
    tables = tomllib.loads(text).get("backends") or {}
    return {
        name: _route(str(table.get("provider") or "local"), table, f'{source}: [backends."{name}"]')
        for name, table in tables.items()
    }


def parse_backends(text: str, source: str = "<backends>") -> dict[str, ModelSpec]:
    """Served name -> ModelSpec. Raises ConfigError naming the file and the field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from exc
    tables = data.get("backends")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f'{source}: no [backends."NAME"] tables')
    specs: dict[str, ModelSpec] = {}
    for name, table in tables.items():
        where = f'{source}: [backends."{name}"]'
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table")
        provider = table.get("provider")
        if provider is None or provider == "local":
            embedded = table.get("model", name)
            if not isinstance(embedded, str):
                raise ConfigError(f"{where}: field 'model' must name an embedded model")
            specs[name] = _embedded(name, embedded, where)
        elif provider in ("openai", "anthropic"):
            specs[name] = _upstream(name, table, where)
            _route(provider, table, where)
        else:
            raise ConfigError(
                f"{where}: field 'provider' must be 'local', 'openai' or 'anthropic', "
                f"got {provider!r}"
            )
    return specs


def load_routes(path: Path | None) -> dict[str, Route]:
    if path is None:
        return {}
    return parse_routes(path.read_text(encoding="utf-8"), str(path))


def load_backends(path: Path | None) -> dict[str, ModelSpec]:
    if path is None:
        return default_backends()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    return parse_backends(text, str(path))


class Backends:
    """The served models; clients are opened on first use and kept for the process."""

    def __init__(
        self,
        specs: Mapping[str, ModelSpec],
        opener: Callable[[ModelSpec], ModelClient] | None = None,
        routes: Mapping[str, Route] | None = None,
    ) -> None:
        self.specs = dict(specs)
        self._opener = opener or (lambda spec: open_client(spec, use_cache=False))
        self._clients: dict[str, ModelClient] = {}
        self._relays: dict[str, Relay] = {}
        given = dict(routes or {})
        self.routes = {
            name: given.get(name) or Route(_NATIVE[spec.provider])
            for name, spec in self.specs.items()
        }

    def relays(self, name: str, api: Api) -> bool:
        """Whether a call of ``api`` to ``name`` is forwarded as sent."""
        return api in self.routes[name].apis

    def relay(self, name: str) -> Relay:
        relay = self._relays.get(name)
        if relay is None:
            spec = self.specs[name]
            assert spec.base_url is not None
            headers = dict(spec.headers)
            key = api_key(spec)
            if key and spec.provider == "anthropic":
                headers["x-api-key"] = key
            elif key:
                headers["authorization"] = f"Bearer {key}"
            relay = self._relays[name] = Relay(
                name, spec.base_url, max_connections=max(spec.max_concurrency, 1), headers=headers
            )
        return relay

    def names(self) -> list[str]:
        return sorted(self.specs)

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def client(self, name: str) -> ModelClient:
        """The client for ``name``; raises ModelUnavailable (e.g. its key is not set)."""
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = self._opener(self.specs[name])
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
        relays, self._relays = list(self._relays.values()), {}
        for relay in relays:
            await relay.aclose()
