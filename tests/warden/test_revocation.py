"""Revocation and grant removal hold from the very next request, and end calls in
flight: streams get a final error event, plain calls the refusal."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from benchwarden.store.warden_store import open_warden_store
from benchwarden.warden.tenancy import Tenancy
from tests.warden.conftest import Warden

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = [{"role": "user", "content": "Tell me a long story."}]


def _elsewhere(warden: Warden) -> Tenancy:
    """An admin working on the same database through its own connection (as the CLI or
    another replica would), not through the server's objects."""
    return Tenancy(open_warden_store(warden.db), "test-admin")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.warden.cli_app", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
        check=False,
    )


def test_revocation_holds_from_the_next_request(warden: Warden) -> None:
    tenant = warden.tenant()
    client = warden.openai(tenant.key)
    for _ in range(3):  # no cache warms up to keep a revoked key alive
        client.chat.completions.create(model="mock-gpt", messages=MESSAGES, max_tokens=4)
    admin = _elsewhere(warden)
    admin.revoke_key(tenant.key_id, "contract ended")
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="mock-gpt", messages=MESSAGES, max_tokens=4)
    assert info.value.response.json()["error"]["code"] == "key_revoked"
    admin.store.close()


def test_grant_removal_holds_from_the_next_request(warden: Warden) -> None:
    tenant = warden.tenant()
    client = warden.openai(tenant.key)
    client.chat.completions.create(model="mock-gpt", messages=MESSAGES, max_tokens=4)
    admin = _elsewhere(warden)
    admin.remove_grant(tenant.org, "mock-gpt")
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="mock-gpt", messages=MESSAGES, max_tokens=4)
    assert info.value.response.json()["error"]["code"] == "model_not_granted"
    # The organization's other grants are untouched.
    assert client.chat.completions.create(model="mock-claude", messages=MESSAGES, max_tokens=4)
    admin.store.close()


def _eventually(check: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _revoke_after(delay_s: float, action: Any) -> threading.Thread:
    def run() -> None:
        time.sleep(delay_s)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_revocation_ends_an_openai_stream_in_flight(warden: Warden) -> None:
    tenant = warden.tenant(models=("slow",))
    stream = warden.openai(tenant.key).chat.completions.create(
        model="slow", messages=MESSAGES, max_tokens=300, stream=True
    )
    received: list[str] = []
    admin = _elsewhere(warden)
    revoked_at: list[float] = []

    def revoke() -> None:
        admin.revoke_key(tenant.key_id)
        revoked_at.append(time.monotonic())

    thread = _revoke_after(0.3, revoke)
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            if chunk.choices:
                received.append(chunk.choices[0].delta.content or "")
    ended_at = time.monotonic()
    thread.join()
    assert isinstance(info.value.body, dict) and info.value.body["code"] == "key_revoked"
    assert 3 <= len(received) < 100  # some text came, then the stream ended early
    assert ended_at - revoked_at[0] < 2.0
    _eventually(lambda: warden.fakes["slow"].cancelled == 1)  # the backend stream was closed
    rows = warden.audit_rows(lambda rs: any(r.decision == "ended" for r in rs))
    ended = next(r for r in rows if r.decision == "ended")
    assert (ended.code, ended.key_id) == ("key_revoked", tenant.key_id)
    assert ended.output_tokens == ended.detail["pieces"] >= len(received) - 1
    admin.store.close()


def test_revocation_ends_an_anthropic_stream_in_flight(warden: Warden) -> None:
    tenant = warden.tenant(models=("slow",))
    client = warden.anthropic(tenant.key)
    admin = _elsewhere(warden)
    thread = _revoke_after(0.3, lambda: admin.revoke_key(tenant.key_id))
    pieces: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as info,
        client.messages.stream(model="slow", max_tokens=300, messages=MESSAGES) as stream,
    ):
        pieces.extend(stream.text_stream)
    thread.join()
    assert "key_revoked" in str(info.value)
    assert 3 <= len(pieces) < 100
    admin.store.close()


def test_grant_removal_ends_a_stream_in_flight(warden: Warden) -> None:
    tenant = warden.tenant(models=("slow",))
    stream = warden.openai(tenant.key).chat.completions.create(
        model="slow", messages=MESSAGES, max_tokens=300, stream=True
    )
    admin = _elsewhere(warden)
    thread = _revoke_after(0.3, lambda: admin.remove_grant(tenant.org, "slow"))
    with pytest.raises(openai.APIError) as info:
        for _ in stream:
            pass
    thread.join()
    assert isinstance(info.value.body, dict) and info.value.body["code"] == "model_not_granted"
    admin.store.close()


def test_revocation_ends_a_plain_call_in_flight(warden: Warden) -> None:
    tenant = warden.tenant(models=("slow",))
    admin = _elsewhere(warden)
    thread = _revoke_after(0.3, lambda: admin.revoke_key(tenant.key_id))
    started = time.monotonic()
    with pytest.raises(openai.PermissionDeniedError) as info:
        warden.openai(tenant.key).chat.completions.create(
            model="slow", messages=MESSAGES, max_tokens=300
        )
    thread.join()
    assert info.value.response.json()["error"]["code"] == "key_revoked"
    assert time.monotonic() - started < 3.0  # the answer would have taken 6 s
    admin.store.close()


def test_cli_revoke_in_another_process_ends_the_stream(warden: Warden) -> None:
    tenant = warden.tenant(models=("slow",))
    stream = warden.openai(tenant.key).chat.completions.create(
        model="slow", messages=MESSAGES, max_tokens=300, stream=True
    )
    iterator = iter(stream)
    next(iterator)
    done = _cli("key", "revoke", tenant.key_id, "--reason", "demo", "--db", warden.db)
    assert done.returncode == 0, done.stderr
    assert f"Revoked key {tenant.key_id}" in done.stdout
    with pytest.raises(openai.APIError):
        for _ in iterator:
            pass
    revoke = next(r for r in warden.audit_rows() if r.action == "key.revoke")
    assert revoke.actor.startswith("cli") and revoke.detail == {"reason": "demo"}
