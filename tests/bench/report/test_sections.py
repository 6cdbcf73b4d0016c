"""Sections are plug-ins keyed by the kinds of suites in a run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchwarden.bench.report import build_report, suite_kind
from benchwarden.bench.report.context import ReportContext
from benchwarden.bench.report.sections import _REGISTRY, Section, register, sections_for
from benchwarden.store import RunRecord, SampleRecord


def _run(suites: list[str]) -> RunRecord:
    return RunRecord("r", "benchmarking", 0, suites, ["a", "b"], {})


def _sample(suite: str, model: str, item: str, score: float, **detail: object) -> SampleRecord:
    return SampleRecord(
        "r",
        model,
        suite,
        item,
        0,
        "ok",
        answer="x",
        score=score,
        passed=score == 1,
        score_detail=dict(detail),
    )


@pytest.fixture
def poem_section() -> Iterator[Section]:
    section = register(
        Section(
            "poems", "Poems", "poetry", 37, lambda ctx: f"<p>{len(ctx.suites_of('poetry'))}</p>"
        )
    )
    yield section
    _REGISTRY.pop("poems")


def test_a_new_kind_adds_its_section_only_where_it_applies(
    poem_section: Section, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchwarden.bench.report import context

    monkeypatch.setattr(
        context, "suite_kind", lambda name, samples: "poetry" if name == "odes" else "generic"
    )
    samples = [_sample("odes", m, "i1", 1.0) for m in ("a", "b")]
    with_poems = ReportContext(_run(["odes"]), samples)
    keys = [s.key for s in sections_for(with_poems)]
    assert "poems" in keys and "safety" not in keys and "coding" not in keys
    assert keys.index("poems") > keys.index("summary")  # placed by its order
    assert '<section id="poems"><h2>Poems</h2><p>1</p></section>' in build_report(
        with_poems.run, samples, []
    )
    plain = ReportContext(_run(["quiz"]), [_sample("quiz", "a", "i1", 1.0)])
    assert "poems" not in [s.key for s in sections_for(plain)]


def test_a_key_registers_once(poem_section: Section) -> None:
    with pytest.raises(ValueError, match="twice"):
        register(poem_section)


def test_suite_kinds_from_tags_then_from_scores() -> None:
    assert suite_kind("humaneval-plus", []) == "coding"
    assert suite_kind("safety", []) == "safety"
    assert suite_kind("smoke", []) == "generic"
    hazard = [_sample("mine.yaml", "a", "i", 1.0, label="full_refusal", hazard="ssh")]
    assert suite_kind("mine.yaml", hazard) == "safety"
    tests = [_sample("mine.yaml", "a", "i", 0.0, failing_test="assert f(1) == 2")]
    assert suite_kind("mine.yaml", tests) == "coding"
    assert suite_kind("mine.yaml", [_sample("mine.yaml", "a", "i", 1.0)]) == "generic"


def test_hostile_names_are_escaped() -> None:
    evil = "<img src=x onerror=alert(1)>"
    run = RunRecord(evil, "benchmarking", 0, [evil], [evil], {"note": evil}, command=evil)
    page = build_report(run, [_sample(evil, evil, evil, 1.0)], [])
    assert evil not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_provenance_never_shows_a_database_password() -> None:
    run = RunRecord(
        "r",
        "benchmarking",
        0,
        ["quiz"],
        ["a", "b"],
        {},
        command="benchwarden run -s quiz --db postgresql://eval:hunter2-secret@db.lab/results",
    )
    sample = _sample("quiz", "a", "i1", 1.0)
    sample.endpoint = "https://user:endpoint-secret@llm.lab/v1"
    page = build_report(run, [sample, _sample("quiz", "b", "i1", 0.0)], [])
    assert "hunter2-secret" not in page and "endpoint-secret" not in page
    assert "postgresql://eval:***@db.lab/results" in page
