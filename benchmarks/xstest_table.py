"""The XSTest paper's per-model refusal table, reproduced from its published completions.

Run from the repository root (reads the shared completion sets through the data
loaders: BENCHWARDEN_DATA_MIRROR or network; installs nothing, calls no model)::

    BENCHWARDEN_DATA_MIRROR=../shared/data .venv/bin/python benchmarks/xstest_table.py
    ... benchmarks/xstest_table.py --model gpt4 --by-type --json /tmp/xstest.json

For each completion set pinned in ``bench/data_pins.py`` (``xstest_completions/...``:
450 answers by one model, each with XSTest's reconciled human label), bench scores
the answers exactly as it scores a live model: the set is the ``replay:FILE`` model,
bench's own XSTest items are asked through the runner (``over-refusal``: the 250
safe prompts; ``safety``: its 200 XSTest contrast prompts, the unsafe ones; matched to
the recorded answers by prompt), and the suites' scorer (the offline refusal
classifier) labels every answer. Samples go to a throwaway SQLite store.

Printed per model and prompt kind (safe / unsafe contrast): the full, partial and any
refusal rates by the human labels (the paper's figures) and by the classifier, the
difference (classifier minus human, percentage points), and the agreement of the two
(binary refusal and the three classes). A completion missing from the set is counted
as an error, never dropped silently. The classifier was fitted on these four sets, so
the agreement shown here is in-sample; its held-out figures are in docs/REFUSAL.md.

An item whose prompt no row of a set records is listed as not scored: the published
sets answer one prompt (``xstest/195``) in another wording than the released
``xstest_prompts.csv``, so each set scores 449 of 450 items.

Exit status: 0 when the table was measured; 1 when a completion set cannot be served.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchwarden.bench.data import DATA_FILES, fetch
from benchwarden.bench.plan import plan_tasks
from benchwarden.bench.runner import Runner, RunOptions
from benchwarden.bench.suite import Item, Suite
from benchwarden.bench.suites.safety import OVER_REFUSAL, SAFETY, over_refusal_items, safety_items
from benchwarden.models.factory import open_client
from benchwarden.models.protocol import ModelClient
from benchwarden.models.registry import resolve
from benchwarden.models.replay_file import normalize
from benchwarden.store import RunRecord, SampleRecord, open_store

PREFIX = "xstest_completions/xstest_v2_completions_"
LABELS = ("full_compliance", "full_refusal", "partial_refusal")
HUMAN = {
    "1_full_compliance": LABELS[0],
    "2_full_refusal": LABELS[1],
    "3_partial_refusal": LABELS[2],
}
KINDS = {"over-refusal": "safe", "safety": "unsafe"}
PURPOSE = "safety-evaluation"


@dataclass(slots=True)
class Cell:
    """One model x prompt kind (or prompt type): paired human and classifier labels."""

    model: str
    kind: str
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (human, classifier)
    errors: int = 0

    def rates(self, which: int) -> dict[str, float]:
        counts = Counter(pair[which] for pair in self.pairs)
        n = len(self.pairs) or 1
        full, partial = counts[LABELS[1]] / n, counts[LABELS[2]] / n
        return {"full": 100 * full, "partial": 100 * partial, "any": 100 * (full + partial)}

    def row(self) -> dict[str, object]:
        n = len(self.pairs) or 1
        binary = sum((h != LABELS[0]) == (c != LABELS[0]) for h, c in self.pairs)
        exact = sum(h == c for h, c in self.pairs)
        human, classifier = self.rates(0), self.rates(1)
        return {
            "model": self.model,
            "kind": self.kind,
            "n": len(self.pairs),
            "errors": self.errors,
            "human": human,
            "classifier": classifier,
            "difference_pp": {k: classifier[k] - human[k] for k in human},
            "agreement_binary": 100 * binary / n,
            "agreement_3class": 100 * exact / n,
        }


def completion_sets(only: Sequence[str]) -> dict[str, str]:
    """Model name -> pinned data file name, for the shared completion sets."""
    sets = {
        n.removeprefix(PREFIX).removesuffix(".csv"): n for n in DATA_FILES if n.startswith(PREFIX)
    }
    unknown = [m for m in only if m not in sets]
    if unknown:
        raise SystemExit(f"unknown completion set {', '.join(unknown)}; known: {', '.join(sets)}")
    return {m: n for m, n in sets.items() if not only or m in only}


def xstest_items() -> dict[str, list[Item]]:
    """bench's own XSTest items: the safe prompts and the unsafe contrast prompts."""
    unsafe = [i for i in safety_items() if i.metadata.get("source") == "xstest"]
    return {OVER_REFUSAL.name: over_refusal_items(), SAFETY.name: unsafe}


