"""How far to trust the judges: position bias, agreement, self-preference. Pure.

* **Position bias**: of the pairs a judge saw in both orders (both parsed), the share
  where its preference followed the slot rather than the answer (``s1 * s2 < 0``; see
  ``verdicts``), with a Wilson interval; and how often slot A won among its decisive
  verdicts (0.5 for an unbiased judge).
* **Agreement**: judges' combined verdicts (X wins / tie / Y wins) on the pairs they
  all judged usably: Cohen's kappa for two judges, Fleiss' kappa for more.
* **Self-preference**: a judge from the same family (or the same lab) as a contestant
  may favour it; we warn rather than drop it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from benchwarden.bench.stats import Interval, cohen_kappa, fleiss_kappa, proportion_ci
from benchwarden.bench.writing.verdicts import VERDICT_VALUE, Combined

# Providers that are one lab each: their models share training and house style.
LAB_PROVIDERS = ("openai", "anthropic", "google", "gemini", "mistral", "meta", "deepseek")

PairKey = tuple[str, str, int, str, str]  # suite, item_id, epoch, X, Y


@dataclass(frozen=True, slots=True)
class PositionBias:
    judge: str
    pairs: int  # pairs with both orders parsed
    flips: int  # of those, preference followed the slot
    rate: Interval
    first_slot_wins: int
    decisive: int  # verdicts that were not ties
    first_slot_win_rate: float
    unparsed: int  # single verdicts that named no verdict
    errors: int


@dataclass(frozen=True, slots=True)
class Agreement:
    judges: tuple[str, ...]
    method: str  # "cohen" or "fleiss"
    n: int
    kappa: float
    observed: float  # share of pairs on which all judges agreed


def position_bias(
    judge: str,
    orders: Mapping[PairKey, tuple[str | None, str | None]],
    unparsed: int = 0,
    errors: int = 0,
) -> PositionBias:
    """``orders[(suite, item, epoch, X, Y)] = (verdict with X first, verdict with Y first)``."""
    pairs = flips = first = decisive = 0
    for x_first, y_first in orders.values():
        for v in (x_first, y_first):
            if v in VERDICT_VALUE and VERDICT_VALUE[v] != 0:
                decisive += 1
                first += VERDICT_VALUE[v] > 0
        if x_first in VERDICT_VALUE and y_first in VERDICT_VALUE:
            pairs += 1
            flips += VERDICT_VALUE[x_first] * -VERDICT_VALUE[y_first] < 0
    return PositionBias(
        judge,
        pairs,
        flips,
        proportion_ci(flips, pairs),
        first,
        decisive,
        first / decisive if decisive else math.nan,
        unparsed,
        errors,
    )


def _category(c: Combined) -> str:
    assert c.outcome is not None
    return "X" if c.outcome > 0.5 else "Y" if c.outcome < 0.5 else "tie"


def agreement(combined: Mapping[str, Mapping[PairKey, Combined]]) -> Agreement | None:
    """Agreement among all the judges on the pairs every one of them judged usably."""
    judges = tuple(sorted(combined))
    if len(judges) < 2:
        return None
    shared = set.intersection(
        *({k for k, c in combined[j].items() if c.outcome is not None} for j in judges)
    )
    keys = sorted(shared)
    labels = [[_category(combined[j][k]) for j in judges] for k in keys]
    observed = sum(len(set(row)) == 1 for row in labels) / len(keys) if keys else math.nan
    if len(judges) == 2:
        a, b = [row[0] for row in labels], [row[1] for row in labels]
        return Agreement(judges, "cohen", len(keys), cohen_kappa(a, b), observed)
    return Agreement(judges, "fleiss", len(keys), fleiss_kappa(labels), observed)


def family(name: str) -> tuple[str, str]:
    """(provider, family) of a model name: ``openai/gpt-4o`` -> ("openai", "gpt"),
    ``local/smollm2-135m`` -> ("local", "smollm"); the family is the leading letters
    of the last path segment."""
    provider, _, model = name.rpartition("/")
    found = re.match(r"[a-z]+", model.lower())
    return provider.lower(), found.group(0) if found else model.lower()


def self_preference_warnings(judges: Sequence[str], contestants: Sequence[str]) -> list[str]:
    warnings = []
    for judge in judges:
        j_provider, j_family = family(judge)
        for model in contestants:
            provider, fam = family(model)
            if judge == model:
                why = "is itself a contestant"
            elif fam == j_family:
                why = f"shares the {fam!r} family with contestant {model}"
            elif provider == j_provider and provider in LAB_PROVIDERS:
                why = f"comes from the same lab ({provider}) as contestant {model}"
            else:
                continue
            warnings.append(f"judge {judge} {why}: it may prefer its own kind (self-preference)")
    return warnings


def weak_judge_warnings(judges: Sequence[str]) -> list[str]:
    return [
        f"judge {j} is a tiny embedded model: its verdicts are weak (near chance, strongly "
        "position-biased); use a strong configured judge for real results"
        for j in judges
        if j.startswith("local/")
    ]
