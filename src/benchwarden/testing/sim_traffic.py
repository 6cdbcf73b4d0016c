"""Pure: simulated organizations' traffic over one day, from a seed.

Three kinds of organization, all declaring ``benchmarking``:

- **benchmark-like**: a finite item set from real public benchmarks (their harmless
  parts: coding and writing prompts, given by the caller), run model after model
  (and sometimes twice), in bursts during working hours, sometimes with a few private
  items of their own or their own wrapper around each prompt;
- **product-like**: a product's users: varied everyday requests, some asked again,
  arriving in a daily wave (busy afternoons, quiet nights);
- **distillation-like**: broad templated prompts that never repeat, long answers
  that run to max_tokens, around the clock, most often on a machine's schedule, some
  asking for step-by-step reasoning or for logprobs; and **stealthy** ones, with
  people's hours, irregular arrivals and few answers run to max_tokens.

All generated text is benign (everyday topics); no harmful request is ever made.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

DAY_S = 86_400.0
KINDS = ("benchmark", "product", "distillation")


@dataclass(frozen=True, slots=True)
class SimItem:
    """A benchmark item the simulator may send (harmless datasets only)."""

    dataset: str
    item: str
    text: str


@dataclass(frozen=True, slots=True)
class SimRequest:
    ts: float  # seconds since the simulation's start
    model: str
    prompt: str
    max_tokens: int | None
    output_tokens: int  # what the mock upstream will answer with (capped by max_tokens)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrgPlan:
    name: str
    kind: str
    rpm: int
    requests: list[SimRequest]
    traits: dict[str, Any] = field(default_factory=dict)


_TOPICS = (
    "photosynthesis",
    "the water cycle",
    "sourdough baking",
    "compound interest",
    "plate tectonics",
    "the french revolution",
    "binary search trees",
    "jazz harmony",
    "composting",
    "solar panels",
    "volcanoes",
    "the roman republic",
    "cloud formation",
    "tide pools",
    "the printing press",
    "bicycle gears",
    "honeybees",
    "coral reefs",
    "sorting algorithms",
    "the silk road",
    "origami",
    "wind turbines",
    "octopus camouflage",
    "impressionist painting",
    "mountain glaciers",
    "fermentation",
    "chess openings",
    "the periodic table",
    "migratory birds",
    "bridges",
    "rainforests",
    "telescopes",
    "urban gardening",
    "the renaissance",
    "probability",
    "sea turtles",
    "tea ceremonies",
    "railways",
    "recycling",
    "lighthouses",
    "desert plants",
    "the moon landing",
    "knitting",
    "hash tables",
    "watercolor",
    "beekeeping",
    "rivers",
    "ancient egypt",
    "the immune system",
    "typography",
    "board games",
    "whales",
    "bread yeast",
)
_ANGLES = (
    "history",
    "underlying mechanism",
    "common misconceptions",
    "practical uses",
    "key vocabulary",
    "open questions",
    "step-by-step process",
    "trade-offs",
    "everyday examples",
    "recent developments",
    "comparison with alternatives",
)
_AUDIENCES = (
    "a curious child",
    "a high-school student",
    "a graduate student",
    "a busy manager",
    "a retired engineer",
    "a beginner",
    "an expert reviewer",
    "a museum visitor",
)
_DISTILL_TEMPLATES = (
    "Write a detailed, comprehensive explanation of {topic}, focusing on its {angle}, "
    "for {audience}. Use {n} sections with headings.",
    "Produce a long-form tutorial about {topic} ({angle}) aimed at {audience}, with {n} "
    "worked examples.",
    "Generate {n} diverse question-and-answer pairs about {topic}, covering its {angle}, "
    "written for {audience}.",
    "Compose an in-depth essay on {topic} and its {angle}. The reader is {audience}. "
    "Aim for {n} paragraphs.",
    "Explain {topic} thoroughly, covering the {angle}, as if teaching {audience}; include "
    "{n} analogies and a summary.",
)
_REASONING_SUFFIX = " Think step by step and show your full reasoning before the answer."
_PRODUCT_OPENERS = ("hey", "hi", "please", "quick question:", "", "", "can you", "i need to")
_PRODUCT_TASKS = (
    "summarize this meeting note about {topic} for my team",
    "write a friendly reply to a customer asking about {topic}",
    "fix the grammar in my paragraph on {topic}",
    "give me three catchy titles for a blog post on {topic}",
    "translate a short greeting about {topic} into spanish",
    "suggest a weekend plan that involves {topic}",
    "explain {topic} in two sentences",
    "draft a tweet announcing our new feature for {topic} fans",
    "what should i know before getting into {topic}",
    "make a shopping list for a {topic} themed party",
    "rewrite this sentence to sound more polite: i want the {topic} report now",
    "turn my notes on {topic} into bullet points",
)
_FAQ = (
    "how do i reset my password",
    "what are your opening hours",
    "can you recommend a good book",
    "write a thank you note",
)
_WRAPPERS = ("", "", "Please answer the following.\n\n", "Task:\n", "Solve this carefully.\n")


def _diurnal_times(rng: random.Random, count: int, peak_hour: float) -> list[float]:
    """``count`` arrival times over a day, denser around ``peak_hour`` (people's hours)."""
    out: list[float] = []
    while len(out) < count:
        t = rng.uniform(0, DAY_S)
        hour = t / 3600
        weight = 0.5 * (1 + math.cos(2 * math.pi * (hour - peak_hour) / 24)) ** 2 / 4
        if rng.random() < 0.03 + weight:
            out.append(t)
    return sorted(out)


def benchmark_org(name: str, rng: random.Random, items: Sequence[SimItem]) -> OrgPlan:
    size = rng.randint(30, 90)
    chosen = rng.sample(list(items), min(size, len(items)))
    custom = [
        f"Internal eval {name}-{i}: summarise the key idea of {rng.choice(_TOPICS)} "
        f"in one line, then give one {rng.choice(_ANGLES)} example."
        for i in range(int(size * rng.choice((0.0, 0.0, 0.1, 0.2))))
    ]
    wrapper = rng.choice(_WRAPPERS)
    models = rng.sample(["model-a", "model-b", "model-c", "model-d"], rng.randint(2, 4))
    epochs = rng.choice((1, 1, 2))
    prompts = [(wrapper + it.text, it.dataset) for it in chosen] + [(c, "custom") for c in custom]
    t = rng.uniform(8, 14) * 3600
    requests: list[SimRequest] = []
    for model in models:
        for _ in range(epochs):
            order = prompts[:]
            rng.shuffle(order)
            for prompt, dataset in order:
                t += rng.expovariate(1 / rng.uniform(1.0, 6.0))
                coding = dataset in ("humaneval", "mbpp-plus")
                max_tokens = 512 if coding else 1024
                out = int(rng.uniform(40, 400) if coding else rng.uniform(200, 1100))
                requests.append(SimRequest(t, model, prompt, max_tokens, out))
            t += rng.uniform(300, 3600)  # between runs
    traits = {"items": len(chosen), "custom": len(custom), "models": len(models), "epochs": epochs}
    return OrgPlan(name, "benchmark", 600, [r for r in requests if r.ts < DAY_S], traits)


def product_org(name: str, rng: random.Random) -> OrgPlan:
    count = rng.randint(120, 260)
    peak = rng.uniform(13, 17)
    requests = []
    for t in _diurnal_times(rng, count, peak):
        if rng.random() < 0.1:
            prompt = rng.choice(_FAQ)
        else:
            task = rng.choice(_PRODUCT_TASKS).format(topic=rng.choice(_TOPICS))
            prompt = f"{rng.choice(_PRODUCT_OPENERS)} {task}".strip()
        max_tokens = rng.choice((None, 512, 1024))
        out = int(rng.uniform(20, 350))
        requests.append(SimRequest(t, "model-a", prompt, max_tokens, out))
    return OrgPlan(name, "product", 600, requests, {"peak_hour": round(peak, 1)})


def distillation_org(name: str, rng: random.Random) -> OrgPlan:
    count = rng.randint(140, 280)
    regular = rng.random() < 0.8
    pinned = rng.random() < 0.5
    reasoning = rng.random() < 0.5
    probing = rng.random() < 0.2
    saturated = rng.uniform(0.6, 1.0)
    interval = DAY_S / count
    t = rng.uniform(0, interval)
    requests = []
    for i in range(count):
        template = rng.choice(_DISTILL_TEMPLATES)
        prompt = template.format(
            topic=rng.choice(_TOPICS),
            angle=rng.choice(_ANGLES),
            audience=rng.choice(_AUDIENCES),
            n=rng.randint(3, 12),
        )
        prompt += f" (variant {i})" if rng.random() < 0.3 else ""
        if reasoning:
            prompt += _REASONING_SUFFIX
        max_tokens = rng.choice((2048, 4096))
        full = rng.random() < saturated
        out = max_tokens if full else int(max_tokens * rng.uniform(0.4, 0.9))
        params = {"logprobs": True} if probing and rng.random() < 0.15 else {}
        requests.append(SimRequest(t, "model-a", prompt, max_tokens, out, params))
        step = interval * (rng.uniform(0.97, 1.03) if regular else rng.expovariate(1.0))
        t += step
    rpm = 1 if pinned else 600
    traits = {
        "regular": regular,
        "pinned": pinned,
        "reasoning": reasoning,
        "probing": probing,
        "saturated": round(saturated, 2),
    }
    return OrgPlan(name, "distillation", rpm, [r for r in requests if r.ts < DAY_S], traits)


def stealthy_distillation_org(name: str, rng: random.Random) -> OrgPlan:
    """Distillation that hides: people's hours (a daily wave, irregular arrivals), no
    rate pinning or probing, and most answers well short of max_tokens; only the
    prompts (broad, templated, never repeated) and long answers give it away."""
    count = rng.randint(120, 260)
    peak = rng.uniform(10, 17)
    reasoning = rng.random() < 0.3
    saturated = rng.uniform(0.05, 0.3)
    requests = []
    for i, t in enumerate(_diurnal_times(rng, count, peak)):
        template = rng.choice(_DISTILL_TEMPLATES)
        prompt = template.format(
            topic=rng.choice(_TOPICS),
            angle=rng.choice(_ANGLES),
            audience=rng.choice(_AUDIENCES),
            n=rng.randint(3, 12),
        )
        prompt += f" (part {i})" if rng.random() < 0.2 else ""
        if reasoning:
            prompt += _REASONING_SUFFIX
        max_tokens = rng.choice((1024, 2048, 4096))
        full = rng.random() < saturated
        out = max_tokens if full else int(max_tokens * rng.uniform(0.25, 0.8))
        requests.append(SimRequest(t, rng.choice(("model-a", "model-b")), prompt, max_tokens, out))
    traits = {
        "stealthy": True,
        "peak_hour": round(peak, 1),
        "reasoning": reasoning,
        "saturated": round(saturated, 2),
    }
    return OrgPlan(name, "distillation", 600, requests, traits)


def population(
    seed: int,
    items: Sequence[SimItem],
    benchmark: int,
    product: int,
    distillation: int,
    stealthy: int = 0,
) -> list[OrgPlan]:
    """The organizations of one simulation, reproducible from ``seed``; ``stealthy``
    distillation-like organizations come on top of the ``distillation`` overt ones."""
    rng = random.Random(seed)
    plans = [
        benchmark_org(f"bench-{i}", random.Random(rng.random()), items) for i in range(benchmark)
    ]
    plans += [product_org(f"product-{i}", random.Random(rng.random())) for i in range(product)]
    plans += [
        distillation_org(f"distill-{i}", random.Random(rng.random())) for i in range(distillation)
    ]
    plans += [
        stealthy_distillation_org(f"stealth-{i}", random.Random(rng.random()))
        for i in range(stealthy)
    ]
    return plans
