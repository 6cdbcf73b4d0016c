"""Tables that stay readable in an 80-column terminal.

Below ``NARROW`` columns the tables drop their vertical rules and edge padding, names
(models, suites) never wrap or lose characters, numbers never wrap, and free text
folds. Colors are Rich's: only on a terminal, never in a pipe or a file (and never
with NO_COLOR set).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich import box
from rich.table import Table

from benchwarden.cli.common import console

NARROW = 100
TESTS = {"mcnemar-exact": "McNemar", "wilcoxon": "Wilcoxon", "none": "—"}


def narrow() -> bool:
    return console.width < NARROW


def results_table(title: str) -> Table:
    if narrow():
        return Table(
            title=f"\n{title}",  # a blank line between tables, as the edges gave before
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            collapse_padding=True,
        )
    return Table(title=title, title_justify="left")


def add_columns(
    table: Table,
    names: Iterable[str],
    *,
    keep: Iterable[str] = (),
    numeric: Iterable[str] = (),
) -> None:
    """``keep``: names shown whole (no wrap, no ellipsis); ``numeric``: right-aligned,
    no wrap; the rest fold when space runs out."""
    whole, numbers = set(keep), set(numeric)
    for name in names:
        if name in numbers:
            table.add_column(name, justify="right", no_wrap=True)
        elif name in whole:
            table.add_column(name, no_wrap=True)
        else:
            table.add_column(name, overflow="fold")


def test_name(test: str) -> str:
    """A paired test's short name on narrow terminals."""
    return TESTS.get(test, test) if narrow() else test
