"""The monitor's detection figures on a population big enough to mean something.

Benchmark-like, product-like and distillation-like organizations (overt, and stealthy:
people's hours, irregular arrivals, few answers run to max_tokens; see
``benchwarden.testing.sim_traffic``), over one simulated day, assessed every 6 hours.
Two runs, each saying which it is in its output:

- small (``--live``): every request through a real warden on loopback (mock upstream,
  simulated clock), about 150 requests a second here;
- large (``--planned``): the usage records made straight from the planned traffic
  (``benchwarden.testing.sim_planned``, the recorder's own hashing and fingerprint
  lookup, the limiter's RPM window), about 900 requests a second; a test checks that it
  agrees with the live server organization by organization.

Prints recall (overt and stealthy apart), precision, the benchmark-like false-flag rate
and the product-like flag rate, each with its exact counts, and the organizations that
were missed or wrongly flagged. Needs BENCHWARDEN_DATA_MIRROR (or network) for the
benchmark datasets. Installs nothing; about 6.5 minutes on 2 shared cores with the
defaults (live 128 s, planned 254 s for 114,391 requests).

    python benchmarks/monitor_detection.py                 # both runs, defaults below
    python benchmarks/monitor_detection.py --planned --benchmark 300 --distillation 100
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from benchwarden.cli.monitor_sources import benchmark_prompts, simulator_items
from benchwarden.testing.sim_planned import run_planned
from benchwarden.testing.sim_run import EXTRACTION_KINDS, SimReport, run_simulation
from benchwarden.testing.sim_traffic import SimItem, population
from benchwarden.warden.monitor.fingerprints import Fingerprints

LIVE = {"benchmark": 20, "product": 5, "distillation": 10, "stealthy": 5}
PLANNED = {"benchmark": 300, "product": 30, "distillation": 100, "stealthy": 50}
BUDGET_S = 900.0  # stops before another seed once past this


def _print(title: str, report: SimReport, sizes: dict[str, int]) -> None:
    print(f"{title} ({', '.join(f'{k} {v}' for k, v in sizes.items())}):")
    for line in report.lines():
        print(f"  {line}")
    for o in report.outcomes:
        caught = o.flagged and o.first_kind in EXTRACTION_KINDS
        wrong = (o.kind == "distillation") != caught
        if wrong and o.kind != "product":
            print(f"    {o.name}: score {o.score} {o.level} {o.found} {o.traits}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--live", action="store_true", help="only the small live run")
    parser.add_argument("--planned", action="store_true", help="only the large planned run")
    for name, value in PLANNED.items():
        parser.add_argument(f"--{name}", type=int, default=value, help=f"planned run ({value})")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--json", type=Path, default=None, help="write the counts here too")
    args = parser.parse_args()
    both = not (args.live or args.planned)
    prompts, missing = benchmark_prompts(("humaneval", "mbpp-plus", "arena-hard", "mt-bench"))
    if missing:
        print(f"skipped sources: {missing}")
    prints = Fingerprints.from_texts((p.dataset, p.item, t) for p in prompts for t in p.variants)
    items = [SimItem(*t) for t in simulator_items()]
    large = {name: getattr(args, name) for name in PLANNED}
    started = time.perf_counter()
    out: dict[str, Any] = {}
    for seed in args.seeds:
        if time.perf_counter() - started > BUDGET_S:
            print(f"time budget of {BUDGET_S:.0f} s spent: seed {seed} and later not run")
            break
        if args.live or both:
            with tempfile.TemporaryDirectory() as folder:
                report = run_simulation(
                    population(seed, items, **LIVE), Path(folder) / "s.db", prints
                )
            _print(f"seed {seed}, small run through the live server", report, LIVE)
            out[f"live-{seed}"] = report.counts()
        if args.planned or both:
            report = run_planned(population(seed, items, **large), prints)
            _print(f"seed {seed}, large run from planned traffic", report, large)
            out[f"planned-{seed}"] = report.counts()
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
