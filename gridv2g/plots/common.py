"""Helpers shared by the result figures: limit lines, flagged-period shading, time axes.

Object-oriented matplotlib only: every helper draws on the ``Axes`` it is given.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd

#: colour and style of a limit the plan is held to (drawn dashed)
LIMIT_STYLE = {"color": "tab:red", "ls": "--", "lw": 1.1}
#: colour of periods flagged by a replay
FLAG_COLOUR = "tab:orange"


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
