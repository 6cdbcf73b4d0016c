"""Simulated time reaches the revocation watch: a call in flight is judged at the
simulated moment, so a grant that expires later in the simulated day still serves."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from benchwarden.testing.sim_run import START
from benchwarden.warden.app import create_app, runtime_of
from benchwarden.warden.backends import parse_backends
from benchwarden.warden.sim_clock import SimClock
from benchwarden.warden.tenancy import GrantTerms

BACKENDS = """
[backends."sim-model"]
provider = "openai"
base_url = "http://127.0.0.1:9/v1"
max_attempts = 1
"""


def test_the_watch_judges_calls_in_flight_on_the_simulated_clock(tmp_path: Path) -> None:
    clock = SimClock(START)  # long before the wall clock
    app = create_app(
        str(tmp_path / "sim.db"), parse_backends(BACKENDS), admin_token="", sim_clock=clock
    )
    runtime = runtime_of(app)
    try:
        runtime.tenancy.create_org("acme")
        expires = START + timedelta(hours=1)
        grant = runtime.tenancy.add_grant(
            "acme", "sim-model", GrantTerms(("benchmarking",), expires_at=expires)
        )
        key, _secret = runtime.tenancy.create_key("acme", ["benchmarking"])
        ticket = runtime.watch.register(key.key_id, grant.id, "sim-model")
        assert asyncio.run(runtime.watch.check()) == 0  # simulated 00:00: still granted
        assert ticket.reason is None
        clock.advance(START + timedelta(hours=2))
        assert asyncio.run(runtime.watch.check()) == 1  # simulated 02:00: expired
        assert ticket.reason is not None and ticket.reason.code == "key_expired"
    finally:
        runtime.executor.shutdown(wait=True)
        runtime.store.close()
