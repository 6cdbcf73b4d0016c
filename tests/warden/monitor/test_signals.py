"""Each signal, and the score, on crafted traffic (pure functions, no I/O)."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

from benchwarden.store.monitor_store import UsageRow
from benchwarden.store.warden_records import GrantRecord
from benchwarden.warden.monitor import signals as sg
from benchwarden.warden.monitor.responses import Peaks, served_peaks, throttled_terms
from benchwarden.warden.monitor.scoring import Policy, assess
from benchwarden.warden.monitor.sketch import signature, to_bytes

T0 = datetime(2026, 1, 5, tzinfo=UTC)
DAY = T0 + timedelta(days=1)
CFG = sg.SignalConfig()


def row(t: float, text: str = "", **kw: object) -> UsageRow:
    sig = signature(text) if text else None
    fields: dict[str, object] = {
        "ts": T0 + timedelta(seconds=t),
        "org": "o",
        "key_id": "k",
        "endpoint": "chat.completions",
        "outcome": "completed",
        "input_tokens": 100,
        "output_tokens": 100,
        "max_tokens": 1000,
        "prompt_sha256": hashlib.sha256(text.encode()).hexdigest() if text else None,
        "minhash": to_bytes(sig) if sig is not None else None,
    }
    fields.update(kw)
    return UsageRow(**fields)  # type: ignore[arg-type]


def regular(n: int = 200, jitter: float = 0.0, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    step = 86_400 / n
    return [i * step + rng.uniform(-jitter, jitter) * step for i in range(n)]


def test_flat_clock_tells_around_the_clock_from_working_hours() -> None:
    flat = [row(t) for t in regular()]
    office = [row(9 * 3600 + i * 100) for i in range(200)]
    assert sg.flat_clock(flat, T0, DAY, CFG).strength > 0.9
    assert sg.flat_clock(office, T0, DAY, CFG).strength == 0.0
    assert sg.flat_clock(flat[:5], T0, DAY, CFG).detail["insufficient"]


def test_pinned_at_the_rpm_or_the_concurrency_limit() -> None:
    at_rpm = [row(m * 60 + s, rpm=5) for m in range(30) for s in range(5)]
    under = [row(m * 60, rpm=5) for m in range(30)]
    at_concurrency = [row(i * 7, max_concurrency=2, in_flight=2) for i in range(30)]
    refused = [row(i, outcome="refused", code="rate_limited") for i in range(30)]
    assert sg.pinned(at_rpm, CFG).strength == 1.0
    assert sg.pinned(under, CFG).strength == 0.0
    assert sg.pinned(at_concurrency, CFG).strength == 1.0
    assert sg.pinned(refused, CFG).strength == 1.0


def test_output_ratio_and_saturation() -> None:
    long = [row(i, f"q {i}", input_tokens=50, output_tokens=1000) for i in range(30)]
    short = [row(i, input_tokens=200, output_tokens=150, max_tokens=1000) for i in range(30)]
    assert sg.output_ratio(long, CFG).value == 20 and sg.output_ratio(long, CFG).strength == 1
    assert sg.output_ratio(short, CFG).strength == 0
    saturated = sg.saturation(long, CFG)
    assert saturated.value == 1.0 and saturated.strength == 1.0 and saturated.detail["examples"]
    assert sg.saturation(short, CFG).strength == 0.0


def test_uniqueness_ignores_known_benchmark_items() -> None:
    fresh = [row(i, f"Explain topic number {i} in depth with {i} examples") for i in range(150)]
    again = [row(i, f"Explain topic number {i % 10} in depth") for i in range(150)]
    known = [row(i, f"Explain topic number {i} in depth", benchmark=f"b/{i}") for i in range(150)]
    assert sg.uniqueness(fresh, CFG).strength == 1.0
    assert sg.uniqueness(again, CFG).strength == 0.0
    assert sg.uniqueness(known, CFG).detail["insufficient"]
    assert sg.known_share(known).value == 1.0 and sg.known_share(fresh).value == 0.0


def test_template_repetition_and_coverage_growth() -> None:
    topics = ["volcanoes", "bread", "rivers", "chess", "tea", "bees", "bridges", "jazz"]
    template = [
        row(i, f"Write a long essay about {topics[i % 8]} for {i} readers, with headings.")
        for i in range(80)
    ]
    tpl, growth = sg.template_and_growth(template, CFG)
    assert tpl.value == 1.0 and tpl.strength == 1.0 and tpl.detail["examples"]
    repeated = [row(i, "Benchmark", benchmark=f"humaneval/{i % 20}") for i in range(80)]
    _, no_growth = sg.template_and_growth(repeated, CFG)
    assert no_growth.value == 0.0
    rng = random.Random(9)
    unique = [  # random letters: no two prompts share a word
        row(i, " ".join("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=7)) for _ in range(6)))
        for i in range(80)
    ]
    _, grows = sg.template_and_growth(unique, CFG)
    assert growth.value <= 0.2  # eight topics, all seen in the first half
    assert grows.value >= 0.8 and grows.strength == 1.0
    assert sg.template_and_growth(unique, CFG)[0].value == 0.0  # nothing alike


def test_reasoning_and_probing_flags() -> None:
    asks = [row(i, flags=["reasoning_text"]) for i in range(20)] + [row(i) for i in range(20)]
    probes = [row(i, flags=["logprobs"], outcome="refused", code="unsupported") for i in range(10)]
    plain = [row(i) for i in range(40)]
    assert sg.reasoning(asks).value == 0.5 and sg.reasoning(asks).strength > 0.8
    assert sg.probing(probes + plain).strength == 1.0
    assert sg.probing(plain).strength == 0.0 and sg.reasoning(plain).strength == 0.0


def test_regular_timing_coefficient_of_variation() -> None:
    machine = [row(t) for t in regular(200, jitter=0.01)]
    rng = random.Random(3)
    times, t = [], 0.0
    for _ in range(200):
        t += rng.expovariate(1 / 300)
        times.append(t)
    people = [row(t) for t in times]
    assert sg.regular_timing(machine, CFG).strength == 1.0
    assert sg.regular_timing(people, CFG).strength == 0.0


def test_score_levels_and_the_benchmark_discount() -> None:
    strong = {
        n: sg.Signal(n, 1.0, 1.0)
        for n in (
            "uniqueness",
            "template",
            "coverage_growth",
            "saturation",
            "output_ratio",
            "flat_clock",
            "regular_timing",
            "pinned",
            "reasoning",
        )
    }
    found = assess(
        {**strong, "known_benchmarks": sg.Signal("known_benchmarks", 0.0, 0.0)}, {"benchmarking"}
    )
    assert found.score == 100.0 and found.kind == "extraction" and found.level == "revoke"
    known = assess(
        {**strong, "known_benchmarks": sg.Signal("known_benchmarks", 1.0, 0.0)}, {"benchmarking"}
    )
    assert known.score == 20.0 and known.level == "none" and known.kind == "none"
    mismatch = assess({"uniqueness": sg.Signal("uniqueness", 1.0, 1.0)}, {"benchmarking"})
    assert mismatch.kind == "purpose-mismatch" and mismatch.level == "flag"
    policy = Policy(auto_max="throttle")
    assert policy.automatic("flag") and policy.automatic("throttle")
    assert not policy.automatic("suspend") and not policy.automatic("none")


def test_throttled_terms() -> None:
    grant = GrantRecord(1, 1, "o", "m", ["benchmarking"], 100, None, 7, None, T0, T0)
    terms = throttled_terms(grant, Peaks(rpm=10, tpm=9000, in_flight=3), 0.5)
    assert (terms["rpm"], terms["tpm"], terms["max_concurrency"]) == (50, 4500, 3)


def test_served_peaks_are_per_model_and_leave_refusals_out() -> None:
    def row(model: str, second: int, outcome: str = "completed") -> UsageRow:
        tokens = 10 if outcome == "completed" else 0
        return UsageRow(
            ts=T0 + timedelta(seconds=second),
            org="o",
            key_id="k",
            endpoint="chat.completions",
            outcome=outcome,
            model=model,
            input_tokens=tokens,
            output_tokens=tokens,
            in_flight=2 if model == "a" else 1,
        )

    rows = [row("a", s) for s in range(5)] + [row("b", s) for s in range(2)]
    rows += [row("a", 70 + s, "refused") for s in range(40)]  # a refused burst
    rows += [row("b", 200, "cut"), row("b", 201, "failed")]
    peaks = served_peaks(rows)
    assert peaks == {"a": Peaks(5, 100, 2), "b": Peaks(2, 40, 1)}
