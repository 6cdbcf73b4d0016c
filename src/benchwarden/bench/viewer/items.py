"""The viewer's item list: samples grouped per item, with the facts its filters use.
Pure: samples in, rows out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from benchwarden.bench.disclosure import is_safety_answer, is_withheld
from benchwarden.store import SampleRecord


@dataclass(frozen=True, slots=True)
class Cell:
    """One model on one item, over its epochs."""

    samples: int
    errors: int
    mean_score: float | None  # over scored epochs
    failed: bool  # an epoch errored, failed or scored below 1


@dataclass(frozen=True, slots=True)
class ItemRow:
    suite: str
    item_id: str
    hazard: str | None
    cells: dict[str, Cell]
    safety: bool  # answers hidden until asked
    withheld: bool  # child-safety: answers never shown

    def failed(self, models: Sequence[str]) -> bool:
        return any(self.cells[m].failed for m in models if m in self.cells)

    def disagree(self, models: Sequence[str]) -> bool:
        """The models' scores on this item differ (errors and unscored epochs aside)."""
        scores = {
            round(c.mean_score, 9)
            for m in models
            if (c := self.cells.get(m)) is not None and c.mean_score is not None
        }
        return len(scores) > 1


@dataclass(frozen=True, slots=True)
class Filters:
    suite: str | None = None
    hazard: str | None = None
    failed: bool = False
    disagree: bool = False
    query: str = ""
    models: tuple[str, ...] = field(default_factory=tuple)  # the models compared


def item_rows(samples: Sequence[SampleRecord]) -> list[ItemRow]:
    grouped: dict[tuple[str, str], list[SampleRecord]] = defaultdict(list)
    for s in samples:
        grouped[(s.suite, s.item_id)].append(s)
    rows = []
    for (suite, item_id), group in grouped.items():
        per_model: dict[str, list[SampleRecord]] = defaultdict(list)
        for s in group:
            per_model[s.model].append(s)
        hazard = next((str(h) for s in group if (h := s.score_detail.get("hazard"))), None)
        rows.append(
            ItemRow(
                suite,
                item_id,
                hazard,
                {m: _cell(v) for m, v in per_model.items()},
                safety=any(is_safety_answer(s) for s in group),
                withheld=any(is_withheld(s) for s in group),
            )
        )
    rows.sort(key=lambda r: (r.suite, r.item_id))
    return rows


def _cell(samples: list[SampleRecord]) -> Cell:
    scored = [s.score for s in samples if s.status == "ok" and s.score is not None]
    return Cell(
        samples=len(samples),
        errors=sum(s.status == "error" for s in samples),
        mean_score=sum(scored) / len(scored) if scored else None,
        failed=any(
            s.status == "error" or s.passed is False or (s.score is not None and s.score < 1)
            for s in samples
        ),
    )


def search_text(samples: Sequence[SampleRecord], prompt: str | None) -> str:
    """What a search matches for one item: its id, its prompt, and what may be shown of
    its answers and scores (hidden safety answers are not searchable: a match would
    say what they contain)."""
    parts = [prompt or ""]
    for s in samples:
        parts.append(s.item_id)
        if not is_safety_answer(s) and not is_withheld(s):
            parts.append(s.answer or "")
        for key in ("failing_test", "detail", "error_kind", "label"):
            value = s.score_detail.get(key)
            if value:
                parts.append(str(value))
        parts.append(s.error_message or "")
    return "\n".join(parts).casefold()


def apply_filters(
    rows: Sequence[ItemRow], filters: Filters, texts: Mapping[tuple[str, str], str]
) -> list[ItemRow]:
    query = filters.query.strip().casefold()
    models = filters.models
    out = []
    for row in rows:
        if filters.suite and row.suite != filters.suite:
            continue
        if filters.hazard and row.hazard != filters.hazard:
            continue
        if filters.failed and not row.failed(models or tuple(row.cells)):
            continue
        if filters.disagree and not row.disagree(models or tuple(row.cells)):
            continue
        if query and query not in texts.get((row.suite, row.item_id), row.item_id.casefold()):
            continue
        out.append(row)
    return out
