"""Small HTML builders for the report. Every piece of text goes through ``esc``: run
names, model names and error messages come from users and providers."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

from benchwarden.bench.stats import Interval


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def pct(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{100 * value:.1f}"


def num(value: float | None, digits: int = 2) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:.{digits}f}"


def ci(interval: Interval | None) -> str:
    """``52.0 (40.1-63.7)`` in percent."""
    if interval is None:
        return "—"
    return f"{pct(interval.estimate)} ({pct(interval.low)}–{pct(interval.high)})"


class Raw(str):
    """HTML that is already safe (built here), so ``table`` does not escape it again."""

    __slots__ = ()


def cell(value: object) -> str:
    return str(value) if isinstance(value, Raw) else esc(value)


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    numeric_from: int = 1,
    caption: str | None = None,
) -> str:
    """A table; columns from ``numeric_from`` on are right-aligned."""
    head = "".join(
        f'<th class="{"n" if i >= numeric_from else ""}">{esc(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"n" if i >= numeric_from else ""}">{cell(v)}</td>'
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def section(key: str, title: str, body: str) -> str:
    return f'<section id="{esc(key)}"><h2>{esc(title)}</h2>{body}</section>'


CSS = """
:root { --fg:#1d2430; --muted:#5b6472; --line:#d9dee5; --bg:#fff; --accent:#2b6cb0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); margin: 0; }
header { padding: 18px 28px; border-bottom: 1px solid var(--line); background: #f6f8fa; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: var(--muted); }
nav { padding: 8px 28px; border-bottom: 1px solid var(--line); font-size: 13px; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
main { padding: 0 28px 40px; max-width: 1200px; }
section { margin-top: 28px; }
h2 { font-size: 17px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 13px; }
caption { text-align: left; color: var(--muted); padding-bottom: 4px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: var(--muted); font-size: 13px; }
figure.chart { margin: 10px 0 18px; }
figure.chart svg { max-width: 100%; height: auto; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; font-size: 12px; }
.bad { color: #b42318; }
"""

# One line of script: the report works without it (it only marks the section in view).
JS = """
document.querySelectorAll('nav a').forEach(function (a) {
  a.addEventListener('click', function () {
    document.querySelectorAll('nav a').forEach(function (b) { b.style.fontWeight = ''; });
    a.style.fontWeight = '700';
  });
});
"""


def page(title: str, subtitle: str, toc: Sequence[tuple[str, str]], body: str) -> str:
    nav = "".join(f'<a href="#{esc(k)}">{esc(t)}</a>' for k, t in toc)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # Nothing may be fetched: the report is one file that opens offline.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main><script>{JS}</script></body></html>\n"
    )
