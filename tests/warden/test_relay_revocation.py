"""Relayed streams (a backend of the client's own API, body forwarded as sent) end
with warden's refusal when the key is revoked mid-stream, in each API's own error
event, and the call is settled as ended."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from benchwarden.testing.mock_upstream import ThreadedMockUpstream
from benchwarden.warden.app import WardenSettings, create_app, runtime_of
from benchwarden.warden.backends import Backends, parse_backends
from benchwarden.warden.server import BackgroundServer
from benchwarden.warden.tenancy import GrantTerms, Tenancy
from tests.warden.conftest import UPSTREAM_KEY, UPSTREAM_KEY_ENV

WORDS = " ".join(f"w{i}" for i in range(60))  # 60 events, 0.1 s apart: 6 s of stream


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, Any]]:
    monkeypatch.setenv(UPSTREAM_KEY_ENV, UPSTREAM_KEY)
    with ThreadedMockUpstream(reply=WORDS, stream_gap_s=0.1) as mock:
        specs = parse_backends(f"""
[backends."gpt"]
provider = "openai"
base_url = "{mock.base_url}/v1"
api_key_env = "{UPSTREAM_KEY_ENV}"

[backends."claude"]
provider = "anthropic"
base_url = "{mock.base_url}"
api_key_env = "{UPSTREAM_KEY_ENV}"
""")
        settings = WardenSettings(watch_interval_s=0.05)
        app = create_app(str(tmp_path / "w.db"), Backends(specs), admin_token="", settings=settings)
        tenancy = runtime_of(app).tenancy
        tenancy.create_org("lab")
        for model in ("gpt", "claude"):
            tenancy.add_grant("lab", model, GrantTerms(("benchmarking",)))
        record, key = tenancy.create_key("lab", ["benchmarking"])
        with BackgroundServer(app) as server:
            yield server.url, key, (tenancy, record.key_id)


def _revoke_soon(tenancy: Tenancy, key_id: str) -> None:
    def later() -> None:
        time.sleep(0.8)
        tenancy.revoke_key(key_id, "contract ended")

    threading.Thread(target=later, daemon=True).start()


def test_a_relayed_chat_stream_ends_with_the_refusal(served: tuple[str, str, Any]) -> None:
    url, key, (tenancy, key_id) = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    stream = client.chat.completions.create(
        model="gpt", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    _revoke_soon(tenancy, key_id)
    started = time.monotonic()
    pieces = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in stream:
            pieces.extend(c.delta.content or "" for c in chunk.choices)
    assert "revoked" in str(raised.value)
    assert 3 <= len(pieces) < 50 and time.monotonic() - started < 3


def test_a_relayed_messages_stream_ends_with_the_refusal(served: tuple[str, str, Any]) -> None:
    url, key, (tenancy, key_id) = served
    client = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0)
    _revoke_soon(tenancy, key_id)
    started = time.monotonic()
    request: dict[str, Any] = {
        "model": "claude",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with pytest.raises(anthropic.APIStatusError) as raised, client.messages.stream(**request) as s:
        for _ in s.text_stream:
            pass
    assert "revoked" in str(raised.value)
    assert time.monotonic() - started < 3
    deadline = time.monotonic() + 5  # the settle record is committed just after
    while True:
        rows = tenancy.audit_tail(50)
        ended = [r for r in rows if r.action == "messages.settle" and r.decision == "ended"]
        if ended or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert ended and ended[-1].code == "key_revoked"
