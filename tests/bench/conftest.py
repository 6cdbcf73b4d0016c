"""Fixtures shared by the report and viewer tests."""

from __future__ import annotations

import pytest

from tests.bench.report.runs import Runs, build_cli_run, build_mixed_run


@pytest.fixture(scope="session")
def results_db(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """One SQLite file with a real CLI run (embedded models) and a coding+safety run."""
    db = tmp_path_factory.mktemp("results") / "results.db"
    build_cli_run(db)
    return build_mixed_run(db)
