"""A feeder map: buses at their coordinates (:func:`gridv2g.feeders.layout.bus_xy`), branches
as segments, buses and/or lines coloured by a value (worst voltage, loading, hosting
capacity). Object-oriented matplotlib only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from gridv2g.feeders.layout import branch_segments, bus_xy


def feeder_map(
    feeder,
    bus_values: pd.Series | None = None,
    line_values: pd.Series | None = None,
    ax=None,
    title: str = "",
    bus_label: str = "",
    line_label: str = "",
    bus_cmap: str = "viridis",
    line_cmap: str = "plasma",
    bus_range: tuple[float, float] | None = None,
    line_range: tuple[float, float] | None = None,
    annotate=(),
) -> Figure:
    """Draw ``feeder`` on ``ax`` (a new figure if None); returns the figure.

    ``bus_values``: a Series by bus name (buses without a value are drawn small and grey);
    ``line_values``: a Series by line name (``feeder.line`` index; transformers and lines
    without a value are grey). Each coloured layer gets a colour bar labelled
    ``bus_label`` / ``line_label`` (put the unit there); ``*_range`` fix the colour scale.
    ``annotate``: bus names written next to their marker (e.g. the worst bus). The source
    bus is a black square."""
    if ax is None:
        ax = Figure(figsize=(9, 6), layout="constrained").subplots()
    fig = ax.figure
    xy = bus_xy(feeder)
    seg = branch_segments(feeder, xy)
    ends = seg[["x0", "y0", "x1", "y1"]].to_numpy(float).reshape(-1, 2, 2)
    names = seg.element.str.split(".", n=1).str[1]
    values = (
        line_values.reindex(names).to_numpy(float)
        if line_values is not None
        else np.full(len(seg), np.nan)
    )
    known = np.isfinite(values) & seg.element.str.startswith("line.").to_numpy()
    ax.add_collection(LineCollection(ends[~known], colors="0.7", linewidths=1.2, zorder=1))
    if known.any():
        lc = LineCollection(ends[known], cmap=line_cmap, linewidths=2.6, zorder=2)
        lc.set_array(values[known])
        if line_range is not None:
            lc.set_clim(*line_range)
        ax.add_collection(lc)
        fig.colorbar(lc, ax=ax, label=line_label, shrink=0.8)

    bv = (
        bus_values.reindex(xy.index).to_numpy(float)
        if bus_values is not None
        else np.full(len(xy), np.nan)
    )
    has = np.isfinite(bv)
    ax.scatter(xy.x[~has], xy.y[~has], s=8, color="0.6", zorder=3)
    if has.any():
        lo, hi = bus_range if bus_range is not None else (None, None)
        sc = ax.scatter(
            xy.x[has], xy.y[has], c=bv[has], cmap=bus_cmap, vmin=lo, vmax=hi, s=36, zorder=4
        )
        sc.set_edgecolor("0.2")
        sc.set_linewidth(0.4)
        fig.colorbar(sc, ax=ax, label=bus_label, shrink=0.8)
    src = feeder.source_bus
    ax.scatter([xy.x[src]], [xy.y[src]], marker="s", s=70, color="black", zorder=5, label="source")
    for bus in annotate:
        if bus in xy.index:
            ax.annotate(
                f"bus {bus}",
                (xy.x[bus], xy.y[bus]),
                xytext=(6, 6),
                textcoords="offset points",
                fontsize=9,
                fontweight="bold",
                zorder=6,
            )
    ax.autoscale_view()
    # surveyed coordinates keep their proportions; a one-line diagram fills the axes
    own = feeder.bus[["x", "y"]].notna().all(axis=1).mean() >= 0.9
    ax.set_aspect("equal" if own else "auto")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="best", fontsize=8)
    ax.set_title(title or f"{feeder.name}: feeder map")
    return fig
