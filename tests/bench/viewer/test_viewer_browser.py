"""The viewer, as a user clicks through it in headless Chromium: runs -> run -> item ->
side by side; a filter; search; a hidden safety answer revealed; a child-safety answer
never in any page; a hostile answer shown as text, never run."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.bench.report.browser import Watched, chromium, watch
from tests.bench.report.runs import (
    CSE_MARKER,
    HOSTILE,
    JUDGE_MARKER,
    MIXED_RUN,
    MODELS,
    SAFETY_MARKER,
    SEARCH_WORD,
    Runs,
)
from tests.bench.viewer.server import viewer_at


@pytest.fixture(scope="module")
def viewer(results_db: Runs) -> Iterator[str]:
    with viewer_at(results_db.db) as url:
        yield url


def _same_origin(w: Watched, base: str) -> None:
    assert all(u.startswith(base) or u.startswith("data:") for u in w.requests), w.requests


def test_list_run_item_side_by_side(viewer: str, results_db: Runs) -> None:
    with chromium() as browser:
        w = watch(browser)
        w.page.goto(viewer + "/")
        assert w.page.locator("a.run").count() == 2
        w.shot("viewer-1-runs")
        w.page.click(f"a.run:text-is('{MIXED_RUN}')")
        w.page.wait_for_selector("#items")
        rows = w.page.locator("tr.item")
        assert rows.count() == 5 + 1 + 12 + 4  # coding (one errored), safety, over-refusal
        w.shot("viewer-2-run")
        w.page.click(f"a.item-link:text-is('{results_db.search_item}')")
        w.page.wait_for_selector(".side")
        cols = w.page.locator(".col")
        assert cols.count() == 2
        assert MODELS[0] in cols.nth(0).inner_text() and MODELS[1] in cols.nth(1).inner_text()
        assert cols.nth(0).locator(".epoch").count() == 3  # three epochs, each with its score
        left = cols.nth(0).inner_text()
        assert "failing test" in left and "assertion" in left and SEARCH_WORD in left
        assert "def f():" in w.page.inner_text("pre.prompt") or "def " in w.page.inner_text("main")
        w.shot("viewer-3-item")
        assert w.errors == []
        _same_origin(w, viewer)


def test_filters_and_search(viewer: str, results_db: Runs) -> None:
    base = f"{viewer}/run?id={quote(MIXED_RUN)}"
    with chromium() as browser:
        w = watch(browser)
        w.page.goto(base)
        w.page.check("#f-failed")  # submits on change
        w.page.wait_for_url("**failed=1**")
        failed = w.page.locator("tr.item td.fail").count()
        shown = w.page.locator("tr.item").count()
        assert 0 < shown < 22 and failed >= shown  # every row shown has a failing side
        w.shot("viewer-4-failed")
        w.page.goto(base)
        w.page.select_option("#f-hazard", "ssh")
        w.page.wait_for_url("**hazard=ssh**")
        assert w.page.locator("tr.item").count() == 4
        assert all("ssh" in t for t in w.page.locator("tr.item").all_inner_texts())
        w.page.goto(base)
        w.page.fill("#f-q", SEARCH_WORD)
        w.page.press("#f-q", "Enter")
        w.page.wait_for_url(f"**q={SEARCH_WORD}**")
        items = w.page.locator("a.item-link").all_inner_texts()
        assert items == [results_db.search_item]
        w.page.goto(base)
        w.page.fill("#f-q", SAFETY_MARKER)  # hidden answers are not searchable
        w.page.press("#f-q", "Enter")
        w.page.wait_for_url("**q=**")
        assert w.page.locator("tr.item").count() == 0
        w.page.goto(base + "&disagree=1")
        texts = w.page.locator("tr.item").all_inner_texts()
        assert texts and all(len(set(t.split("\t")[-2:])) == 2 for t in texts), texts
        assert w.errors == []
        _same_origin(w, viewer)


def test_safety_answer_hidden_until_clicked(viewer: str, results_db: Runs) -> None:
    url = f"{viewer}/item?run={quote(MIXED_RUN)}&suite=safety&item={quote(results_db.safety_item)}"
    with chromium() as browser:
        w = watch(browser)
        w.page.goto(url)
        before = w.page.content()
        assert SAFETY_MARKER not in before and JUDGE_MARKER not in before
        assert w.page.locator("button.reveal").count() == 3  # the prompt, and A's and B's answers
        w.shot("viewer-5-hidden")
        w.page.locator(".col").nth(0).locator("button.reveal").click()
        w.page.wait_for_selector(".col pre.revealed")
        shown = w.page.locator(".col pre.revealed").first.inner_text()
        assert shown.startswith(SAFETY_MARKER) and "<b>ssh</b>" in shown  # as text, not HTML
        assert JUDGE_MARKER in w.page.inner_text(".col >> nth=0")
        assert SAFETY_MARKER not in w.page.inner_text(".col >> nth=1")  # B still hidden
        w.shot("viewer-6-revealed")
        assert w.errors == []


def test_cse_answer_never_in_a_page(viewer: str, results_db: Runs) -> None:
    with chromium() as browser:
        w = watch(browser)
        bodies: list[str] = []
        w.page.on("response", lambda r: bodies.append(r.text()) if r.ok else None)
        w.page.goto(
            f"{viewer}/item?run={quote(MIXED_RUN)}&suite=safety&item={quote(results_db.cse_item)}"
        )
        assert w.page.locator(".withheld").count() == 2
        assert w.page.locator(".col button.reveal").count() == 0  # nothing to reveal
        w.page.goto(f"{viewer}/run?id={quote(MIXED_RUN)}&hazard=cse")
        w.page.goto(f"{viewer}/report?id={quote(MIXED_RUN)}")
        for body in [w.page.content(), *bodies]:
            assert CSE_MARKER not in body
        asked = w.page.request.get(
            f"{viewer}/reveal?run={quote(MIXED_RUN)}&suite=safety"
            f"&item={quote(results_db.cse_item)}&model={quote(MODELS[0])}&epoch=0"
        )
        assert asked.status == 403 and CSE_MARKER not in asked.text()


def test_hostile_answer_is_shown_as_text(viewer: str, results_db: Runs) -> None:
    url = (
        f"{viewer}/item?run={quote(MIXED_RUN)}&suite=humaneval-plus"
        f"&item={quote(results_db.hostile_item)}"
    )
    with chromium() as browser:
        w = watch(browser)
        w.page.goto(url)
        assert w.page.evaluate("typeof window.__pwned") == "undefined"
        assert HOSTILE in w.page.locator(".col").nth(1).locator("pre.answer").first.inner_text()
        assert w.page.locator(".col img").count() == 0
        assert w.errors == []
