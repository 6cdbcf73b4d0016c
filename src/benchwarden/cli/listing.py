"""What every list command prints: a table on a terminal, plain rows in a pipe, JSON.

- ``--json``: the rows as JSON objects (the raw values: numbers, nulls, lists).
- stdout not a terminal: one tab-separated line per row, no header, no title, no
  color, no hints, values whole (tabs and newlines inside a
  value become spaces; lists are joined with ``,``; null is empty). Several sections
  (``monitor report``'s findings, ``suites``' languages) follow one another after a
  blank line.
- a terminal: a table in which a name or id is never broken across lines at any
  width. Every column is given at least its longest unbreakable piece (the whole
  value for ``id`` and ``number`` columns, the longest word for ``text``); when
  those do not fit the terminal, each row is printed as ``header: value`` lines
  instead, never wrapped by us (a value wider than the terminal is left to it).
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from benchwarden.cli.common import console

Kind = Literal["id", "number", "text"]
Row = Mapping[str, Any]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (every field).")]


@dataclass(frozen=True, slots=True)
class Column:
    """``key`` names the value in JSON; ``header`` titles the table column; ``show``
    turns the value into the table's cell (default: as plain rows show it)."""

    key: str
    header: str = ""
    kind: Kind = "text"
    show: Callable[[Any], str] | None = None

    @property
    def title(self) -> str:
        return self.header or self.key.replace("_", " ")

    def cell(self, value: Any) -> str:
        return self.show(value) if self.show is not None else plain(value)


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    columns: Sequence[Column]
    rows: Sequence[Row]
    notes: Sequence[str] = ()  # hints under the table, on a terminal only


def plain(value: Any) -> str:
    """A value as one field of a plain row: whole, on one line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(plain(v) for v in value)
    return " ".join(str(value).replace("\t", " ").splitlines())


def is_terminal() -> bool:
    return sys.stdout.isatty()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_rows(sections: Sequence[Section]) -> None:
    out = sys.stdout
    for number, section in enumerate(sections):
        if number and section.rows:
            out.write("\n")
        for row in section.rows:
            out.write("\t".join(plain(row.get(c.key)) for c in section.columns) + "\n")
    out.flush()


GAP = 2  # spaces between columns


def _unbreakable(column: Column, cells: Sequence[str]) -> int:
    """The narrowest width at which no cell of the column breaks inside a name or word."""
    if column.kind != "text":
        pieces = [column.title, *cells]
    else:
        pieces = [word for text in (column.title, *cells) for word in text.split()]
    return max((len(p) for p in pieces), default=1)


def fit_widths(
    columns: Sequence[Column], cells: Sequence[Sequence[str]], room: int
) -> list[int] | None:
    """Column widths that fit ``room``: every column as wide as its longest cell, then
    the text columns narrowed (the one with most to spare first) down to their longest
    word. None when even that does not fit. Pure."""
    natural = [max([len(c.title), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    least = [_unbreakable(c, [row[i] for row in cells]) for i, c in enumerate(columns)]
    widths = list(natural)
    excess = sum(widths) + GAP * (len(widths) - 1) - room
    while excess > 0:
        spare = [i for i, c in enumerate(columns) if c.kind == "text" and widths[i] > least[i]]
        if not spare:
            return None
        widest = max(spare, key=lambda i: widths[i] - least[i])
        cut = min(excess, widths[widest] - least[widest])
        widths[widest] -= cut
        excess -= cut
    return widths


def _table(section: Section, cells: Sequence[Sequence[str]], widths: Sequence[int]) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        highlight=False,
    )
    for column, width in zip(section.columns, widths, strict=True):
        if column.kind == "text":
            table.add_column(column.title, width=width, overflow="fold")
        else:
            justify: Literal["left", "right"] = "right" if column.kind == "number" else "left"
            table.add_column(column.title, width=width, no_wrap=True, justify=justify)
    for row in cells:
        table.add_row(*(Text(c) for c in row))
    return table


def record_lines(columns: Sequence[Column], row: Sequence[str], width: int) -> list[str]:
    """One row as ``header: value`` lines. Text wraps between words under its value;
    a name or id stays on its line, even past ``width`` (the terminal shows the rest).
    Pure."""
    label = max(len(c.title) for c in columns)
    lines: list[str] = []
    for column, cell in zip(columns, row, strict=True):
        head = f"{column.title:>{label}}: "
        if column.kind != "text" or len(head) + len(cell) <= width:
            lines.append(head + cell)
            continue
        wrapped = textwrap.wrap(
            cell,
            width=max(width - len(head), 1),
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines += [head + wrapped[0], *(" " * len(head) + w for w in wrapped[1:])]
    return lines


def _records(section: Section, cells: Sequence[Sequence[str]]) -> None:
    for row in cells:
        console.print()
        for line in record_lines(section.columns, row, console.width):
            console.print(Text(line), soft_wrap=True)


def print_tables(sections: Sequence[Section]) -> None:
    for section in sections:
        cells = [[c.cell(row.get(c.key)) for c in section.columns] for row in section.rows]
        widths = fit_widths(section.columns, cells, console.width)
        # The title never wraps either (it may name a database URL or a path).
        console.print(Text(section.title, style="bold"), soft_wrap=True)
        if not cells:
            console.print("(none)", style="dim", highlight=False)
        elif widths is not None:
            console.print(_table(section, cells, widths))
        else:
            _records(section, cells)
        for note in section.notes:
            console.print(note, style="dim", highlight=False)


def emit(*sections: Section, as_json: bool = False, json_data: Any = None) -> None:
    """Print ``sections`` the way the output is read: JSON (``json_data`` when given,
    else the first section's rows), plain rows in a pipe, tables on a terminal."""
    if as_json:
        print_json(json_data if json_data is not None else [dict(r) for r in sections[0].rows])
    elif is_terminal():
        print_tables(sections)
    else:
        print_rows(sections)
