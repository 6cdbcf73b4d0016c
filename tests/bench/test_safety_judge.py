"""The LLM refusal judge: verdict parsing, agreement arithmetic, and runs through the
real CLI with a deterministic judge on loopback and with an embedded judge."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from benchwarden.bench.refusal.llm_judge import PROMPT_VERSION, judge_request, parse_verdict
from benchwarden.bench.safety_report import judge_agreement, judge_rates
from benchwarden.bench.stats import cohen_kappa
from benchwarden.store import SampleRecord
from benchwarden.testing.mock_upstream import MockUpstream, ThreadedMockUpstream
from tests.cli_process import run_cli as cli


@pytest.mark.parametrize(
    ("reply", "label"),
    [
        ("full_refusal", "full_refusal"),
        ("Full Compliance\nThe answer does it.", "full_compliance"),
        ("Label: partial_refusal - it declines, then helps.", "partial_refusal"),
        ("full_refusal\nnot full_compliance", "full_refusal"),  # the first line decides
        ("I think this is\nfull compliance.", "full_compliance"),
        ("", None),
        ("The answer is fine.", None),
    ],
)
def test_parse_verdict(reply: str, label: str | None) -> None:
    assert parse_verdict(reply) == label


def test_judge_request_is_bounded_and_carries_the_purpose() -> None:
    request = judge_request("a question", "x" * 10_000, "safety-evaluation")
    assert request.purpose == "safety-evaluation" and request.temperature == 0.0
    assert len(request.messages[0].content) < 3000 and "[...]" in request.messages[0].content
    assert request.system is not None and "partial_refusal" in request.system


def test_cohen_kappa_matches_scikit_learn() -> None:
    rng = random.Random(7)
    labels = ["full_compliance", "full_refusal", "partial_refusal"]
    for _ in range(50):
        n = rng.randint(2, 60)
        a = [rng.choice(labels) for _ in range(n)]
        b = [x if rng.random() < 0.6 else rng.choice(labels) for x in a]
        if len(set(a) | set(b)) == 1:
            continue
        assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def _sample(i: int, suite: str, ours: str, theirs: str | None, **extra: object) -> SampleRecord:
    verdict: dict[str, object] = {"label": theirs, "prompt_version": PROMPT_VERSION}
    verdict.update(extra)
    return SampleRecord(
        run_id="r",
        model="m",
        suite=suite,
        item_id=f"i{i}",
        epoch=0,
        status="ok",
        score_detail={"label": ours, "judges": {"j": verdict}},
    )


def test_agreement_and_rates_by_judge() -> None:
    pairs = [
        ("full_refusal", "full_refusal"),
        ("full_refusal", "partial_refusal"),
        ("full_compliance", "full_compliance"),
        ("partial_refusal", "full_compliance"),
    ]
    samples = [_sample(i, "safety", a, b) for i, (a, b) in enumerate(pairs)]
    samples.append(_sample(10, "safety", "full_refusal", None))  # unparsed
    samples.append(_sample(11, "safety", "full_refusal", None, error="timeout: slow"))
    samples.append(_sample(12, "over-refusal", "full_compliance", "full_refusal"))
    (agreement,) = judge_agreement(samples)
    assert agreement.n == 5 and agreement.unparsed == 1 and agreement.errors == 1
    assert agreement.agreement == pytest.approx(2 / 5)
    ours = [a for a, _ in pairs] + ["full_compliance"]
    theirs = [b for _, b in pairs] + ["full_refusal"]
    assert agreement.kappa == pytest.approx(cohen_kappa_score(ours, theirs))
    assert agreement.binary_agreement == pytest.approx(3 / 5)
    assert agreement.prompt_version == PROMPT_VERSION
    (rates,) = judge_rates(samples, ["m"])
    assert rates.unsafe is not None and rates.unsafe.estimate == pytest.approx(2 / 4)
    assert rates.over_refusal is not None and rates.over_refusal.estimate == 1.0


@pytest.fixture
def answering() -> Iterator[MockUpstream]:
    with ThreadedMockUpstream(reply="Sorry, I can't help with that request.") as mock:
        yield mock


@pytest.fixture
def judging() -> Iterator[MockUpstream]:
    with ThreadedMockUpstream(reply="full_compliance\nIt goes along with it.") as mock:
        yield mock


def _config(path: Path, answering: MockUpstream, judging: MockUpstream) -> Path:
    path.write_text(
        '[models."mock-a"]\nprovider = "openai"\n'
        f'base_url = "{answering.base_url}/v1"\nmodel = "a"\n'
        'purposes = ["benchmarking", "safety-evaluation"]\n\n'
        '[models."mock-judge"]\nprovider = "openai"\n'
        f'base_url = "{judging.base_url}/v1"\nmodel = "judge"\n'
        'purposes = ["safety-evaluation"]\n'
    )
    return path


def test_run_with_a_deterministic_judge(
    tmp_path: Path, answering: MockUpstream, judging: MockUpstream
) -> None:
    config = _config(tmp_path / "models.toml", answering, judging)
    db = tmp_path / "r.db"
    args = ["run", "-s", "safety", "-s", "over-refusal", "--limit", "20", "-m", "mock-a"]
    args += ["--purpose", "safety-evaluation", "--config", str(config), "--db", str(db)]
    result = cli(*args, "--judge", "mock-judge", "--run-id", "judged")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "LLM judge vs offline classifier" in result.stdout
    # Every answer was judged once, for the run's purpose, with our instructions.
    assert judging.stats.requests == 40
    assert set(judging.stats.purposes) == {"safety-evaluation"}
    assert all("partial_refusal" in b["messages"][0]["content"] for b in judging.stats.bodies)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT suite, score_detail, metadata FROM samples").fetchall()
    assert len(rows) == 40
    for _suite, detail_text, _meta_text in rows:
        detail = json.loads(detail_text)
        verdict = detail["judges"]["mock-judge"]
        assert verdict["label"] == "full_compliance"
        assert verdict["prompt_version"] == PROMPT_VERSION
        # The judge's own words are kept short, and never for a sensitive item.
        sensitive = detail.get("hazard") == "cse"
        assert ("reply" in verdict) is not sensitive
        assert detail["label"] in ("full_refusal", "partial_refusal")  # the classifier's
    report = json.loads(cli("compare", "judged", "--db", str(db), "--format", "json").stdout)
    (agreement,) = report["safety"]["judges"]
    assert agreement["judge"] == "mock-judge" and agreement["n"] == 40
    assert agreement["agreement"] == 0.0  # the classifier says refusal, the judge never does
    rates = {r["model"]: r for r in report["safety"]["judge_rates"]}
    assert rates["mock-a"]["unsafe"]["estimate"] == 1.0


def test_run_with_an_embedded_judge(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    result = cli(
        "run",
        "-s",
        "over-refusal",
        "--limit",
        "3",
        "-m",
        "local/smollm2-135m",
        "--judge",
        "local/smollm2-135m",
        "--max-answer-tokens",
        "16",
        "--temperature",
        "0",
        "--db",
        str(db),
        "--run-id",
        "emb",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    with sqlite3.connect(db) as conn:
        details = [json.loads(r[0]) for r in conn.execute("SELECT score_detail FROM samples")]
    assert len(details) == 3
    for detail in details:
        verdict = detail["judges"]["local/smollm2-135m"]
        # A grammar holds even a tiny embedded judge to one of the labels.
        assert verdict["label"] in ("full_compliance", "full_refusal", "partial_refusal")
        assert "error" not in verdict
        assert verdict["output_tokens"] > 0 or verdict["label"] == "full_refusal"  # empty answer
    assert "embedded judges are weak" in result.stdout


def test_export_hides_safety_answers_unless_asked(
    tmp_path: Path, answering: MockUpstream, judging: MockUpstream
) -> None:
    config = _config(tmp_path / "models.toml", answering, judging)
    db = tmp_path / "r.db"
    args = ["run", "-s", "safety", "-s", "over-refusal", "--limit", "30", "-m", "mock-a"]
    args += ["--purpose", "safety-evaluation", "--config", str(config), "--db", str(db)]
    assert cli(*args, "--run-id", "x").returncode == 0

    def exported(*extra: str) -> list[dict[str, object]]:
        out = cli("export", "x", "--db", str(db), *extra)
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()]

    hidden = exported()
    must_refuse = [r for r in hidden if r["suite"] == "safety"]
    harmless = [r for r in hidden if r["suite"] == "over-refusal"]
    assert must_refuse and harmless
    assert all(r["answer"] is None and r["answer_sha256"] for r in must_refuse)
    # (cse answers were never stored; the others are withheld and say so)
    assert all(
        "answer_hidden" in r["metadata"]  # type: ignore[operator]
        for r in must_refuse
        if r["score_detail"]["hazard"] != "cse"  # type: ignore[index]
    )
    assert all(r["answer"] for r in harmless)
    shown = exported("--show-safety-answers")
    for row in shown:
        if row["suite"] == "safety" and row["score_detail"]["hazard"] != "cse":  # type: ignore[index]
            assert row["answer"] == "Sorry, I can't help with that request."
        elif row["suite"] == "safety":
            assert row["answer"] != "Sorry, I can't help with that request."  # never stored
