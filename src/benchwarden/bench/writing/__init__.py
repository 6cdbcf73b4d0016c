"""Writing suites' judging: pairwise verdicts in both orders, single-answer grades,
ratings with intervals, judge bias and agreement. See docs/ARCHITECTURE.md."""
