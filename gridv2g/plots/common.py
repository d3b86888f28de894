"""What every standard figure shares: a title naming the case, axis labels with units in
brackets, one legend for an axes and its twin, limits drawn as labelled dashed lines,
flagged-period shading, time axes.

The standard (issue 12, checked by ``tests/test_figures_standard.py`` and
``tests/test_report.py``): every axes has a title or its figure a suptitle; x and y labels are
set, y labels carry a unit in brackets (a heat map or a feeder map excepted); an axes with
more than one line has a legend. Object-oriented matplotlib only: every helper draws on the
``Axes`` it is given."""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd

#: colour of limits (import/export limits, converter ratings, voltage bands)
LIMIT_COLOR = "firebrick"
#: colour and style of a limit the plan is held to (drawn dashed)
LIMIT_STYLE = {"color": LIMIT_COLOR, "ls": "--", "lw": 1.1}
#: colour of prices on twin axes
PRICE_COLOR = "goldenrod"
#: colour of periods flagged by a replay
FLAG_COLOUR = "tab:orange"


def case_name(result) -> str:
    """The case a result belongs to (its summary's ``case``, its case's name), else ''."""
    summary = getattr(result, "summary", None) or {}
    case = getattr(result, "case", None)
    return str(summary.get("case") or getattr(case, "name", "") or "")


def titled(name: str, what: str) -> str:
    """``"<case>: <what>"``, or ``what`` alone when there is no case name."""
    return f"{name}: {what}" if name else what


def currency_of(result, default: str = "currency units") -> str:
    """The currency of a result's money figures (its summary's, else its case's)."""
    summary = getattr(result, "summary", None) or {}
    case = getattr(result, "case", None)
    return str(summary.get("currency") or getattr(case, "currency", None) or default)


def merged_legend(ax, *others, **kwargs):
    """One legend on ``ax`` holding the handles of ``ax`` and of ``others`` (its twin
    axes), so a price on a twin axis is in the same legend as the powers."""
    handles, labels = ax.get_legend_handles_labels()
    for other in others:
        h, lab = other.get_legend_handles_labels()
        handles, labels = handles + h, labels + lab
    kwargs.setdefault("fontsize", 8)
    return ax.legend(handles, labels, **kwargs)


def limit_step(ax, values: pd.Series, label: str, sign: float = 1.0) -> bool:
    """Draw a time-varying limit [the axis' unit] as a dashed step line (``sign=-1`` for an
    export limit drawn below zero); nothing when it is NaN everywhere (no limit). Returns
    whether it was drawn."""
    values = pd.Series(values, dtype=float)
    if not np.isfinite(values.to_numpy()).any():
        return False
    ax.step(
        values.index,
        sign * values.to_numpy(),
        where="post",
        color=LIMIT_COLOR,
        ls="--",
        lw=1.0,
        label=label,
    )
    return True


def limit_line(ax, value: float | None, label: str | None = None, **style) -> None:
    """A horizontal dashed limit at ``value`` (nothing when None or not finite)."""
    if value is None or not np.isfinite(value):
        return
    ax.axhline(value, **{**LIMIT_STYLE, **style}, label=label, zorder=1.5)


def period_edges(times: pd.Index, minutes: float | None = None) -> pd.DatetimeIndex:
    """The T + 1 edges of T periods starting at ``times`` (each ``minutes`` long; inferred
    from the spacing when None)."""
    times = pd.DatetimeIndex(times)
    if minutes is None:
        minutes = (times[1] - times[0]).total_seconds() / 60.0 if len(times) > 1 else 60.0
    return times.append(pd.DatetimeIndex([times[-1] + pd.Timedelta(minutes=minutes)]))


def shade_periods(ax, flagged: pd.Series | None, label: str = "flagged by a replay") -> int:
    """Shade each run of consecutive periods where ``flagged`` (bool by period start) is
    True; the first span carries ``label``. Returns the number of flagged periods."""
    if flagged is None or not len(flagged) or not flagged.any():
        return 0
    flags = flagged.astype(bool).to_numpy()
    edges = period_edges(flagged.index)
    padded = np.concatenate([[False], flags, [False]])
    starts = np.flatnonzero(padded[1:] & ~padded[:-1])
    ends = np.flatnonzero(~padded[1:] & padded[:-1])
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        ax.axvspan(
            edges[a], edges[b], color=FLAG_COLOUR, alpha=0.18, lw=0, label=label if i == 0 else None
        )
    return int(flags.sum())


def time_axis(ax, label: str = "time", maxticks: int = 9) -> None:
    """Concise date ticks (at most ``maxticks``) and an x label on a time axis."""
    locator = mdates.AutoDateLocator(maxticks=maxticks)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel(label)


def evenly(items, n: int) -> list:
    """At most ``n`` of ``items``, evenly spaced (all of them when there are fewer)."""
    items = list(items)
    if len(items) <= n:
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, n).round().astype(int)]


def heat_strip(ax, matrix: np.ndarray, edges: np.ndarray, norm):
    """Draw a (row x period) matrix as a heat map between the period ``edges`` (date numbers)
    on ``ax``, rows top to bottom, on the shared colour ``norm``; returns the image (for the
    colour bar)."""
    image = ax.imshow(
        matrix,
        aspect="auto",
        interpolation="nearest",
        cmap="RdYlBu",
        norm=norm,
        extent=(edges[0], edges[-1], len(matrix) - 0.5, -0.5),
    )
    ax.xaxis_date()
    return image
