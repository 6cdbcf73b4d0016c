"""Charts as inline SVG, drawn with matplotlib (no pyplot: no global state, no GUI
backend). Text is drawn as paths, so the file needs no fonts; each chart salts its SVG
ids with its own key, so several charts can live in one page without id clashes."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from benchwarden.bench.report.html import esc
from benchwarden.bench.stats import Interval

COLORS = ("#2b6cb0", "#dd6b20", "#2f855a", "#9b2c2c", "#6b46c1", "#b7791f", "#2c7a7b")
_BAR_SPAN = 0.8  # share of a group's height the bars of all series take


def _svg(fig: Figure, key: str, title: str) -> str:
    buf = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": key, "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    svg = text[text.index("<svg") :]
    return f'<figure class="chart" data-chart="{esc(key)}" aria-label="{esc(title)}">{svg}</figure>'


def _height(groups: int, series: int) -> float:
    bars: float = max(1, groups) * math.pow(max(1, series), 0.8)
    return 1.0 + 0.28 * bars


def _finite(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def _group_axes(ax: Axes, labels: Sequence[str], n_series: int) -> tuple[list[float], float]:
    ys = [float(i) for i in range(len(labels))]
    ax.set_yticks(ys, labels=list(labels))
    ax.invert_yaxis()
    ax.grid(axis="x", color="#e2e8f0", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ys, _BAR_SPAN / max(1, n_series)


def interval_chart(
    key: str,
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[Interval | None]],
    *,
    xlabel: str = "%",
    percent: bool = True,
    signed: bool = False,
) -> str:
    """Horizontal bars per label and series, each with its interval as an error bar.
    ``signed`` for differences (the axis spans -100..100 in percent)."""
    scale = 100.0 if percent else 1.0
    fig = Figure(figsize=(7.5, _height(len(labels), len(series))), layout="constrained")
    ax = fig.add_subplot()
    ys, height = _group_axes(ax, labels, len(series))
    for j, values in enumerate(series.values()):
        offset = (j - (len(series) - 1) / 2) * height
        for y, iv in zip(ys, values, strict=True):
            if iv is None or not _finite(iv.estimate):
                continue
            est = iv.estimate * scale
            lo = max(0.0, est - iv.low * scale) if _finite(iv.low) else 0.0
            hi = max(0.0, iv.high * scale - est) if _finite(iv.high) else 0.0
            ax.barh(
                y + offset,
                est,
                height=height * 0.9,
                color=COLORS[j % len(COLORS)],
                xerr=[[lo], [hi]],
                error_kw={"ecolor": "#1a202c", "elinewidth": 1, "capsize": 3},
            )
            _value(ax, y + offset, est, iv.high * scale if _finite(iv.high) else est, percent)
    if percent:
        ax.set_xlim(-100 if signed else 0, 100)
    if signed:
        ax.axvline(0, color="#4a5568", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=11)
    _legend(ax, series)
    return _svg(fig, key, title)


def bar_chart(
    key: str,
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    xlabel: str = "",
    percent: bool = False,
    xlim: tuple[float, float] | None = None,
) -> str:
    """Horizontal grouped bars (no intervals): pass@k, agreement, kappa."""
    scale = 100.0 if percent else 1.0
    fig = Figure(figsize=(7.5, _height(len(labels), len(series))), layout="constrained")
    ax = fig.add_subplot()
    ys, height = _group_axes(ax, labels, len(series))
    for j, values in enumerate(series.values()):
        offset = (j - (len(series) - 1) / 2) * height
        for y, v in zip(ys, values, strict=True):
            if v is not None and _finite(v):
                ax.barh(y + offset, v * scale, height=height * 0.9, color=COLORS[j % len(COLORS)])
                _value(ax, y + offset, v * scale, max(0.0, v * scale), percent)
    if xlim is not None:
        ax.set_xlim(*xlim)
    elif percent:
        ax.set_xlim(0, 100)
    ax.axvline(0, color="#4a5568", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=11)
    _legend(ax, series)
    return _svg(fig, key, title)


def panels(
    key: str, title: str, labels: Sequence[str], metrics: Mapping[str, Sequence[float | None]]
) -> str:
    """One small bar panel per metric (cost, latency, tokens), labels on each."""
    n = max(1, len(metrics))
    fig = Figure(figsize=(3.2 * n, 1.2 + 0.38 * max(1, len(labels))), layout="constrained")
    for i, (metric, values) in enumerate(metrics.items()):
        ax = fig.add_subplot(1, n, i + 1)
        ys, _ = _group_axes(ax, labels if i == 0 else [""] * len(labels), 1)
        finite = [v for v in values if v is not None and _finite(v)]
        for y, v in zip(ys, values, strict=True):
            if v is not None and _finite(v):
                ax.barh(y, v, height=0.6, color=COLORS[int(y) % len(COLORS)])
                ax.annotate(
                    f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}",
                    (v, y),
                    xytext=(3, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=8,
                )
        ax.set_xlim(0, (max(finite) if finite and max(finite) > 0 else 1.0) * 1.25)
        ax.set_title(metric, fontsize=10)
    fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    return _svg(fig, key, title)


def _value(ax: Axes, y: float, value: float, right: float, percent: bool) -> None:
    """The bar's value as text, just right of its bar or error bar."""
    text = f"{value:.1f}" if percent else f"{value:.2f}"
    ax.annotate(
        text,
        (max(right, value, 0.0), y),
        xytext=(4, 0),
        textcoords="offset points",
        va="center",
        fontsize=7.5,
        color="#2d3748",
    )


def _legend(ax: Axes, series: Mapping[str, object]) -> None:
    """Below the axes (outside them), only when there is more than one series."""
    from matplotlib.patches import Patch

    if len(series) < 2:
        return
    handles = [Patch(color=COLORS[j % len(COLORS)], label=n) for j, n in enumerate(series)]
    fig = ax.get_figure()
    if isinstance(fig, Figure):
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=min(4, len(handles)),
            frameon=False,
            fontsize=9,
        )
