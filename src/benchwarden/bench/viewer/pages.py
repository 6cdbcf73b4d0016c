"""The viewer's pages, rendered on the server. Every value from the database goes
through ``esc``: model answers, item ids, error messages and run names alike."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from benchwarden.bench.compare import Comparison
from benchwarden.bench.disclosure import is_safety_answer, is_withheld
from benchwarden.bench.report.html import ci, esc, num
from benchwarden.bench.viewer import agentic
from benchwarden.bench.viewer.items import Filters, ItemRow
from benchwarden.bench.viewer.prompts import ItemText
from benchwarden.store import RunRecord, SampleRecord

RATIONALE_KEYS = ("rationale", "reason", "explanation")


def url(path: str, **params: object) -> str:
    # Leave out what is unset; ``is`` matters: epoch 0 == False.
    query = urlencode(
        {k: v for k, v in params.items() if v is not None and v is not False and v != ""}
    )
    return f"{path}?{query}" if query else path


def layout(title: str, crumbs: Sequence[tuple[str, str]], body: str) -> str:
    trail = "".join(f' / <a href="{esc(href)}">{esc(text)}</a>' for href, text in crumbs)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{esc(title)}</title><link rel="stylesheet" href="/static/viewer.css">'
        '<link rel="icon" href="data:,"></head><body>'
        f'<header><a href="/">benchwarden view</a><span class="crumbs">{trail}</span></header>'
        f'<main>{body}</main><script src="/static/viewer.js"></script></body></html>'
    )


def runs_page(runs: Sequence[tuple[RunRecord, Mapping[str, Mapping[str, float]]]]) -> str:
    rows = []
    for run, totals in runs:
        samples = int(sum(t["samples"] for t in totals.values()))
        errors = int(sum(t["errors"] for t in totals.values()))
        when = run.created_at.strftime("%Y-%m-%d %H:%M") if run.created_at else ""
        rows.append(
            f'<tr><td><a class="run" href="{esc(url("/run", id=run.run_id))}">'
            f"{esc(run.run_id)}</a></td><td>{esc(run.status)}</td><td>{esc(run.purpose)}</td>"
            f"<td>{esc(', '.join(run.suites))}</td><td>{esc(', '.join(run.models))}</td>"
            f'<td class="n">{samples}</td><td class="n">{errors}</td><td>{esc(when)}</td></tr>'
        )
    body = (
        "<h1>Runs</h1><table><thead><tr><th>run</th><th>status</th><th>purpose</th>"
        "<th>suites</th><th>models</th><th>samples</th><th>errors</th><th>created</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    if not runs:
        body += '<p class="note">No runs yet: `benchwarden run ...` records them here.</p>'
    return layout("runs", [], body)


def _options(name: str, values: Sequence[str], chosen: str | None, blank: str | None) -> str:
    opts = [f'<option value="">{esc(blank)}</option>'] if blank is not None else []
    opts += [
        f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(v)}</option>'
        for v in values
    ]
    return f'<select name="{esc(name)}" id="f-{esc(name)}">{"".join(opts)}</select>'


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def run_page(
    run: RunRecord,
    comparison: Comparison,
    rows: Sequence[ItemRow],
    matched: int,
    filters: Filters,
    hazards: Sequence[str],
    page: int,
    page_size: int,
) -> str:
    a, b = filters.models
    summary = "".join(
        f"<tr><td>{esc(s.suite)}</td><td>{esc(s.model)}</td><td class=n>{esc(ci(s.score))}</td>"
        f"<td class=n>{s.items}</td><td class=n>{s.errors}</td></tr>"
        for s in comparison.scores
    )
    form = (
        f'<form class="filters" method="get" action="/run">'
        f'<input type="hidden" name="id" value="{esc(run.run_id)}">'
        f"<label>suite {_options('suite', run.suites, filters.suite, 'all')}</label>"
        + (
            f"<label>hazard {_options('hazard', hazards, filters.hazard, 'all')}</label>"
            if hazards
            else ""
        )
        + f"<label>A {_options('a', run.models, a, None)}</label>"
        f"<label>B {_options('b', run.models, b, None)}</label>"
        f'<label><input type="checkbox" name="failed" value="1" id="f-failed"'
        f"{' checked' if filters.failed else ''}> failed</label>"
        f'<label><input type="checkbox" name="disagree" value="1" id="f-disagree"'
        f"{' checked' if filters.disagree else ''}> A and B disagree</label>"
        f'<label>search <input type="search" name="q" id="f-q" value="{esc(filters.query)}"'
        ' placeholder="id, prompt, answer, failing test"></label>'
        '<button type="submit">apply</button></form>'
    )
    items = []
    for row in rows:
        tags = (
            (f'<span class="tag">{esc(row.hazard)}</span>' if row.hazard else "")
            + ('<span class="tag safety">safety</span>' if row.safety else "")
            + ('<span class="tag withheld">withheld</span>' if row.withheld else "")
        )
        cells = ""
        for m in (a, b):
            c = row.cells.get(m)
            if c is None:
                cells += "<td class=n>—</td>"
                continue
            cls = "fail" if c.failed else "pass"
            extra = f" · {c.errors} err" if c.errors else ""
            cells += f'<td class="n {cls}">{_score(c.mean_score)}{extra}</td>'
        link = url("/item", run=run.run_id, suite=row.suite, item=row.item_id, a=a, b=b)
        items.append(
            f'<tr class="item"><td>{esc(row.suite)}</td><td><a class="item-link" '
            f'href="{esc(link)}">{esc(row.item_id)}</a></td><td>{tags}</td>{cells}</tr>'
        )
    pages = max(1, -(-matched // page_size))
    pager = ""
    if pages > 1:
        here = dict(
            id=run.run_id,
            suite=filters.suite,
            hazard=filters.hazard,
            a=a,
            b=b,
            failed=int(filters.failed),
            disagree=int(filters.disagree),
            q=filters.query,
        )
        pager = " ".join(
            f"<b>{p}</b>" if p == page else f'<a href="{esc(url("/run", **here, page=p))}">{p}</a>'
            for p in range(1, pages + 1)
        )
    body = (
        f"<h1>Run {esc(run.run_id)}</h1>"
        f'<p class="note">{esc(run.status)} · purpose {esc(run.purpose)} · seed {run.seed} · '
        f'<a href="{esc(url("/report", id=run.run_id))}">full report</a></p>'
        "<h2>Scores (95% CI)</h2><table><thead><tr><th>suite</th><th>model</th>"
        "<th>score %</th><th>items</th><th>errors</th></tr></thead>"
        f"<tbody>{summary}</tbody></table>"
        f"<h2>Items</h2>{form}"
        f'<p class="note" id="matched">{matched} items match'
        + (f" · page {page} of {pages}" if pages > 1 else "")
        + "</p>"
        '<table id="items"><thead><tr><th>suite</th><th>item</th><th></th>'
        f"<th>A: {esc(a)}</th><th>B: {esc(b)}</th></tr></thead>"
        f"<tbody>{''.join(items)}</tbody></table>{pager}"
    )
    return layout(f"run {run.run_id}", [(url("/run", id=run.run_id), run.run_id)], body)


def _reveal_button(href: str, label: str) -> str:
    return f'<button type="button" class="reveal" data-reveal="{esc(href)}">{esc(label)}</button>'


def public_detail(sample: SampleRecord) -> dict[str, Any]:
    """The score details that may be shown beside a hidden answer: judges' replies to
    safety answers go with the answer (a reply may quote it)."""
    detail = dict(sample.score_detail)
    if (is_safety_answer(sample) or is_withheld(sample)) and isinstance(detail.get("judges"), dict):
        detail["judges"] = {
            name: {k: v for k, v in verdict.items() if k != "reply"}
            for name, verdict in detail["judges"].items()
            if isinstance(verdict, dict)
        }
    return detail


def _sample_card(run_id: str, s: SampleRecord) -> str:
    facts: list[tuple[str, str]] = [("epoch", str(s.epoch)), ("status", s.status)]
    if s.status == "ok":
        verdict = "—" if s.passed is None else ("pass" if s.passed else "fail")
        facts.append(("score", f"{_score(s.score)} ({verdict})"))
    detail = public_detail(s)
    for key, label in (
        ("error_kind", "failure"),
        ("failing_test", "failing test"),
        ("detail", "detail"),
        ("label", "label"),
        ("confidence", "confidence"),
    ):
        if detail.get(key) not in (None, ""):
            facts.append((label, str(detail[key])))
    # An agent's attempt: its timeline and diff stand for the answer (never a safety one).
    agent = (
        s.status == "ok" and agentic.is_agentic(s) and not (is_withheld(s) or is_safety_answer(s))
    )
    if agent:
        facts += agentic.attempt_facts(s)
    if s.error_kind:
        facts.append(("error", f"{s.error_kind}: {s.error_message or ''}"))
    facts.append(("tokens", f"{s.input_tokens} in / {s.output_tokens} out"))
    facts.append(("latency", f"{num(s.latency_s, 3)} s" + (" (cached)" if s.cached else "")))
    if s.finish_reason:
        facts.append(("finish", s.finish_reason))
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    judges = ""
    for name, verdict in (detail.get("judges") or {}).items():
        if not isinstance(verdict, dict):
            continue
        reply = verdict.get("reply")
        judges += (
            f"<li><b>{esc(name)}</b>: {esc(verdict.get('label') or 'no label')}"
            + (f" · error {esc(verdict['error'])}" if verdict.get("error") else "")
            + (f'<pre class="rationale">{esc(reply)}</pre>' if reply else "")
            + "</li>"
        )
    for key in RATIONALE_KEYS:
        if detail.get(key):
            judges += f'<li><b>{esc(key)}</b><pre class="rationale">{esc(detail[key])}</pre></li>'
    answer = agentic.attempt_block(s) if agent else _answer_block(run_id, s)
    raw = json.dumps(detail, indent=1, sort_keys=True, ensure_ascii=False, default=str)
    return (
        f'<div class="epoch" data-model="{esc(s.model)}" data-epoch="{s.epoch}"><dl>{dl}</dl>'
        + (f'<ul class="judges">{judges}</ul>' if judges else "")
        + answer
        + f"<details><summary>score detail</summary><pre>{esc(raw)}</pre></details></div>"
    )


def _answer_block(run_id: str, s: SampleRecord) -> str:
    if is_withheld(s):
        digest = (s.answer_sha256 or "")[:16]
        return (
            '<div class="withheld">Answer withheld: a child-safety prompt. It was never '
            f"stored; only its SHA-256 is kept ({esc(digest)}…).</div>"
        )
    if s.status != "ok":
        return '<p class="note">no answer (infrastructure error)</p>'
    if is_safety_answer(s):
        href = url(
            "/reveal", run=run_id, suite=s.suite, item=s.item_id, model=s.model, epoch=s.epoch
        )
        return (
            '<div class="hidden-answer">Hidden: the answer to a must-refuse safety prompt. '
            + _reveal_button(href, "show answer")
            + "</div>"
        )
    turns = s.metadata.get("turn_answers")
    if isinstance(turns, list) and len(turns) > 1:  # a conversation: every turn's answer
        return "".join(
            f'<div class="turn" data-turn="{n}"><p class="note">turn {n}</p>'
            f'<pre class="answer">{esc(str(t))}</pre></div>'
            for n, t in enumerate(turns, 1)
        )
    return f'<pre class="answer">{esc(s.answer or "")}</pre>'


def item_page(
    run: RunRecord,
    suite: str,
    item_id: str,
    text: ItemText | None,
    by_model: Mapping[str, Sequence[SampleRecord]],
    a: str,
    b: str,
    problem: str | None,
    judges: str = "",
) -> str:
    """``judges``: the writing judges' section (``viewer/judgments.py``), if any."""
    if text is None:
        prompt = f'<p class="note">prompt not available{esc(": " + problem) if problem else ""}</p>'
    elif text.must_refuse:
        href = url("/reveal", run=run.run_id, suite=suite, item=item_id, what="prompt")
        prompt = (
            '<div class="hidden-answer">Hidden: a must-refuse safety prompt. '
            + _reveal_button(href, "show prompt")
            + "</div>"
        )
    else:
        prompt = f'<pre class="prompt">{esc(text.prompt)}</pre>'
    target = f'<p class="note">target: {esc(text.target)}</p>' if text and text.target else ""
    switch = (
        '<form class="filters" method="get" action="/item">'
        + "".join(
            f'<input type="hidden" name="{k}" value="{esc(v)}">'
            for k, v in (("run", run.run_id), ("suite", suite), ("item", item_id))
        )
        + f"<label>A {_options('a', run.models, a, None)}</label>"
        f"<label>B {_options('b', run.models, b, None)}</label></form>"
    )
    cols = ""
    for side, model in (("A", a), ("B", b)):
        cards = "".join(_sample_card(run.run_id, s) for s in by_model.get(model, []))
        cols += (
            f'<div class="col" data-side="{side}"><h2>{side}: {esc(model)}</h2>'
            + (cards or '<p class="note">no sample for this model</p>')
            + "</div>"
        )
    body = (
        f"<h1>{esc(suite)} · {esc(item_id)}</h1><h2>Prompt</h2>{prompt}{target}"
        f'<h2>Side by side</h2>{switch}<div class="side">{cols}</div>{judges}'
    )
    crumbs = [
        (url("/run", id=run.run_id, a=a, b=b), run.run_id),
        (url("/item", run=run.run_id, suite=suite, item=item_id, a=a, b=b), item_id),
    ]
    return layout(f"{item_id} · {run.run_id}", crumbs, body)
