"""The warden commands as a user runs them (through a Typer app holding them, as
cli/app.py will): the secret printed once as the last line, lists without secrets,
audit verify's exit code, and serve."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import openai
import sqlalchemy as sa
from typer.testing import CliRunner

from benchwarden.store.engine import create_engine
from benchwarden.store.urls import resolve_url
from tests.warden.cli_app import app
from tests.warden.test_revocation import ROOT

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_org_grant_key_lifecycle(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    assert _run("org", "create", "acme", "--db", db)[0] == 0
    code, out, err = _run("org", "create", "acme", "--db", db)
    assert code == 1 and "already exists" in err
    code, out, _ = _run(
        "grant",
        "add",
        "--org",
        "acme",
        "-m",
        "local/smollm2-135m",
        "-m",
        "local/gemma3-270m",
        "-p",
        "benchmarking",
        "--rpm",
        "60",
        "--tpm",
        "10000",
        "--max-concurrency",
        "2",
        "--expires",
        "2099-12-31T00:00:00Z",
        "--db",
        db,
    )
    assert code == 0 and out.count("Granted") == 2 and "rpm 60, tpm 10000" in out
    code, out, err = _run("grant", "add", "--org", "nobody", "-m", "m", "--db", db)
    assert code == 1 and "No organization 'nobody'" in err

    code, out, _ = _run("key", "create", "--org", "acme", "-p", "benchmarking", "--db", db)
    assert code == 0
    secret = out.strip().splitlines()[-1]
    assert re.fullmatch(r"bw_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", secret)
    key_id = secret[3:11]

    code, out, _ = _run("key", "list", "--db", db)
    assert code == 0 and key_id in out and "active" in out
    assert secret not in out and secret[12:] not in out
    code, out, _ = _run("grant", "list", "--org", "acme", "--db", db)
    assert "local/smollm2-135m" in out and "local/gemma3-270m" in out

    code, out, _ = _run("key", "revoke", key_id, "--reason", "left", "--db", db)
    assert code == 0 and f"Revoked key {key_id}" in out
    code, out, _ = _run("key", "revoke", key_id, "--db", db)
    assert code == 0 and "already revoked" in out
    code, out, err = _run("key", "revoke", "nothex!", "--db", db)
    assert code == 1 and "not a key id" in err
    assert "revoked" in _run("key", "list", "--db", db)[1]
    code, out, _ = _run("grant", "remove", "--org", "acme", "-m", "local/gemma3-270m", "--db", db)
    assert code == 0

    code, out, _ = _run("audit", "tail", "-n", "3", "--json", "--db", db)
    actions = [line for line in out.splitlines() if line.startswith("{")]
    assert len(actions) == 3 and '"action": "grant.remove"' in actions[-1]
    assert secret not in _run("audit", "tail", "-n", "50", "--json", "--db", db)[1]
    code, out, _ = _run("audit", "verify", "--db", db)
    assert code == 0 and "intact: 6 records" in out


def test_audit_verify_exits_non_zero_and_names_the_record(tmp_path: Path) -> None:
    db = str(tmp_path / "tamper.db")
    _run("org", "create", "a", "--db", db)
    _run("org", "create", "b", "--db", db)
    _run("grant", "add", "--org", "a", "-m", "m", "--db", db)
    assert _run("audit", "verify", "--db", db)[0] == 0
    engine = create_engine(resolve_url(db))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE warden_audit SET org = 'c' WHERE seq = 2"))
    engine.dispose()
    code, _, err = _run("audit", "verify", "--db", db)
    assert code == 1
    assert "record 2 (altered)" in err


def test_bad_database_location_fails_cleanly() -> None:
    code, _, err = _run("key", "list", "--db", "mysql://u:hunter2@h/db")
    assert code == 1 and "hunter2" not in err and "sqlite" in err.lower()


def test_serve_runs_a_server(tmp_path: Path) -> None:
    db = str(tmp_path / "serve.db")
    _run("org", "create", "acme", "--db", db)
    backends = tmp_path / "backends.toml"
    backends.write_text('[backends."local/smollm2-135m"]\n')
    port = _free_port()
    env = {**os.environ, "BENCHWARDEN_ADMIN_TOKEN": ""}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.warden.cli_app",
            "serve",
            "--port",
            str(port),
            "--backends",
            str(backends),
            "--db",
            db,
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        health = httpx.get(f"{url}/healthz").json()
        assert health["status"] == "ok" and health["models"] == ["local/smollm2-135m"]
        assert (health["db"], health["limits"]) == ("ok", "in-process")  # SQLite: no notices
        assert "notices" not in health
        client = openai.OpenAI(
            base_url=f"{url}/v1", api_key="bw_00000000_" + "A" * 43, max_retries=0
        )
        try:
            client.models.list()
        except openai.AuthenticationError as exc:
            assert exc.response.json()["error"]["code"] == "invalid_key"
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises SIGTERM to end with its usual status.
    assert process.returncode in (0, -15), err
    assert "Traceback" not in err
    assert "warden on http://127.0.0.1" in err and "admin API off" in err


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
