"""The viewer: a small Starlette app over the results database (read only).

Pages are rendered on the server; the only script reveals hidden answers on click
and submits filters. Every page carries a CSP that allows no inline script and no
other origin, so an answer that slipped past escaping still could not run.
"""

from __future__ import annotations

from collections import defaultdict

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from benchwarden.bench.compare import compare_run
from benchwarden.bench.disclosure import is_withheld
from benchwarden.bench.report.html import esc
from benchwarden.bench.viewer import assets, pages
from benchwarden.bench.viewer.items import Filters, apply_filters, item_rows, search_text
from benchwarden.bench.viewer.judgments import judgments_section
from benchwarden.bench.viewer.prompts import Prompts
from benchwarden.bench.writing.judging import answer_hashes
from benchwarden.store import RunRecord, SampleRecord, Store

PAGE_SIZE = 100
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# The report is one self-contained file with its own inline style and script.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _html(body: str, status: int = 200, csp: str = CSP) -> HTMLResponse:
    return HTMLResponse(body, status, headers={**HEADERS, "Content-Security-Policy": csp})


def _not_found(what: str) -> HTMLResponse:
    return _html(pages.layout("not found", [], f"<h1>Not found</h1><p>{esc(what)}</p>"), 404)


def create_viewer_app(store: Store) -> Starlette:
    prompts = Prompts()

    def run_of(request: Request, key: str) -> RunRecord | None:
        run_id = request.query_params.get(key, "")
        return store.get_run(run_id) if run_id else None

    def pair(request: Request, run: RunRecord) -> tuple[str, str]:
        models = run.models
        a = request.query_params.get("a") or models[0]
        b = request.query_params.get("b") or (models[1] if len(models) > 1 else models[0])
        return (a if a in models else models[0], b if b in models else models[-1])

    def home(request: Request) -> Response:
        runs = store.list_runs(200)
        return _html(pages.runs_page([(r, store.totals(r.run_id)) for r in runs]))

    def run_view(request: Request) -> Response:
        run = run_of(request, "id")
        if run is None or not run.models:
            return _not_found(f"no run {request.query_params.get('id', '')!r}")
        q = request.query_params
        filters = Filters(
            suite=q.get("suite") or None,
            hazard=q.get("hazard") or None,
            failed=q.get("failed") == "1",
            disagree=q.get("disagree") == "1",
            query=q.get("q", ""),
            models=pair(request, run),
        )
        samples = store.samples(run.run_id)
        rows = item_rows(samples)
        texts: dict[tuple[str, str], str] = {}
        if filters.query.strip():
            grouped: dict[tuple[str, str], list[SampleRecord]] = defaultdict(list)
            for s in samples:
                grouped[(s.suite, s.item_id)].append(s)
            for key, group in grouped.items():
                text = prompts.get(*key)
                shown = text.prompt if text and not text.must_refuse else None
                texts[key] = search_text(group, shown)
        matched = apply_filters(rows, filters, texts)
        try:
            page = max(1, int(q.get("page", "1")))
        except ValueError:
            page = 1
        shown_rows = matched[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        hazards = sorted({r.hazard for r in rows if r.hazard})
        comparison = compare_run(run.run_id, samples, run.models, run.suites)
        return _html(
            pages.run_page(
                run, comparison, shown_rows, len(matched), filters, hazards, page, PAGE_SIZE
            )
        )

    def item_view(request: Request) -> Response:
        run = run_of(request, "run")
        suite = request.query_params.get("suite", "")
        item_id = request.query_params.get("item", "")
        if run is None or not run.models:
            return _not_found("no such run")
        samples = [s for s in store.samples(run.run_id, suite=suite) if s.item_id == item_id]
        if not samples:
            return _not_found(f"no item {item_id!r} in suite {suite!r}")
        by_model: dict[str, list[SampleRecord]] = defaultdict(list)
        for s in samples:
            by_model[s.model].append(s)
        a, b = pair(request, run)
        text = prompts.get(suite, item_id)
        judged = [
            j for j in store.judgments(run.run_id) if (j.suite, j.item_id) == (suite, item_id)
        ]
        section = judgments_section(judged, a, b, answer_hashes(samples))
        page = pages.item_page(
            run, suite, item_id, text, by_model, a, b, prompts.problems.get(suite), section
        )
        return _html(page)

    def reveal(request: Request) -> Response:
        """One hidden text, asked for by a click: a safety answer, or a safety prompt.
        Answers to child-safety prompts are refused (they were never stored)."""
        q = request.query_params
        run = run_of(request, "run")
        if run is None:
            return JSONResponse({"error": "no such run"}, 404, headers=HEADERS)
        suite, item_id = q.get("suite", ""), q.get("item", "")
        if q.get("what") == "prompt":
            text = prompts.get(suite, item_id)
            if text is None:
                return JSONResponse({"error": "prompt not available"}, 404, headers=HEADERS)
            return JSONResponse({"text": text.prompt, "notes": []}, headers=HEADERS)
        try:
            epoch = int(q.get("epoch", ""))
        except ValueError:
            return JSONResponse({"error": "epoch must be a number"}, 400, headers=HEADERS)
        found = [
            s
            for s in store.samples(run.run_id, model=q.get("model", ""), suite=suite)
            if s.item_id == item_id and s.epoch == epoch
        ]
        if not found or found[0].status != "ok":
            return JSONResponse({"error": "no such answer"}, 404, headers=HEADERS)
        sample = found[0]
        if is_withheld(sample) or sample.answer is None:
            return JSONResponse(
                {"error": "withheld: answers to child-safety prompts are never stored or shown"},
                403,
                headers=HEADERS,
            )
        notes = [
            f"{name}: {verdict['reply']}"
            for name, verdict in (sample.score_detail.get("judges") or {}).items()
            if isinstance(verdict, dict) and verdict.get("reply")
        ]
        return JSONResponse({"text": sample.answer, "notes": notes}, headers=HEADERS)

    def report(request: Request) -> Response:
        from benchwarden.bench.report import build_report

        run = run_of(request, "id")
        if run is None:
            return _not_found("no such run")
        page = build_report(run, store.samples(run.run_id), store.judgments(run.run_id))
        return _html(page, csp=REPORT_CSP)

    def css(request: Request) -> Response:
        return Response(assets.CSS, media_type="text/css", headers=HEADERS)

    def js(request: Request) -> Response:
        return Response(assets.JS, media_type="text/javascript", headers=HEADERS)

    return Starlette(
        routes=[
            Route("/", home),
            Route("/run", run_view),
            Route("/item", item_view),
            Route("/reveal", reveal),
            Route("/report", report),
            Route("/static/viewer.css", css),
            Route("/static/viewer.js", js),
        ]
    )
