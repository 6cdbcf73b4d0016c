"""A real warden on loopback (uvicorn on a background thread) for each test, serving
OpenAI and Anthropic upstreams through the mock upstream, plus scripted fake models.
The official SDKs are the clients."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from benchwarden.models.config import ModelSpec
from benchwarden.models.factory import open_client
from benchwarden.models.protocol import ModelClient
from benchwarden.testing.mock_upstream import MockUpstream, ThreadedMockUpstream
from benchwarden.warden.app import Runtime, WardenSettings, create_app, runtime_of
from benchwarden.warden.backends import Backends, parse_backends
from benchwarden.warden.server import BackgroundServer
from benchwarden.warden.tenancy import GrantTerms
from tests.warden.fakes import FakeClient

UPSTREAM_KEY_ENV = "WARDEN_TEST_UPSTREAM_KEY"
UPSTREAM_KEY = "sk-upstream-never-shown-0123456789"
PURPOSE_HEADER = "Benchwarden-Purpose"
_names = itertools.count(1)


@pytest.fixture(scope="session")
def upstream() -> Iterator[MockUpstream]:
    os.environ[UPSTREAM_KEY_ENV] = UPSTREAM_KEY
    with ThreadedMockUpstream(reply="alpha beta gamma delta epsilon") as mock:
        yield mock


@dataclass
class Tenant:
    org: str
    key: str
    key_id: str


@dataclass
class Warden:
    url: str
    runtime: Runtime
    db: str
    fakes: dict[str, FakeClient]

    def tenant(
        self,
        models: tuple[str, ...] = ("mock-gpt", "mock-claude"),
        *,
        purposes: tuple[str, ...] = ("benchmarking", "safety-evaluation"),
        key_purposes: tuple[str, ...] = (),
        rpm: int | None = None,
        tpm: int | None = None,
        max_concurrency: int | None = None,
        **key_kwargs: Any,
    ) -> Tenant:
        tenancy = self.runtime.tenancy
        org = f"org-{next(_names)}"
        tenancy.create_org(org)
        for model in models:
            tenancy.add_grant(org, model, GrantTerms(purposes, rpm, tpm, max_concurrency))
        record, secret = tenancy.create_key(org, list(key_purposes), **key_kwargs)
        return Tenant(org, secret, record.key_id)

    def openai(self, key: str, purpose: str | None = "benchmarking") -> openai.OpenAI:
        headers = {PURPOSE_HEADER: purpose} if purpose else {}
        return openai.OpenAI(
            base_url=f"{self.url}/v1", api_key=key, max_retries=0, default_headers=headers
        )

    def anthropic(self, key: str, purpose: str | None = "benchmarking") -> anthropic.Anthropic:
        headers = {PURPOSE_HEADER: purpose} if purpose else {}
        return anthropic.Anthropic(
            base_url=self.url, api_key=key, max_retries=0, default_headers=headers
        )

    def audit_rows(self, wait_for: Callable[[list[Any]], bool] | None = None) -> list[Any]:
        """The chain's records; with ``wait_for``, polled until it holds (settle records
        are committed just after the answer leaves)."""
        deadline = time.monotonic() + 5
        while True:
            rows = self.runtime.tenancy.audit_tail(10_000)
            if wait_for is None or wait_for(rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.02)


def backends_for(mock: MockUpstream, fakes: dict[str, FakeClient]) -> Backends:
    specs = parse_backends(f"""
[backends."mock-gpt"]
provider = "openai"
base_url = "{mock.base_url}/v1"
model = "served-gpt"
api_key_env = "{UPSTREAM_KEY_ENV}"
max_attempts = 1

[backends."mock-claude"]
provider = "anthropic"
base_url = "{mock.base_url}"
model = "served-claude"
api_key_env = "{UPSTREAM_KEY_ENV}"
max_attempts = 1
""")
    for name in fakes:
        specs[name] = ModelSpec(name=name, provider="local", upstream_model="fake")

    def opener(spec: ModelSpec) -> ModelClient:
        return fakes[spec.name] if spec.name in fakes else open_client(spec, use_cache=False)

    return Backends(specs, opener)


@pytest.fixture
def warden_factory(upstream: MockUpstream, tmp_path: Path) -> Iterator[Callable[..., Warden]]:
    servers: list[BackgroundServer] = []

    def make(
        *, settings: WardenSettings | None = None, admin_token: str = "", **fake_kwargs: Any
    ) -> Warden:
        fakes = {
            "slow": FakeClient("slow", pieces=400, delay_s=0.02),
            "chatty": FakeClient("chatty", pieces=50, honour_max_tokens=False),
            "quick": FakeClient("quick", pieces=5, delay_s=0.01),
        }
        db = str(tmp_path / f"warden-{len(servers)}.db")
        app = create_app(
            db,
            backends_for(upstream, fakes),
            admin_token=admin_token,
            settings=settings or WardenSettings(watch_interval_s=0.05),
        )
        server = BackgroundServer(app).start()
        servers.append(server)
        return Warden(server.url, runtime_of(app), db, fakes)

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def warden(warden_factory: Callable[..., Warden]) -> Warden:
    return warden_factory()


@pytest.fixture(scope="module")
def warden_factory_module(
    upstream: MockUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Warden]]:
    """One server for a whole module (for tests that only read, or use their own org)."""
    servers: list[BackgroundServer] = []
    folder = tmp_path_factory.mktemp("warden")

    def make(settings: WardenSettings | None = None) -> Warden:
        fakes = {"quick": FakeClient("quick", pieces=5)}
        db = str(folder / f"warden-{len(servers)}.db")
        app = create_app(db, backends_for(upstream, fakes), admin_token="", settings=settings)
        server = BackgroundServer(app).start()
        servers.append(server)
        return Warden(server.url, runtime_of(app), db, fakes)

    yield make
    for server in servers:
        server.stop()
