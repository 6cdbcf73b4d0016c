"""The writing judges' verdicts on one item, for the item page. Pure HTML.

For the pair of models being compared (A and B): per judge and epoch, the verdict
with A shown first, the verdict with B shown first, the combined verdict (the rule of
``writing/verdicts.combine``), each reply excerpt as the judge's rationale, and the
prompt version; then each judge's single grades of A's and B's answers. A judgment
that no longer counts (another prompt version, or judged before the answer changed)
is shown marked ``stale``, as the summary leaves it out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from benchwarden.bench.report.html import esc
from benchwarden.bench.writing.judging import is_current
from benchwarden.bench.writing.verdicts import combine
from benchwarden.store import JudgmentRecord

Hashes = Mapping[tuple[str, str, str, int], str]


def _named(verdict: str | None, names: Mapping[str, str]) -> str:
    """A verdict in slot letters ("A>B", "X=Y") in the models' names ("alpha > beta")."""
    if verdict is None or len(verdict) < 3 or verdict[0] not in names:
        return verdict or "no verdict"
    return f"{names[verdict[0]]} {verdict[1:-1]} {names.get(verdict[-1], verdict[-1])}"


def _order(j: JudgmentRecord | None, hashes: Hashes) -> str:
    if j is None:
        return '<td class="note">not judged</td><td></td>'
    status = "" if j.status == "ok" else f" ({esc(j.status)})"
    stale = "" if is_current(j, hashes) else ' <span class="stale">stale</span>'
    reply = esc(j.reply_excerpt or j.error_message or "")
    verdict = esc(_named(j.verdict, {"A": j.model_a, "B": j.model_b}))
    return (
        f'<td class="verdict">{verdict}{status}{stale}'
        f'<div class="note">{esc(j.prompt_version)}</div></td>'
        f'<td><pre class="rationale">{reply}</pre></td>'
    )


def _pairwise(judgments: Sequence[JudgmentRecord], a: str, b: str, hashes: Hashes) -> str:
    by_key = {(j.judge, j.epoch, j.model_a, j.model_b): j for j in judgments}
    rows = ""
    for judge, epoch in sorted({(j.judge, j.epoch) for j in judgments}):
        a_first, b_first = by_key.get((judge, epoch, a, b)), by_key.get((judge, epoch, b, a))
        if a_first is None and b_first is None:
            continue
        usable = [x for x in (a_first, b_first) if x is not None and is_current(x, hashes)]
        c = combine(
            a_first.verdict if a_first in usable and a_first.status == "ok" else None,
            b_first.verdict if b_first in usable and b_first.status == "ok" else None,
        )
        combined = "unusable" if c.outcome is None else _named(c.label, {"X": a, "Y": b})
        combined += " (inconsistent: a tie)" if c.inconsistent else ""
        rows += (
            f'<tr class="judgment" data-judge="{esc(judge)}" data-epoch="{epoch}">'
            f"<td>{esc(judge)}</td><td>{epoch}</td>"
            f"{_order(a_first, hashes)}{_order(b_first, hashes)}"
            f'<td class="combined">{esc(combined)}</td></tr>'
        )
    if not rows:
        return ""
    return (
        f"<h3>Pairwise: {esc(a)} vs {esc(b)}</h3>"
        '<table class="judgments" id="pairwise"><thead><tr><th>judge</th><th>epoch</th>'
        f"<th>{esc(a)} shown first</th><th>rationale</th>"
        f"<th>{esc(b)} shown first</th><th>rationale</th><th>combined</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _single(judgments: Sequence[JudgmentRecord], models: Sequence[str], hashes: Hashes) -> str:
    rows = ""
    for j in sorted(judgments, key=lambda j: (models.index(j.model_a), j.judge, j.epoch)):
        status = "" if j.status == "ok" else f" ({esc(j.status)})"
        stale = "" if is_current(j, hashes) else ' <span class="stale">stale</span>'
        rows += (
            f'<tr class="grade" data-model="{esc(j.model_a)}"><td>{esc(j.model_a)}</td>'
            f"<td>{esc(j.judge)}</td><td>{j.epoch}</td>"
            f'<td class="verdict">{esc(j.verdict or "no grade")}{status}{stale}</td>'
            f"<td>{esc(j.prompt_version)}</td>"
            f'<td><pre class="rationale">{esc(j.reply_excerpt or j.error_message or "")}</pre>'
            "</td></tr>"
        )
    if not rows:
        return ""
    return (
        '<h3>Single grades (1-10)</h3><table class="judgments" id="grades"><thead><tr>'
        "<th>model</th><th>judge</th><th>epoch</th><th>grade</th><th>prompt</th>"
        f"<th>rationale</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def judgments_section(judgments: Sequence[JudgmentRecord], a: str, b: str, hashes: Hashes) -> str:
    """The "Judges" section of an item page; empty when nothing was judged."""
    pairwise = [j for j in judgments if j.kind == "pairwise" and {j.model_a, j.model_b} == {a, b}]
    models = [a, b] if a != b else [a]
    single = [j for j in judgments if j.kind == "single" and j.model_a in models]
    body = (_pairwise(pairwise, a, b, hashes) if a != b else "") + _single(single, models, hashes)
    return f'<section id="judges"><h2>Judges</h2>{body}</section>' if body else ""
