"""Shared fixtures: an isolated BENCHWARDEN_HOME and a mock upstream on loopback."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from benchwarden.testing.mock_upstream import MockUpstream

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test session gets its own home; models assembled once per session."""
    home = tmp_path_factory.mktemp("bw-home")
    old = os.environ.get("BENCHWARDEN_HOME")
    os.environ["BENCHWARDEN_HOME"] = str(home)
    os.environ.setdefault("BENCHWARDEN_DATA_MIRROR", str(ROOT.parent / "shared" / "data"))
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        os.environ.pop(var, None)
    yield home
    if old is None:
        os.environ.pop("BENCHWARDEN_HOME", None)
    else:
        os.environ["BENCHWARDEN_HOME"] = old


@pytest.fixture
async def mock() -> AsyncIterator[MockUpstream]:
    server = MockUpstream()
    await server.start()
    yield server
    await server.stop()
