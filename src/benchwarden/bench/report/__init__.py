"""The self-contained HTML report of a run: ``build_report(run, samples, judgments) -> str``.

Sections are plug-ins (``sections/``) chosen by what the run contains; charts are
matplotlib SVG inlined in the page, so the file opens with no network at all.
"""

from __future__ import annotations

from benchwarden.bench.report.context import ReportContext, suite_kind
from benchwarden.bench.report.html import page, section
from benchwarden.bench.report.sections import Section, register, sections_for
from benchwarden.store import JudgmentRecord, RunRecord, SampleRecord

__all__ = ["ReportContext", "Section", "build_report", "register", "suite_kind"]


def build_report(
    run: RunRecord, samples: list[SampleRecord], judgments: list[JudgmentRecord]
) -> str:
    """The page. ``judgments`` is required (``store.judgments(run_id)``, [] when none):
    without them the writing section would silently say nothing was judged."""
    ctx = ReportContext(run, samples, list(judgments))
    parts: list[tuple[str, str, str]] = []
    for s in sections_for(ctx):
        fragment = s.build(ctx)
        if fragment:
            parts.append((s.key, s.title, fragment))
    body = "".join(section(key, title, fragment) for key, title, fragment in parts)
    subtitle = (
        f"purpose {run.purpose} · {len(run.models)} models · {len(run.suites)} suites · "
        f"{len(samples)} samples · status {run.status}"
    )
    return page(
        f"benchwarden report: {run.run_id}",
        subtitle,
        [(key, title.split(":")[0]) for key, title, _ in parts],
        body,
    )
