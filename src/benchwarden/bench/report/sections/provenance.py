"""Generic: where every answer came from: the run's declaration (purpose, seed,
settings, command) and per model the endpoints, modes, parameters, tokens, cost and
errors, as recorded on the samples."""

from __future__ import annotations

import json
from collections import Counter

from benchwarden.bench.report.context import ReportContext
from benchwarden.bench.report.html import Raw, esc, table
from benchwarden.bench.report.sections import section
from benchwarden.store.urls import mask_url

_MAX_ERRORS_SHOWN = 5
_PER_SAMPLE = ("seed", "epoch")


@section("provenance", "Run provenance", order=90)
def provenance(ctx: ReportContext) -> str | None:
    run = ctx.run
    fmt = "%Y-%m-%d %H:%M:%S UTC"
    body = table(
        ("field", "value"),
        [
            ("run", run.run_id),
            ("status", run.status + (f" ({run.note})" if run.note else "")),
            ("purpose", run.purpose),
            ("seed", run.seed),
            ("suites", ", ".join(run.suites)),
            ("models", ", ".join(run.models)),
            ("created", run.created_at.strftime(fmt) if run.created_at else "—"),
            ("updated", run.updated_at.strftime(fmt) if run.updated_at else "—"),
            ("benchwarden", run.benchwarden_version or "—"),
            ("command", Raw(f"<code>{esc(mask_url(run.command or '—'))}</code>")),
            ("settings", Raw(f"<code>{esc(json.dumps(run.settings, sort_keys=True))}</code>")),
        ],
        numeric_from=9,
    )
    rows = []
    errors: list[tuple[str, str, str, str]] = []
    for model in ctx.models:
        mine = [s for s in ctx.samples if s.model == model]
        endpoints = sorted({mask_url(s.endpoint or "—") for s in mine})
        modes = sorted({s.mode or "—" for s in mine})
        purposes = sorted({s.purpose or "—" for s in mine})
        # Seeds differ per sample by design: group the parameters without them.
        params = Counter(
            json.dumps({k: v for k, v in s.params.items() if k not in _PER_SAMPLE}, sort_keys=True)
            for s in mine
        )
        kinds = Counter(s.error_kind or "error" for s in mine if s.status == "error")
        rows.append(
            (
                model,
                ", ".join(endpoints),
                ", ".join(modes),
                ", ".join(purposes),
                Raw("<br>".join(f"<code>{esc(p)}</code> ×{n}" for p, n in params.most_common(3))),
                len(mine),
                sum(s.cached for s in mine),
                f"{sum(s.input_tokens for s in mine):,} / {sum(s.output_tokens for s in mine):,}",
                f"${sum(s.cost for s in mine):.4f}",
                ", ".join(f"{k} ×{n}" for k, n in kinds.most_common()) or "0",
            )
        )
        errors += [
            (model, s.suite, s.item_id, s.error_message or "") for s in mine if s.status == "error"
        ][:_MAX_ERRORS_SHOWN]
    body += "<h3>Per model</h3>" + table(
        (
            "model",
            "endpoint",
            "mode",
            "purpose",
            "parameters (seeds per sample)",
            "samples",
            "cached",
            "tokens in / out",
            "cost",
            "errors",
        ),
        rows,
        numeric_from=5,
    )
    if errors:
        body += "<h3>Errors (first of each model)</h3>" + table(
            ("model", "suite", "item", "message"), errors, numeric_from=4
        )
    return body
