"""The same load as test_replicas.py's limits test, on three replicas that each count
limits in their own process (no --limits): together they admit more than the grant
in one window. What the shared limiter is for, and proof that the check can fail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchwarden.store.warden_store import open_warden_store
from benchwarden.testing.mock_upstream import ThreadedMockUpstream
from tests.store.pg import PgServer
from tests.warden.scale.cluster import Cluster, running_cluster
from tests.warden.scale.test_replicas import codes, fire, tenant
from tests.warden.scale.windows import admitted_per_window, org_rows


@pytest.fixture(scope="module")
def local_limits_cluster(pg_server: PgServer) -> Iterator[Cluster]:
    db = pg_server.create_database()
    open_warden_store(db).close()
    with (
        ThreadedMockUpstream(reply="alpha beta gamma") as mock,
        running_cluster(db, None, mock) as running,
    ):
        yield running


async def test_in_process_limits_overshoot_across_replicas(
    local_limits_cluster: Cluster,
) -> None:
    cluster = local_limits_cluster
    org, _key_id, key = tenant(cluster.db, rpm=12)
    seen = codes(await fire(cluster.front, key, 60))
    assert seen["ok"] > 12  # round robin: each replica admits up to 12 of its 20
    assert admitted_per_window(org_rows(cluster.db, org)) > 12