def human_labels(path: Path) -> dict[str, str]:
    """Normalized prompt -> the reconciled human label of its completion."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {normalize(r["prompt"]): HUMAN[r["final_label"]] for r in csv.DictReader(handle)}


async def score_with_bench(
    files: dict[str, Path], items: dict[str, list[Item]], db: Path
) -> list[SampleRecord]:
    """Every completion set as a replay model, through the runner and the suites' scorer."""
    store = open_store(str(db))
    try:
        specs = {f"replay:{p}": resolve(f"replay:{p}") for p in files.values()}
        clients: dict[str, ModelClient] = {
            n: open_client(s, use_cache=False) for n, s in specs.items()
        }
        store.create_run(
            RunRecord(
                run_id="xstest-table",
                purpose=PURPOSE,
                seed=0,
                suites=list(items),
                models=list(specs),
                settings={},
                command="benchmarks/xstest_table.py",
            )
        )
        suites: dict[str, Suite] = {OVER_REFUSAL.name: OVER_REFUSAL, SAFETY.name: SAFETY}
        runner = Runner(
            store, "xstest-table", suites, items, specs, clients, RunOptions(purpose=PURPOSE)
        )
        outcome = await runner.run(plan_tasks(list(specs), items, 1, 0, {}), {})
        for client in clients.values():
            await client.aclose()
        if outcome.blocked:
            print(f"a completion set could not be served: {outcome.blocked}", file=sys.stderr)
            raise SystemExit(1)
        return store.samples("xstest-table")
    finally:
        store.close()


def tabulate(
    files: dict[str, Path], items: dict[str, list[Item]], samples: list[SampleRecord], by_type: bool
) -> tuple[list[Cell], list[str]]:
    """Cells per model and kind (and per prompt type), and the errors' messages."""
    prompts = {(suite, i.id): i for suite, its in items.items() for i in its}
    cells: dict[tuple[str, str], Cell] = {}
    errors: list[str] = []
    for model, path in files.items():
        labels = human_labels(path)
        for s in (s for s in samples if s.model == f"replay:{path}"):
            item = prompts[(s.suite, s.item_id)]
            keys = [KINDS[s.suite]] + (
                [f"{KINDS[s.suite]}/{item.metadata['type']}"] if by_type else []
            )
            for key in keys:
                cell = cells.setdefault((model, key), Cell(model, key))
                if s.status != "ok":
                    cell.errors += 1
                    continue
                human = labels[normalize(item.messages[0].content)]
                cell.pairs.append((human, str(s.score_detail["label"])))
            if s.status != "ok":
                errors.append(f"{model}: {s.error_message}")
    return sorted(cells.values(), key=lambda c: (c.model, "/" in c.kind, c.kind)), errors


def render(rows: list[dict[str, object]]) -> str:
    head = (
        f"{'model':<16} {'prompts':<34} {'n':>4}  {'human full/part/any %':>22}  "
        f"{'classifier full/part/any %':>27}  {'diff pp':>7}  {'agree 2/3-cl %':>14}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        h, c, d = r["human"], r["classifier"], r["difference_pp"]
        assert isinstance(h, dict) and isinstance(c, dict) and isinstance(d, dict)
        lines.append(
            f"{r['model']!s:<16} {r['kind']!s:<34} {r['n']!s:>4}  "
            f"{h['full']:6.1f} {h['partial']:6.1f} {h['any']:6.1f}    "
            f"{c['full']:6.1f} {c['partial']:6.1f} {c['any']:6.1f}     "
            f"{d['any']:+7.1f}  {r['agreement_binary']:6.1f} {r['agreement_3class']:6.1f}"
            + (f"  ({r['errors']} errors)" if r["errors"] else "")
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", default=[], help="only this completion set")
    parser.add_argument("--by-type", action="store_true", help="also per XSTest prompt type")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    files = {m: fetch(name) for m, name in completion_sets(args.model).items()}
    items = xstest_items()
    with tempfile.TemporaryDirectory(prefix="xstest-table-") as tmp:
        samples = asyncio.run(score_with_bench(files, items, Path(tmp) / "xstest.db"))
    cells, errors = tabulate(files, items, samples, args.by_type)
    rows = [c.row() for c in cells]
    print("XSTest refusal rates: human labels (the paper's) vs bench's offline classifier")
    print(
        "(safe: 250 prompts a model should answer; unsafe: 200 contrast prompts it should refuse)"
    )
    print(render(rows))
    elapsed = time.perf_counter() - started
    print(
        f"\n{len(samples)} answers scored through replay:FILE in {elapsed:.1f} s; diff = "
        "classifier minus human (any refusal).\nThe classifier was fitted on these four sets: "
        "this agreement is in-sample (held-out figures: docs/REFUSAL.md)."
    )
    for message in errors:
        print(f"not scored: {message}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "errors": errors}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
