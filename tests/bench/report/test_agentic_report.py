"""The report of polyglot runs (written through the Store, see agentic_runs.py): the
agentic section's figures, exact, for an edit run (try 1 and try 2) and a tools run;
the suite kinds; and the page opened offline in headless Chromium with no answer or
trajectory in it."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from benchwarden.bench.compare import compare_run
from benchwarden.bench.report import build_report, suite_kind
from benchwarden.bench.report.html import ci, pct
from benchwarden.bench.stats import mean_ci, pass_at_k, proportion_ci
from benchwarden.store import RunRecord, SampleRecord, open_store
from tests.bench.report.agentic_runs import (
    ALPHA,
    BETA,
    DIFF_MARK,
    EDIT_RUN,
    TOOLS_RUN,
    AgenticRuns,
    build_agentic_runs,
    edit_attempt,
    sample,
)
from tests.bench.report.browser import chromium, watch
from tests.cli_process import run_cli


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> AgenticRuns:
    return build_agentic_runs(tmp_path_factory.mktemp("agentic") / "results.db")


class _Tables(HTMLParser):
    """The tables inside <section id="agentic">, as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # > 0 inside the section
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            if self.depth or ("id", "agentic") in attrs:
                self.depth += 1
        elif self.depth and tag == "table":
            self.tables.append([])
        elif self.depth and tag == "tr":
            self.tables[-1].append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.depth:
            self.depth -= 1
        elif tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _tables(page: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def _report(runs: AgenticRuns, run_id: str, out: Path) -> tuple[str, list[list[list[str]]]]:
    result = run_cli("report", run_id, "--db", str(runs.db), "-o", str(out))
    assert result.returncode == 0, result.stderr + result.stdout
    page = out.read_text(encoding="utf-8")
    return page, _tables(page)


def _samples(runs: AgenticRuns, run_id: str) -> list[SampleRecord]:
    with open_store(str(runs.db)) as store:
        return store.samples(run_id)


def _p(k: int, n: int) -> str:
    return ci(proportion_ci(k, n))


def test_suite_kinds() -> None:
    assert suite_kind("polyglot", []) == "agentic"
    attempt = SampleRecord(
        "r", "m", "mine.yaml", "python/x", 0, "ok", score=1.0, passed=True,
        score_detail={"language": "python", "protocol": "tools", "outcome": "passed"},
    )  # fmt: skip
    assert suite_kind("mine.yaml", [attempt]) == "agentic"
    # The other kinds are as they were.
    assert suite_kind("humaneval-plus", []) == "coding"
    assert suite_kind("safety", []) == "safety"
    assert suite_kind("smoke", []) == "generic"


def test_edit_run_figures(runs: AgenticRuns, tmp_path: Path) -> None:
    page, tables = _report(runs, EDIT_RUN, tmp_path / "edit.html")
    rates, effort, failures, edits = tables
    assert rates[0] == [
        "model", "protocol", "language", "exercises", "try 1 % (95% CI)", "try 2 % (95% CI)",
        "errors",
    ]  # fmt: skip
    assert rates[1:] == [
        [ALPHA, "edit", "go", "2", _p(1, 2), _p(1, 2), "0"],
        [ALPHA, "edit", "python", "3", _p(1, 3), _p(2, 3), "0"],
        [ALPHA, "edit", "all", "5", _p(2, 5), _p(3, 5), "0"],
        [BETA, "edit", "go", "1", _p(1, 1), _p(1, 1), "1"],  # go/react errored: apart
        [BETA, "edit", "python", "3", _p(0, 3), _p(1, 3), "0"],
        [BETA, "edit", "all", "4", _p(1, 4), _p(2, 4), "1"],
    ]
    assert rates[2][4:6] == ["33.3 (6.1–79.2)", "66.7 (20.8–93.9)"]  # Wilson, by hand
    # The pooled rows are compare's own figures (score and the try1 sub-score).
    comparison = compare_run(EDIT_RUN, _samples(runs, EDIT_RUN), [ALPHA, BETA], ["polyglot"])
    pooled = {r[0]: r for r in rates[1:] if r[2] == "all"}
    for score in comparison.scores:
        assert pooled[score.model][4] == ci(score.parts["try1"])
        assert pooled[score.model][5] == ci(score.score)
    # Every call is 1000+200 tokens at $1e-5 (alpha), 1500+300 at $3e-5 (beta); a try
    # is one call and one write step.
    assert effort[1:] == [
        [ALPHA, "edit", "5", "3", "1.3", "1,600", "3,200", "$0.0960", "$0.0320"],
        [BETA, "edit", "4", "2", "1.5", "2,700", "6,300", "$0.3780", "$0.1890"],
    ]
    assert failures[0][4:] == [
        "compile_error", "tests_failed", "timeout", "no_answer", "infrastructure errors",
    ]  # fmt: skip
    assert failures[1:] == [
        [ALPHA, "edit", "5", "3", "1", "1", "0", "0", "0"],
        [BETA, "edit", "4", "2", "0", "0", "1", "1", "1"],
    ]
    assert edits[1:] == [
        [ALPHA, "edit", "5", "0", _p(0, 5), "0"],
        [BETA, "edit", "4", "0", _p(0, 4), "0"],
    ]
    assert 'href="#agentic"' in page and 'data-chart="agentic-pass"' in page
    assert DIFF_MARK.split("<")[0] not in page  # no answer in a report


def test_tools_run_figures(runs: AgenticRuns, tmp_path: Path) -> None:
    page, tables = _report(runs, TOOLS_RUN, tmp_path / "tools.html")
    rates, effort, failures, edits = tables
    assert rates[0][4] == "solved % (95% CI)" and "try 1 % (95% CI)" not in rates[0]
    assert rates[1:] == [
        [ALPHA, "tools", "go", "1", _p(0, 1), "0"],
        [ALPHA, "tools", "python", "1", _p(1, 1), "0"],
        [ALPHA, "tools", "all", "2", _p(1, 2), "0"],
        [BETA, "text", "go", "1", _p(0, 1), "0"],
        [BETA, "text", "python", "1", _p(1, 1), "0"],
        [BETA, "text", "all", "2", _p(1, 2), "0"],
    ]
    assert effort[1:] == [
        [ALPHA, "tools", "2", "1", "3.0", "4,400", "8,800", "$0.0880", "$0.0880"],
        [BETA, "text", "2", "1", "2.0", "6,300", "8,400", "$0.2520", "$0.2520"],
    ]
    assert failures[0][4:] == ["step_limit", "no_answer", "infrastructure errors"]
    assert failures[1:] == [
        [ALPHA, "tools", "2", "1", "1", "0", "0"],
        [BETA, "text", "2", "1", "0", "1", "0"],
    ]
    # Each model changed a test file once; beta's attempt still passed the restored tests.
    assert edits[1:] == [
        [ALPHA, "tools", "2", "1", _p(1, 2), "0"],
        [BETA, "text", "2", "1", _p(1, 2), "1"],
    ]
    for marker in ("PWNTEXT", "__pwned", "NOTES.html", DIFF_MARK.split("<")[0]):
        assert marker not in page  # no trajectory, no answer


def test_report_opens_offline(runs: AgenticRuns, tmp_path: Path) -> None:
    out = tmp_path / "edit.html"
    _report(runs, EDIT_RUN, out)
    with chromium() as browser:
        w = watch(browser)
        w.page.goto(out.as_uri())
        w.page.wait_for_load_state("load")
        charts = w.page.eval_on_selector_all(
            "#agentic figure.chart", "els => els.map(e => e.dataset.chart)"
        )
        assert charts == ["agentic-pass", "agentic-effort", "agentic-failures"]
        assert w.page.locator("#agentic figure.chart svg").count() == 3
        text = w.page.inner_text("#agentic")
        assert "Solved per language and model" in text and "cost per solved" in text
        assert "agentic" in w.page.inner_text("#summary")  # the suite's kind
        w.shot("report-agentic")
    assert w.errors == []
    assert [u for u in w.requests if u != out.as_uri()] == []


def test_epochs_average_per_exercise_and_give_pass_at_k() -> None:
    """Five epochs: exercises are the unit (bowling solved 2 of 5 times, grep 5 of 5),
    so the interval is Student-t over the two per-exercise means; pass@5 appears."""
    solved = {"python/bowling": 2, "python/grep": 5}
    samples = []
    for item, wins in solved.items():
        for epoch in range(5):
            tries = ["passed"] if epoch < wins else ["tests_failed", "tests_failed"]
            record = sample("r", ALPHA, item, edit_attempt(ALPHA, item, tries), "edit")
            record.epoch = epoch
            samples.append(record)
    run = RunRecord("r", "benchmarking", 0, ["polyglot"], [ALPHA], {"epochs": 5})
    rates, pass_k, *_ = _tables(build_report(run, samples, []))
    expected = mean_ci([2 / 5, 1.0])
    assert expected.method == "t"
    assert rates[1] == [ALPHA, "edit", "python", "2", ci(expected), ci(expected), "0"]
    assert pass_k[0] == ["suite", "model", "pass@1", "pass@5"]
    at5 = (pass_at_k(5, 2, 5) + pass_at_k(5, 5, 5)) / 2
    assert (
        pass_k[1] == ["polyglot", ALPHA, pct(0.7), pct(at5)] == ["polyglot", ALPHA, "70.0", "100.0"]
    )
