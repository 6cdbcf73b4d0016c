"""Detection figures from the traffic simulator with fixed seeds: benchmark-like,
product-like and distillation-like organizations (overt and stealthy) through a real
warden on loopback (mock upstream, simulated clock), assessed by the monitor within a
simulated day; and the same figures computed from the planned traffic alone (what the
large benchmark run uses) agree with the live server's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchwarden.cli.monitor_sources import simulator_items
from benchwarden.testing.sim_planned import run_planned
from benchwarden.testing.sim_run import run_simulation
from benchwarden.testing.sim_traffic import SimItem, population
from benchwarden.warden.monitor.fingerprints import Fingerprints
from tests.warden.monitor.conftest import build_fingerprints


@pytest.mark.timeout(600)
def test_detection_figures_with_fixed_seeds(tmp_path: Path) -> None:
    items = [SimItem(*t) for t in simulator_items()]
    assert items, "the benchmark datasets could not be read (BENCHWARDEN_DATA_MIRROR)"
    prints: Fingerprints = build_fingerprints()
    plans = population(7, items, benchmark=10, product=4, distillation=10, stealthy=4)
    environ = dict(os.environ)
    report = run_simulation(plans, tmp_path / "sim.db", prints)
    assert dict(os.environ) == environ  # configuration passed explicitly, nothing set
    for line in report.lines():
        print(line)
    figures = report.figures()
    assert figures["recall_overt"] >= 0.95
    assert figures["benchmark_flag_rate"] <= 0.01
    assert figures["precision"] >= 0.95
    # every overt distillation-like organization was caught from its traffic
    for outcome in report.of("distillation"):
        if not outcome.traits.get("stealthy"):
            assert outcome.first_flag_h is not None and outcome.first_flag_h <= 24, outcome
    assert all(o.requests > 0 for o in report.outcomes)
    # the stealthy ones are counted apart, whatever the monitor made of them
    assert report.counts()["recall_stealthy"][1] == 4
    # the planned-traffic path sees what the live server saw, organization by organization
    planned = run_planned(plans, prints)
    live = {o.name: (o.first_flag_h, o.first_kind, o.level) for o in report.outcomes}
    offline = {o.name: (o.first_flag_h, o.first_kind, o.level) for o in planned.outcomes}
    assert offline == live
    assert planned.counts() == report.counts()
