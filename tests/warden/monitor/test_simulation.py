"""Detection figures from the traffic simulator with fixed seeds: benchmark-like,
product-like and distillation-like organizations through a real warden on loopback
(mock upstream, simulated clock), assessed by the monitor within a simulated day."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchwarden.cli.monitor_sources import simulator_items
from benchwarden.testing.sim_run import run_simulation
from benchwarden.testing.sim_traffic import SimItem, population
from benchwarden.warden.monitor.fingerprints import Fingerprints
from tests.warden.monitor.conftest import build_fingerprints


@pytest.mark.timeout(600)
def test_detection_figures_with_fixed_seeds(tmp_path: Path) -> None:
    items = [SimItem(*t) for t in simulator_items()]
    assert items, "the benchmark datasets could not be read (BENCHWARDEN_DATA_MIRROR)"
    prints: Fingerprints = build_fingerprints()
    plans = population(7, items, benchmark=10, product=4, distillation=10)
    report = run_simulation(plans, tmp_path / "sim.db", prints)
    for line in report.lines():
        print(line)
    figures = report.figures()
    assert figures["recall"] >= 0.95
    assert figures["benchmark_flag_rate"] <= 0.01
    assert figures["precision"] >= 0.95
    # every distillation-like organization was caught from its traffic, not by chance
    for outcome in report.of("distillation"):
        assert outcome.first_flag_h is not None and outcome.first_flag_h <= 24, outcome
    assert all(o.requests > 0 for o in report.outcomes)
