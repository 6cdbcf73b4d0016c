"""A polyglot run through warden: bench's agent loop reaches a model that warden serves
under a grant for benchmarking; the audit names the agent's tools; after the key is
revoked, the next run's attempts fail cleanly as access refusals and nothing measured
before is lost."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from benchwarden.bench.agentic.exercises import Exercise, load_exercises
from benchwarden.models.config import ModelSpec
from benchwarden.models.factory import open_client
from benchwarden.models.protocol import ModelClient
from benchwarden.warden.app import WardenSettings, create_app, runtime_of
from benchwarden.warden.backends import Backends, parse_backends
from benchwarden.warden.server import BackgroundServer
from benchwarden.warden.tenancy import GrantTerms
from tests.bench.agentic.solver import Solver, tools_solves
from tests.bench.agentic.test_polyglot_run import samples
from tests.cli_process import run_cli

KEY_ENV = "POLYGLOT_WARDEN_KEY"


@pytest.fixture(scope="module")
def python_exercises() -> list[Exercise]:
    return load_exercises(("python",))


def test_polyglot_tools_run_through_warden(
    tmp_path: Path, python_exercises: list[Exercise]
) -> None:
    with Solver(python_exercises, {"solves": tools_solves}) as solver:
        specs = parse_backends(f"""
[backends."solver"]
provider = "openai"
base_url = "{solver.base_url}/v1"
model = "solves"
max_attempts = 1
""")

        def opener(spec: ModelSpec) -> ModelClient:
            return open_client(spec, use_cache=False)

        app = create_app(
            str(tmp_path / "warden.db"),
            Backends(specs, opener),
            admin_token="",
            settings=WardenSettings(watch_interval_s=0.05),
        )
        server = BackgroundServer(app).start()
        try:
            tenancy = runtime_of(app).tenancy
            tenancy.create_org("lab")
            tenancy.add_grant("lab", "solver", GrantTerms(("benchmarking",), None, None, None))
            record, secret = tenancy.create_key("lab", ["benchmarking"])
            config = tmp_path / "models.toml"
            config.write_text(
                '[models."via-warden"]\nprovider = "openai"\n'
                f'base_url = "{server.url}/v1"\nmodel = "solver"\n'
                f'api_key_env = "{KEY_ENV}"\npurposes = ["benchmarking"]\n'
                "max_concurrency = 2\nmax_attempts = 1\n"
            )
            db = tmp_path / "results.db"
            common = [
                "run",
                "-s",
                "polyglot",
                "--agent",
                "tools",
                "--language",
                "python",
                "-m",
                "via-warden",
                "--config",
                str(config),
                "--db",
                str(db),
                "--no-cache",
            ]
            env = {KEY_ENV: secret}
            first = run_cli(*common, "--limit", "2", "--run-id", "through", env=env)
            assert first.returncode == 0, first.stdout + first.stderr
            solved = samples(db, "through")
            assert len(solved) == 2 and all(s.passed for s in solved.values())

            deadline = time.monotonic() + 5
            while True:  # settle records are committed just after the answers leave
                rows = [r for r in tenancy.audit_tail(10_000) if r.org == "lab"]
                settles = [r for r in rows if r.action.endswith(".settle")]
                called = {t for r in settles for t in r.detail.get("tools_called", [])}
                if {"write_file", "run_tests"} <= called or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            asked = [r for r in rows if r.action == "chat.completions"]
            assert asked and all(r.detail["tools"][0] == "shell" for r in asked)
            assert {"read_file", "write_file", "run_tests"} <= called
            assert secret not in repr(rows)

            tenancy.revoke_key(record.key_id)
            second = run_cli(*common, "--limit", "3", "--run-id", "after", env=env)
            assert second.returncode == 0, second.stdout + second.stderr
            assert "stopped" in second.stdout
            refused = samples(db, "after")
            assert refused and all(s.status == "error" for s in refused.values())
            assert all(s.error_kind == "access_denied" for s in refused.values())
            assert secret not in second.stdout + second.stderr
            assert samples(db, "through").keys() == solved.keys()  # nothing lost
        finally:
            server.stop()
