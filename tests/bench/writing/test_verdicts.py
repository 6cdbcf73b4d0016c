"""Verdict parsing, the two-order rule, position bias, agreement, family warnings."""

from __future__ import annotations

import math

import pytest

from benchwarden.bench.stats import fleiss_kappa
from benchwarden.bench.writing.judges import (
    agreement,
    family,
    position_bias,
    self_preference_warnings,
)
from benchwarden.bench.writing.verdicts import combine, parse_grade, parse_pairwise


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("[[A>>B]]", "A>>B"),
        ("[[B>A]] B keeps the rhyme scheme.", "B>A"),
        ("My verdict: [[ A = B ]]", "A=B"),
        ("[[B=A]]", "A=B"),
        ("A>B\nbecause it is funnier", "A>B"),  # bare, on the first line
        ("B >> A", "B>>A"),
        ("[[A<B]]", "B>A"),
        ("[[A>B]] or maybe [[B>A]]", None),  # two different verdicts: ambiguous
        ("[[A>B]] ... final: [[A>B]]", "A>B"),
        ("Assistant A is better.", None),  # prose is never guessed
        ("The poem\nA>B", None),  # a bare verdict counts on the first line only
        ("", None),
        ("[[C>D]]", None),
    ],
)
def test_parse_pairwise(reply: str, verdict: str | None) -> None:
    assert parse_pairwise(reply) == verdict


@pytest.mark.parametrize(
    ("reply", "grade"),
    [
        ("[[7]]", 7),
        ("[[10]] superb", 10),
        ("Rating: 8/10\nvivid", 8),
        ("6", 6),
        ("[[3]] then [[9]]", None),
        ("[[11]]", None),
        ("It is good.", None),
        ("", None),
    ],
)
def test_parse_grade(reply: str, grade: int | None) -> None:
    assert parse_grade(reply) == grade


@pytest.mark.parametrize(
    ("x_first", "y_first", "outcome", "label", "inconsistent"),
    [
        ("A>>B", "B>>A", 1.0, "X>>Y", False),  # X much better both ways
        ("A>B", "B>>A", 1.0, "X>>Y", False),  # margin 3
        ("A>B", "B>A", 1.0, "X>Y", False),
        ("A>B", "A=B", 1.0, "X>Y", False),  # a tie and a win: the win, weakly
        ("A=B", "A=B", 0.5, "X=Y", False),
        ("B>A", "A>B", 0.0, "Y>X", False),
        ("B>>A", "A>>B", 0.0, "Y>>X", False),
        ("A>B", "A>B", 0.5, "X=Y", True),  # preferred slot A both times: a tie
        ("A>>B", "A>B", 0.5, "X=Y", True),
        ("B>A", "B>>A", 0.5, "X=Y", True),  # preferred slot B both times
        ("A>B", None, None, "unusable", False),  # never guessed from one order
        (None, "B>A", None, "unusable", False),
    ],
)
def test_combine_rule(
    x_first: str | None, y_first: str | None, outcome: float | None, label: str, inconsistent: bool
) -> None:
    c = combine(x_first, y_first)
    assert (c.outcome, c.label, c.inconsistent) == (outcome, label, inconsistent)


def test_position_bias_counts_slot_following_pairs() -> None:
    orders = {
        ("w", "1", 0, "x", "y"): ("A>B", "B>A"),  # consistent
        ("w", "2", 0, "x", "y"): ("A>B", "A>B"),  # slot A both times
        ("w", "3", 0, "x", "y"): ("B>A", "B>>A"),  # slot B both times
        ("w", "4", 0, "x", "y"): ("A=B", "A>B"),  # a tie one way: not a flip
        ("w", "5", 0, "x", "y"): ("A>B", None),  # unparsed other order: left out
    }
    bias = position_bias("j", orders, unparsed=1)
    assert (bias.pairs, bias.flips) == (4, 2)
    assert bias.rate.estimate == pytest.approx(0.5)
    # decisive verdicts: 1:A,B 2:A,A 3:B,B 4:A 5:A -> slot A won 5 of 8
    assert (bias.first_slot_wins, bias.decisive) == (5, 8)


def test_fleiss_kappa_on_the_textbook_example() -> None:
    # Fleiss (1971) as worked on Wikipedia: 10 items, 14 raters, 5 categories -> 0.210.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    ratings = [[c for c, k in enumerate(row) for _ in range(k)] for row in table]
    assert fleiss_kappa(ratings) == pytest.approx(0.2099, abs=5e-4)
    assert fleiss_kappa([["a", "a"], ["b", "b"]]) == 1.0
    assert math.isnan(fleiss_kappa([]))


def test_agreement_cohen_for_two_and_fleiss_for_three() -> None:
    k1, k2 = ("w", "1", 0, "x", "y"), ("w", "2", 0, "x", "y")
    win, tie, loss = combine("A>B", "B>A"), combine("A=B", "A=B"), combine("B>A", "A>B")
    two = agreement({"j1": {k1: win, k2: loss}, "j2": {k1: win, k2: tie}})
    assert two is not None and two.method == "cohen" and two.n == 2
    assert two.observed == pytest.approx(0.5)
    three = agreement({"j1": {k1: win, k2: loss}, "j2": {k1: win, k2: loss}, "j3": {k1: win}})
    assert three is not None and three.method == "fleiss" and three.n == 1  # shared pairs only
    assert agreement({"j1": {k1: win}}) is None


def test_family_and_self_preference() -> None:
    assert family("openai/gpt-4o-mini") == ("openai", "gpt")
    assert family("local/smollm2-135m") == ("local", "smollm")
    warned = self_preference_warnings(
        ["openai/gpt-4o", "anthropic/claude-3-5-haiku", "local/gemma3-270m"],
        ["openai/o3-mini", "anthropic/claude-sonnet-4", "local/smollm2-135m"],
    )
    assert any("openai/gpt-4o" in w and "same lab" in w for w in warned)
    assert any("claude-3-5-haiku" in w and "'claude' family" in w for w in warned)
    assert not any("gemma3" in w for w in warned)  # 'local' is no lab
    assert self_preference_warnings(["m"], ["m"]) == [
        "judge m is itself a contestant: it may prefer its own kind (self-preference)"
    ]
