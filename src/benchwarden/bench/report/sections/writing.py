"""Writing suites (pairwise-judged ratings): the slot for their section.

The writing suites are built on another branch, which exposes a pure
``writing_summary(...)`` (ratings with intervals, position bias, judge agreement).
Until it is wired here, a run with writing suites still gets their scores in the
generic summary, and this section only says so.

To wire it (at merge): call ``writing_summary`` on ``ctx.samples_of("writing")`` and
render its ratings with ``charts.interval_chart(..., percent=False)``, its position
bias and judge agreement with ``html.table`` / ``charts.bar_chart``. Nothing else in
the report changes.
"""

from __future__ import annotations

from benchwarden.bench.report.context import ReportContext
from benchwarden.bench.report.html import note
from benchwarden.bench.report.sections import section


@section("writing", "Writing: ratings, position bias, judge agreement", kind="writing", order=35)
def writing(ctx: ReportContext) -> str | None:
    suites = ctx.suites_of("writing")
    if not suites:
        return None
    return note(
        f"Writing suites in this run: {', '.join(suites)}. Their scores are in the summary "
        "above; ratings with intervals, position bias and judge agreement come with the "
        "writing summary."
    )
