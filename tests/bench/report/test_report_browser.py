"""The report: one file, opened in headless Chromium with no network, charts in the
DOM, the comparison's own figures in its tables, and no answer in it."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from benchwarden.bench.compare import compare_run
from benchwarden.bench.report.html import ci
from benchwarden.store import open_store
from tests.bench.report.browser import chromium, watch
from tests.bench.report.runs import (
    CLI_RUN,
    CSE_MARKER,
    JUDGE_MARKER,
    MIXED_RUN,
    SAFETY_MARKER,
    Runs,
)
from tests.cli_process import run_cli


def _report(runs: Runs, run_id: str, out: Path) -> str:
    result = run_cli("report", run_id, "--db", str(runs.db), "-o", str(out))
    assert result.returncode == 0, result.stderr + result.stdout
    return out.read_text(encoding="utf-8")


def _open(path: Path, name: str) -> tuple[list[str], list[str], dict[str, int], str]:
    with chromium() as browser:
        w = watch(browser)
        w.page.goto(path.as_uri())
        w.page.wait_for_load_state("load")
        charts = {
            key: w.page.locator(f'figure.chart[data-chart="{key}"] svg').count()
            for key in w.page.eval_on_selector_all(
                "figure.chart", "els => els.map(e => e.dataset.chart)"
            )
        }
        text = w.page.inner_text("body")
        w.shot(name)
    # Anything but the file itself would be a network request (or a missing asset).
    fetched = [u for u in w.requests if u != path.as_uri()]
    return w.errors, fetched, charts, text


@pytest.mark.parametrize(
    ("run_id", "charts"),
    [
        (CLI_RUN, {"scores", "pairs", "unsafe-per-hazard", "over-refusal", "costs"}),
        (
            MIXED_RUN,
            {
                "scores",
                "pairs",
                "pass-at-k",
                "unsafe-per-hazard",
                "over-refusal",
                "judge-agreement",
                "costs",
            },
        ),
    ],
)
def test_report_opens_offline_with_its_charts(
    results_db: Runs, tmp_path: Path, run_id: str, charts: set[str]
) -> None:
    out = tmp_path / f"{run_id}.html"
    page = _report(results_db, run_id, out)
    errors, fetched, found, text = _open(out, f"report-{run_id}")
    assert errors == [] and fetched == []
    assert charts <= set(found) and all(n == 1 for n in found.values()), found
    # The tables carry compare's figures exactly, for every suite and model.
    with open_store(str(results_db.db)) as store:
        run = store.get_run(run_id)
        assert run is not None
        report = compare_run(run_id, store.samples(run_id), run.models, run.suites)
    for score in report.scores:
        assert ci(score.score) in text, (score.suite, score.model)
    for section in ("Scores per suite", "Paired differences", "Safety", "Run provenance"):
        assert section in text
    # No answer is in a report: not the hidden safety ones, not a judge's reply to them.
    for marker in (CSE_MARKER, SAFETY_MARKER, JUDGE_MARKER, "<script>window"):
        assert marker not in page
    assert html.escape(run.command) in page


def test_report_provenance_names_endpoints_costs_and_errors(
    results_db: Runs, tmp_path: Path
) -> None:
    page = _report(results_db, MIXED_RUN, tmp_path / "m.html")
    assert "https://api.beta.example/v1" in page and "https://api.alpha.example/v1" in page
    assert "rate_limited ×1" in page  # the errored sample, counted apart
    assert "lab/beta: rate limited (429) after 5 attempts" in page
    assert "pass@1" in page and "pass@5" not in page  # 3 epochs: pass@5 is not computable


def test_unknown_run_is_a_clear_error(results_db: Runs, tmp_path: Path) -> None:
    result = run_cli("report", "nope", "--db", str(results_db.db), "-o", str(tmp_path / "x.html"))
    assert result.returncode == 1 and "no run 'nope'" in result.stderr
    assert not (tmp_path / "x.html").exists()
