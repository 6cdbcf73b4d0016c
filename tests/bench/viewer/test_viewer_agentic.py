"""The viewer on polyglot runs (written through the Store, see report/agentic_runs.py),
in headless Chromium: an attempt is a timeline of its steps (kind, name, input, folded
output, tokens, seconds; test runs coloured by outcome) and its final diff; hostile
tool output and a hostile diff are shown as text, never run."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.bench.report.agentic_runs import (
    ALPHA,
    BETA,
    DIFF_MARK,
    EDIT_RUN,
    HOSTILE,
    TOOLS_RUN,
    AgenticRuns,
    build_agentic_runs,
)
from tests.bench.report.browser import chromium, watch
from tests.bench.viewer.server import viewer_at

GREEN, RED = "rgb(240, 255, 244)", "rgb(255, 245, 245)"  # .outcome-passed, .outcome-failed


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> AgenticRuns:
    return build_agentic_runs(tmp_path_factory.mktemp("agentic-view") / "results.db")


@pytest.fixture(scope="module")
def viewer(runs: AgenticRuns) -> Iterator[str]:
    with viewer_at(runs.db) as url:
        yield url


def _item(viewer: str, run_id: str, item: str) -> str:
    return f"{viewer}/item?run={quote(run_id)}&suite=polyglot&item={quote(item, safe='')}"


def test_edit_attempt_is_a_timeline_with_its_diff(viewer: str) -> None:
    with chromium() as browser:
        w = watch(browser)
        w.page.goto(f"{viewer}/run?id={quote(EDIT_RUN)}")
        assert w.page.locator("tr.item").count() == 5
        w.page.click("a.item-link:text-is('python/grep')")
        w.page.wait_for_selector(".attempt")
        alpha, beta = w.page.locator(".col").nth(0), w.page.locator(".col").nth(1)
        steps = alpha.locator("ol.timeline > li.step")
        kinds = [steps.nth(i).get_attribute("data-kind") for i in range(steps.count())]
        assert kinds == ["model", "tool", "tests", "model", "tool", "tests"]
        heads = steps.locator(".step-head").all_inner_texts()
        assert "1000 in / 200 out" in heads[0] and "0.50 s" in heads[0]
        assert "write_files" in heads[1] and "0.80 s" in heads[2]
        assert alpha.locator("pre.step-input").first.inner_text() == "grep.py"
        # Test runs coloured by outcome: the first failed, the second passed.
        tests = alpha.locator("li.step.kind-tests")
        colours = [
            tests.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in (0, 1)
        ]
        assert colours == [RED, GREEN]
        assert tests.locator(".step-name").all_inner_texts() == ["tests_failed", "passed"]
        # Outputs are folded until asked for.
        output = tests.nth(0).locator("details.step-output pre")
        assert not output.is_visible()
        tests.nth(0).locator("details.step-output summary").click()
        assert output.is_visible() and "1 failed, 8 passed" in output.inner_text()
        facts = alpha.locator("dl").inner_text()
        assert "try 1: tests_failed (1 files) · try 2: passed (1 files)" in facts
        assert "edit" in facts and "python" in facts
        # The final diff, as a diff block whose markup-like text stays text.
        diff = alpha.locator("pre.diff")
        assert diff.locator(".d-add").count() == 2 and diff.locator(".d-del").count() == 1
        assert f"+# {DIFF_MARK}" in diff.inner_text() and diff.locator("b").count() == 0
        # beta never named a file: no change to the stub, writes marked as errors.
        assert beta.locator("pre.diff").count() == 0
        assert "no change to the stub" in beta.locator(".attempt").inner_text()
        assert beta.locator("li.step.step-error").count() == 2
        assert "no_answer" in beta.locator("dl").inner_text()
        w.shot("viewer-agentic-edit")
        assert w.errors == []


def test_tools_attempt_shows_hostile_output_as_text(viewer: str) -> None:
    url = _item(viewer, TOOLS_RUN, "python/bowling")
    with chromium() as browser:
        w = watch(browser)
        w.page.goto(url)
        w.page.wait_for_selector(".attempt")
        alpha, beta = w.page.locator(".col").nth(0), w.page.locator(".col").nth(1)
        assert ALPHA in alpha.locator("h2").inner_text()
        assert BETA in beta.locator("h2").inner_text()
        assert alpha.locator("li.step").count() == 7  # four model calls, three tools
        shell = alpha.locator("li.step.kind-tool").first
        assert "shell" in shell.locator(".step-name").inner_text()
        assert shell.locator("pre.step-input").inner_text() == "cat NOTES.html"
        for summary in w.page.locator("details summary").all():
            summary.click()  # open every fold
        assert shell.locator("details.step-output pre").inner_text() == HOSTILE
        assert HOSTILE in alpha.locator("pre.diff").inner_text()
        assert w.page.evaluate("typeof window.__pwned") == "undefined"
        assert w.page.locator("main img").count() == 0
        assert w.page.locator("main script").count() == 0
        # The tools attempt ended with the restored tests, outside the timeline.
        final = alpha.locator(".final-tests")
        assert "passed" in final.inner_text()
        assert final.evaluate("e => getComputedStyle(e).backgroundColor") == GREEN
        facts = beta.locator("dl").inner_text()
        assert "text" in facts and "bowling_test.py (restored)" in facts
        w.shot("viewer-agentic-tools")
        body = w.page.request.get(url).text()
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in body
        assert "<script>window" not in body and "<img src=x" not in body
        assert w.errors == []


def test_step_limit_and_errored_attempts(viewer: str) -> None:
    with chromium() as browser:
        w = watch(browser)
        w.page.goto(_item(viewer, TOOLS_RUN, "go/react"))
        alpha = w.page.locator(".col").nth(0)
        facts = alpha.locator("dl").inner_text()
        assert "step_limit" in facts and "react_test.go (restored)" in facts
        assert alpha.locator("li.step.kind-tool").count() == 4
        assert "tests_failed" in alpha.locator(".final-tests").inner_text()
        # An errored sample recorded no attempt: no timeline, the error said.
        w.page.goto(_item(viewer, EDIT_RUN, "go/react"))
        beta = w.page.locator(".col").nth(1)
        assert beta.locator(".attempt").count() == 0
        assert "rate_limited" in beta.locator("dl").inner_text()
        assert w.errors == []
