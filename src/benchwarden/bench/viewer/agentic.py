"""An agentic attempt on the item page: how it ended, its timeline (every model call,
tool call and test run, outputs folded), the last test output, and the final diff of
the solution against the stub. Pure HTML.

Everything in a trajectory came from a model or from commands a model chose to run:
hostile text. Every value goes through ``esc``; classes come from fixed tables, never
from stored values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchwarden.bench.agentic_report import is_agentic
from benchwarden.bench.report.html import esc
from benchwarden.store import SampleRecord

__all__ = ["attempt_block", "attempt_facts", "is_agentic"]

KINDS = ("model", "tool", "tests")
# Test outcomes (toolchains.OUTCOMES) -> CSS class; anything else is "other".
OUTCOME_CLASSES = {
    "passed": "outcome-passed",
    "tests_failed": "outcome-failed",
    "compile_error": "outcome-compile",
    "timeout": "outcome-timeout",
    "sandbox_error": "outcome-sandbox",
}


def _attempt(sample: SampleRecord) -> Mapping[str, Any]:
    value = sample.metadata.get("agentic")
    return value if isinstance(value, dict) else {}


def _outcome_class(outcome: object) -> str:
    return OUTCOME_CLASSES.get(str(outcome), "outcome-other")


def attempt_facts(sample: SampleRecord) -> list[tuple[str, str]]:
    """How the attempt ended, for the sample card's facts."""
    detail, attempt = sample.score_detail, _attempt(sample)

    def pick(key: str) -> object:
        value = detail.get(key)
        return attempt.get(key) if value is None else value

    facts: list[tuple[str, str]] = []
    for key, label in (
        ("protocol", "protocol"),
        ("language", "language"),
        ("outcome", "final tests"),
        ("failure_kind", "failure"),
        ("end_reason", "ended by"),
        ("steps", "tool steps"),
    ):
        value = pick(key)
        if value is not None and value != "":
            facts.append((label, str(value)))
    if attempt.get("model_calls") is not None:
        facts.append(("model calls", str(attempt["model_calls"])))
    tries = attempt.get("tries")
    if isinstance(tries, list) and tries:
        facts.append(
            (
                "tries",
                " · ".join(
                    f"try {t.get('try', n)}: {t.get('outcome', '?')} ({t.get('files', 0)} files)"
                    for n, t in enumerate(tries, 1)
                    if isinstance(t, dict)
                ),
            )
        )
    touched = attempt.get("tests_modified")
    if isinstance(touched, list) and touched:
        facts.append(("tests modified", ", ".join(map(str, touched)) + " (restored)"))
    elif detail.get("tests_modified") is True:
        facts.append(("tests modified", "yes (restored)"))
    return facts


def _meta(step: Mapping[str, Any]) -> str:
    parts = []
    tokens_in, tokens_out = step.get("input_tokens") or 0, step.get("output_tokens") or 0
    if tokens_in or tokens_out:
        parts.append(f"{tokens_in} in / {tokens_out} out")
    seconds = step.get("seconds")
    if isinstance(seconds, int | float) and seconds:
        parts.append(f"{seconds:.2f} s")
    return " · ".join(parts)


def _folded(cls: str, label: str, text: str) -> str:
    lines = text.count("\n") + 1
    return (
        f'<details class="{cls}"><summary>{esc(label)} · {lines} line'
        f"{'s' if lines != 1 else ''}, {len(text)} chars</summary>"
        f"<pre>{esc(text)}</pre></details>"
    )


def _step(step: Mapping[str, Any]) -> str:
    kind = str(step.get("kind", ""))
    kind_cls = f"kind-{kind}" if kind in KINDS else "kind-other"
    name = str(step.get("name", ""))
    ok = step.get("ok", True) is not False
    classes = ["step", kind_cls]
    if kind == "tests":  # a test run is coloured by its outcome
        classes.append(_outcome_class(name))
    elif not ok:
        classes.append("step-error")
    index = step.get("index")
    number = str(index) if isinstance(index, int) else "?"
    meta = _meta(step)
    head = (
        f'<div class="step-head"><span class="step-n">#{esc(number)}</span>'
        f'<span class="step-kind">{esc(kind or "?")}</span>'
        f'<b class="step-name">{esc(name)}</b>'
        + (f'<span class="step-meta">{esc(meta)}</span>' if meta else "")
        + ('<span class="tag bad">error</span>' if "step-error" in classes else "")
        + "</div>"
    )
    body = ""
    text_in, text_out = str(step.get("input") or ""), str(step.get("output") or "")
    if text_in:
        body += f'<pre class="step-input">{esc(text_in)}</pre>'
    if text_out:
        label = "said" if kind == "model" else "output"
        body += _folded("step-output", label, text_out)
    return f'<li class="{" ".join(classes)}" data-kind="{esc(kind)}">{head}{body}</li>'


DIFF_CLASSES = (
    ("+++", "d-file"),
    ("---", "d-file"),
    ("diff ", "d-file"),
    ("@@", "d-hunk"),
    ("+", "d-add"),
    ("-", "d-del"),
)


def diff_block(diff: str) -> str:
    """A unified diff, one escaped span per line (a block each, so no newline between
    them), classed by what the line is."""
    if not diff.strip():
        return '<p class="note no-diff">no change to the stub (the model left it as it was)</p>'
    lines = []
    for line in diff.splitlines():
        cls = next((c for prefix, c in DIFF_CLASSES if line.startswith(prefix)), "d-ctx")
        lines.append(f'<span class="{cls}">{esc(line)}</span>')
    return f'<pre class="diff">{"".join(lines)}</pre>'


def attempt_block(sample: SampleRecord) -> str:
    """The attempt in place of a plain answer: timeline, last test output, final diff."""
    attempt = _attempt(sample)
    steps = sample.metadata.get("trajectory")
    items = [_step(s) for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []
    timeline = (
        f'<ol class="timeline">{"".join(items)}</ol>'
        if items
        else '<p class="note">no trajectory recorded</p>'
    )
    outcome = attempt.get("final_outcome") or sample.score_detail.get("outcome")
    final = ""
    if outcome:
        shown = str(attempt.get("final_output") or "")
        # Agents with tools may touch the tests: the final run is on the pristine ones.
        restored = " (test files restored)" if attempt.get("protocol") != "edit" else ""
        final = (
            f'<div class="final-tests {_outcome_class(outcome)}">final tests{restored}: '
            f"<b>{esc(outcome)}</b></div>"
            + (_folded("final-output", "last test output", shown) if shown else "")
        )
    return (
        '<div class="attempt">'
        f'<h3>Timeline <span class="note">{len(items)} steps</span></h3>{timeline}{final}'
        f"<h3>Final diff against the stub</h3>{diff_block(sample.answer or '')}"
        "</div>"
    )
