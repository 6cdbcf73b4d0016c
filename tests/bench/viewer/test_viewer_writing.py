"""The viewer on a judged writing run (made through the real CLI with a scripted
judge): an item page shows each judge's verdicts for the pair being compared, both
orders and the combined verdict with the judge's rationale and prompt version, the
single grades, and every turn's answer of a two-turn conversation; the /report page
carries the writing section."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from benchwarden.bench.writing.prompts import PAIRWISE_VERSION, SINGLE_VERSION
from tests.bench.report.browser import chromium, watch
from tests.bench.viewer.server import viewer_at
from tests.bench.writing.judged_run import JUDGE, RATIONALE, WRITERS, JudgedRun, build_judged_run


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> JudgedRun:
    return build_judged_run(tmp_path_factory.mktemp("judged"))


@pytest.fixture(scope="module")
def viewer(judged: JudgedRun) -> Iterator[str]:
    with viewer_at(judged.db) as url:
        yield url


def test_item_page_shows_judges_side_by_side(viewer: str, judged: JudgedRun) -> None:
    alpha, beta = WRITERS
    item = judged.two_turn_item
    with chromium() as browser:
        w = watch(browser)
        w.page.goto(f"{viewer}/run?id={quote(judged.run_id)}")
        w.page.click(f"a.item-link:text-is('{item}')")
        w.page.wait_for_selector("#judges")
        # Every turn's answer of the conversation, on both sides.
        for side, name in ((0, alpha), (1, beta)):
            turns = w.page.locator(".col").nth(side).locator(".turn pre.answer")
            assert turns.all_inner_texts() == [
                f"{name} answer, turn 1: the lighthouse keeper counted waves.",
                f"{name} answer, turn 2: the lighthouse keeper counted waves.",
            ]
        assert "[turn 2]" in w.page.inner_text("pre.prompt")
        (row,) = w.page.locator("#pairwise tr.judgment").all()
        cells = [c.inner_text() for c in row.locator("td").all()]
        assert cells[0] == JUDGE
        # alpha shown first: "A>>B" read as alpha >> beta; beta first: "B>A" = alpha > beta.
        assert cells[2].startswith(f"{alpha} >> {beta}") and PAIRWISE_VERSION in cells[2]
        assert cells[4].startswith(f"{alpha} > {beta}")
        assert RATIONALE in cells[3] and RATIONALE in cells[5]
        assert cells[6] == f"{alpha} >> {beta}"  # combined: +2 and +1
        grades = {
            r.get_attribute("data-model"): r.locator("td.verdict").inner_text()
            for r in w.page.locator("#grades tr.grade").all()
        }
        assert grades == {alpha: "8", beta: "5"}
        assert SINGLE_VERSION in w.page.inner_text("#grades")
        w.shot("viewer-writing-item")
        # Swap the sides: the orders follow the new A and B.
        w.page.select_option("select[name=a]", beta)
        w.page.select_option("select[name=b]", alpha)
        w.page.wait_for_url(f"**a={quote(beta, safe='')}**b={quote(alpha, safe='')}**")
        cells = w.page.locator("#pairwise tr.judgment td").all_inner_texts()
        assert cells[2].startswith(f"{alpha} > {beta}")  # beta shown first now
        assert cells[6] == f"{alpha} >> {beta}"
        assert w.errors == []


def test_report_route_has_the_writing_section(viewer: str, judged: JudgedRun) -> None:
    with chromium() as browser:
        w = watch(browser)
        w.page.goto(f"{viewer}/report?id={quote(judged.run_id)}")
        w.page.wait_for_selector('[data-chart="writing-ratings"]')
        assert PAIRWISE_VERSION in w.page.inner_text("body")
        assert "no judge has judged" not in w.page.inner_text("body")
        w.shot("viewer-writing-report")
        assert w.errors == []


def test_judgments_export(judged: JudgedRun, tmp_path: Path) -> None:
    import json

    import pandas as pd

    from benchwarden.bench.frames import judgments_frame
    from benchwarden.store import open_store
    from tests.cli_process import run_cli

    with open_store(str(judged.db)) as store:
        stored = store.judgments(judged.run_id)
    frame = judgments_frame(str(judged.db), judged.run_id)
    # 3 items: 2 orders x 1 pair + 2 single grades each.
    assert len(stored) == len(frame) == 3 * 4
    assert list(frame["verdict"]) == [j.verdict for j in stored]
    assert set(frame["kind"]) == {"pairwise", "single"}
    assert str(frame["created_at"].dtype).startswith("datetime64")
    out: dict[str, Path] = {}
    for fmt in ("jsonl", "csv", "parquet"):
        out[fmt] = tmp_path / f"j.{fmt}"
        args = ["export", judged.run_id, "--judgments", "--format", fmt, "-o", str(out[fmt])]
        result = run_cli(*args, "--db", str(judged.db))
        assert result.returncode == 0, result.stderr
        assert "12 judgments written" in result.stdout
    rows = [json.loads(line) for line in out["jsonl"].read_text().splitlines()]
    csv, parquet = pd.read_csv(out["csv"], keep_default_na=False), pd.read_parquet(out["parquet"])
    assert [r["reply_excerpt"] for r in rows] == [j.reply_excerpt for j in stored]
    assert list(csv["answer_a_sha256"]) == list(parquet["answer_a_sha256"])
    assert list(parquet["prompt_version"]) == [j.prompt_version for j in stored]
    assert list(csv["judge"]) == [JUDGE] * 12
