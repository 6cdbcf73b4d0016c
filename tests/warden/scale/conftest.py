"""Servers for the scale tests: Redis (Debian's redis-server), started once per session
on a free loopback port and stopped by its PID; PostgreSQL through tests/store/pg.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.store.pg import PgServer, PgUnavailable, running_pg_server
from tests.warden.scale.redis_server import RedisServer, RedisUnavailable, running_redis


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    try:
        with running_redis() as server:
            yield server
    except RedisUnavailable as exc:  # fail, never skip
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        with running_pg_server() as server:
            yield server
    except PgUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
