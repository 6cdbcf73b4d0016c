"""``serve --workers N``: several warden processes on one port.

uvicorn's supervisor binds the socket once and starts N worker processes (spawned,
not forked: each opens its own database pool and Redis client), restarts a worker
that dies, and shuts them all down on Ctrl-C / SIGTERM. Each worker builds its app
with ``app_from_env`` from the ``ServeSpec`` the parent put in the environment.

Workers are replicas like any other: they share nothing but the database and the
limit store, so the CLI refuses ``--workers`` above 1 without ``--limits redis://``
(in-process limits would let N workers admit N times a grant).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette

SPEC_ENV = "BENCHWARDEN_SERVE_SPEC"


@dataclass(frozen=True, slots=True)
class ServeSpec:
    """What every worker needs to build the same app (plain, JSON-able)."""

    db: str | None = None
    backends: str | None = None
    fingerprints: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # WardenSettings fields
    policy: dict[str, Any] | None = None  # the monitor's Policy fields (None: its defaults)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> ServeSpec:
        data = json.loads(text)
        return ServeSpec(
            data.get("db"),
            data.get("backends"),
            data.get("fingerprints"),
            data["settings"],
            data.get("policy"),
        )


def build_app(spec: ServeSpec) -> Starlette:
    from benchwarden.warden.app import WardenSettings, create_app
    from benchwarden.warden.backends import Backends, load_backends, load_routes
    from benchwarden.warden.monitor.scoring import Policy

    path = Path(spec.backends) if spec.backends else None
    served = Backends(load_backends(path), routes=load_routes(path))
    prints = Path(spec.fingerprints) if spec.fingerprints else None
    options = dict(spec.settings)
    options["limits_fail_open"] = frozenset(options.get("limits_fail_open") or ())  # JSON: a list
    settings = WardenSettings(**options)
    policy = Policy(**spec.policy) if spec.policy else None
    return create_app(spec.db, served, settings=settings, fingerprints=prints, policy=policy)


def app_from_env() -> Starlette:
    """uvicorn's app factory in each worker (the start-up heap frozen, as ``serve``
    does for one process: see ``server.settle_heap``)."""
    from benchwarden.warden.server import settle_heap

    app = build_app(ServeSpec.from_json(os.environ[SPEC_ENV]))
    settle_heap()
    return app


def run_workers(spec: ServeSpec, host: str, port: int, workers: int, log_level: str) -> None:
    """Serve with ``workers`` processes until interrupted."""
    os.environ[SPEC_ENV] = spec.to_json()
    uvicorn.run(
        "benchwarden.warden.workers:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        # As for one process (server._config): no X-Forwarded-* layer on every request.
        proxy_headers=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
