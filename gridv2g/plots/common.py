"""What every standard figure shares: a title naming the case, axis labels with units in
brackets, one legend for an axes and its twin, limits drawn as labelled lines.

The standard (issue 12, checked by ``tests/test_figures_standard.py``): every axes has a
title or its figure a suptitle; x and y labels are set, y labels carry a unit in brackets
(a heat map or a feeder map excepted); an axes with more than one line has a legend."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: colour of limits (import/export limits, converter ratings, voltage bands)
LIMIT_COLOR = "firebrick"
#: colour of prices on twin axes
PRICE_COLOR = "goldenrod"


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


def time_axis(ax, label: str = "time") -> None:
    """Label the x axis as time, with concise date labels (call after plotting dates)."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel(label)
