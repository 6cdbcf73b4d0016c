"""The monitor's detection figures on a bigger simulated population.

Benchmark-like, product-like and distillation-like organizations (see
``benchwarden.testing.sim_traffic``) through a real warden on loopback with a mock
upstream and a simulated clock; prints recall, precision, the benchmark-like and
product-like flag rates, and the organizations that were missed or wrongly flagged.
Needs BENCHWARDEN_DATA_MIRROR (or network) for the benchmark datasets. Installs
nothing; its duration grows with --orgs (about 100 requests a second here).

    python benchmarks/monitor_detection.py --orgs 60 --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from benchwarden.cli.monitor_sources import simulator_items
from benchwarden.testing.sim_run import run_simulation
from benchwarden.testing.sim_traffic import SimItem, population
from benchwarden.warden.monitor.fingerprints import Fingerprints


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orgs", type=int, default=60, help="organizations per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = parser.parse_args()
    from benchwarden.cli.monitor_sources import benchmark_prompts

    prompts, missing = benchmark_prompts(("humaneval", "mbpp-plus", "arena-hard", "mt-bench"))
    if missing:
        print(f"skipped sources: {missing}")
    prints = Fingerprints.from_texts((p.dataset, p.item, t) for p in prompts for t in p.variants)
    items = [SimItem(*t) for t in simulator_items()]
    each = max(1, args.orgs // 5)
    totals: dict[str, list[float]] = {}
    for seed in args.seeds:
        plans = population(seed, items, benchmark=2 * each, product=each, distillation=2 * each)
        with tempfile.TemporaryDirectory() as folder:
            report = run_simulation(plans, Path(folder) / "sim.db", prints)
        print(f"seed {seed}:")
        for line in report.lines():
            print(f"  {line}")
        for o in report.outcomes:
            wrong = (o.kind == "distillation") != (
                o.flagged and o.first_kind in ("extraction", "probing")
            )
            if wrong and o.kind != "product":
                print(f"  {o.name}: score {o.score} {o.level} {o.found} {o.traits}")
        for name, value in report.figures().items():
            totals.setdefault(name, []).append(value)
    summary = {k: sum(v) / len(v) for k, v in totals.items()}
    print("mean over seeds: " + json.dumps({k: round(v, 4) for k, v in summary.items()}))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
