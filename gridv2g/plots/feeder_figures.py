"""Figures of a grid result along the feeder: the feeder map coloured by the worst voltage and
line loading, the bus x time voltage heat map (per phase on unbalanced results), the voltage
along the feeder at the worst periods, and line loading.

Voltages are the ones the summary's ``vmin_pu`` / ``vmax_pu`` read
(:meth:`gridv2g.result.grid.Result.node_voltages`: per phase node on per-phase results, the
source bus left out). Object-oriented matplotlib only.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gridv2g.feeders.layout import branch_segments, bus_xy, distance_km
from gridv2g.plots.common import (
    LIMIT_STYLE,
    evenly,
    heat_strip,
    limit_line,
    period_edges,
    shade_periods,
    time_axis,
)
from gridv2g.plots.maps import feeder_map

#: colour per phase (1, 2, 3 = A, B, C)
PHASE_COLOURS = {1: "tab:blue", 2: "tab:orange", 3: "tab:green"}


def split_node(node: str) -> tuple[str, int | None]:
    """("bus", phase) of a node name "bus.phase"; (bus, None) for a bus name."""
    bus, _, phase = str(node).rpartition(".")
    if bus and phase.isdigit():
        return bus, int(phase)
    return str(node), None


def element_name(name: str) -> str:
    """A res_line index entry as the feeder's line name ("line.l115" -> "l115")."""
    kind, _, rest = str(name).partition(".")
    return rest if rest and kind in ("line", "transformer") else str(name)


def feeder_distance(feeder) -> tuple[pd.Series, str]:
    """Each bus's distance from the source and the axis label saying what it is: [km] along
    the lines, or, when every line has the same length in the data (IEEE 33 gives
    impedances, not lengths: 1 km each), the number of lines from the source."""
    dist = distance_km(feeder)
    lengths = feeder.line.loc[feeder.line.closed.astype(bool), "length_km"].astype(float)
    if len(lengths) and np.ptp(lengths.to_numpy()) == 0 and lengths.iloc[0] > 0:
        return (
            (dist / lengths.iloc[0]).round(),
            f"lines from the source (the data give every line {lengths.iloc[0]:g} km: no lengths)",
        )
    return dist, "distance from the source along the feeder [km]"


def worst_voltage_per_bus(result) -> pd.Series:
    """Each bus's lowest voltage over the horizon [pu] (lowest phase on per-phase results);
    the source bus (held at its set point) left out, as in the summary."""
    if len(result.res_bus_phase):
        vm = result.res_bus_phase.vm_pu
    else:
        vm = result.res_bus.vm_pu
    worst = vm.groupby(level="bus", sort=False).min()
    worst.index = worst.index.astype(str)
    return worst.drop(str(result.data.feeder.source_bus), errors="ignore")


def line_peak(result) -> tuple[pd.Series, str, bool]:
    """Each line's highest loading over the horizon: ([%] of its rating, label, True) where
    the feeder has ratings, else its highest current ([A], label, False). Index: the
    feeder's line names."""
    lines = result.res_line
    names = [element_name(n) for n in lines.index.get_level_values("line").unique()]
    loading = lines.loading_percent.groupby(level="line", sort=False).max()
    loading.index = names
    if loading.notna().any():
        return loading.dropna(), "highest loading over the horizon [% of rating]", True
    amps = 1000.0 * lines.i_ka.groupby(level="line", sort=False).max()
    amps.index = names
    return amps, "highest current over the horizon [A] (no line ratings)", False


def feeder_voltage_map(result) -> Figure:
    """The feeder at its coordinates, buses coloured by their lowest voltage over the
    horizon [pu], lines by their highest loading [% of rating] (highest current [A] on a
    feeder without ratings); the bus of the summary's ``vmin_pu`` is named."""
    feeder = result.data.feeder
    s = result.summary
    buses = worst_voltage_per_bus(result)
    lines, line_label, rated = line_peak(result)
    worst_bus, phase = split_node(s["vmin_bus"])
    where = f"bus {worst_bus}" + (f" phase {phase}" if phase else "")
    xy = bus_xy(feeder)
    own = feeder.bus[["x", "y"]].notna().all(axis=1).mean() >= 0.9
    rows = xy.y.nunique()
    height = 7.0 if own else min(7.0, 2.6 + 0.75 * rows)  # a one-line diagram: its rows
    fig = Figure(figsize=(10, height), layout="constrained")
    ax = fig.subplots()
    feeder_map(
        feeder,
        bus_values=buses,
        line_values=lines,
        ax=ax,
        title=(
            f"{feeder.name}: lowest voltage per bus and highest line "
            f"{'loading' if rated else 'current'} over the horizon\n"
            f"lowest {s['vmin_pu']:.4f} pu at {where}, "
            f"{pd.Timestamp(s['vmin_time']):%Y-%m-%d %H:%M}"
        ),
        bus_label="lowest voltage over the horizon [pu]",
        line_label=line_label,
        bus_cmap="RdYlBu",
        line_cmap="viridis",
        annotate=[worst_bus],
    )
    if len(xy) <= 40:  # a small feeder: every bus named
        for bus, (x, y) in xy.iterrows():
            if str(bus) != worst_bus:
                ax.annotate(
                    str(bus),
                    (x, y),
                    xytext=(0, -11),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7,
                    color="0.3",
                )
    return fig


def bus_order(feeder) -> list[str]:
    """The feeder's buses ordered by distance from the source (unreached buses last)."""
    dist = feeder_distance(feeder)[0]
    dist.index = dist.index.astype(str)
    return list(dist.fillna(np.inf).sort_values(kind="stable").index)


def voltage_matrix(result, phase: int | None = None) -> pd.DataFrame:
    """(bus x time) voltages [pu], buses ordered by distance from the source
    (:func:`bus_order`), the source bus (held at its set point) left out as in the summary:
    ``res_bus.vm_pu`` unstacked, or with ``phase`` that phase of ``res_bus_phase.vm_pu``
    (NaN where the bus has no such phase)."""
    if phase is None:
        wide = result.res_bus.vm_pu.unstack("time")
    else:
        wide = result.res_bus_phase.vm_pu.xs(phase, level="phase").unstack("time")
    wide.index = wide.index.astype(str)
    source = str(result.data.feeder.source_bus)
    return wide.reindex([b for b in bus_order(result.data.feeder) if b != source])


def voltage_norm(values: np.ndarray, limits) -> TwoSlopeNorm | None:
    """Colour scale of voltages: red below 1 pu, blue above, the band's edges included."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    if limits is not None:  # the band's edges inside the scale, so that they can be marked
        pad = 0.1 * (limits[1] - limits[0])
        lo, hi = min(lo, limits[0] - pad), max(hi, limits[1] + pad)
    if not lo < 1.0 < hi:
        return None
    return TwoSlopeNorm(vcenter=1.0, vmin=lo, vmax=hi)


def voltage_heatmap(result) -> Figure:
    """Bus x time voltage [pu] (one panel per phase on per-phase results), buses ordered by
    distance from the source; the case's limits marked on the colour bar."""
    phases = [None]
    if len(result.res_bus_phase):
        phases = sorted(result.res_bus_phase.index.get_level_values("phase").unique())
    wide = len(phases) > 1
    feeder = result.data.feeder
    return voltage_panels(
        {(f"phase {ph}" if wide else ""): voltage_matrix(result, ph) for ph in phases},
        result.voltage_limits(),
        ylabel="bus (ordered by distance from the source)",
        colour_label="voltage [pu]",
        title=f"{feeder.name}: voltage per bus and period (source bus {feeder.source_bus} "
        "not shown)" + (" and phase (grey: no such phase)" if wide else ""),
    )


def voltage_panels(mats: dict, limits, ylabel: str, colour_label: str, title: str) -> Figure:
    """Heat maps of (bus x time) voltage frames [pu], one panel per {panel title: frame}
    (same buses and periods in each; NaN, a phase a bus lacks, drawn grey), on one colour
    scale centred on the ``limits`` (dashed on the colour bar when given)."""
    frames = list(mats.values())
    norm = voltage_norm(np.concatenate([m.to_numpy().ravel() for m in frames]), limits)
    several = len(frames) > 1
    fig = Figure(figsize=(13 if several else 10, 7), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(frames), sharey=True, squeeze=False)[0])
    edges = mdates.date2num(period_edges(frames[0].columns).to_pydatetime())
    image = None
    for ax, (panel, m) in zip(axes, mats.items(), strict=True):
        image = heat_strip(ax, m.to_numpy(), edges, norm)
        time_axis(ax, maxticks=4 if several else 9)
        if panel:
            ax.set_title(panel)
        ax.set_facecolor("0.85")  # a phase a bus does not have
    buses = frames[0].index
    labels = evenly(range(len(buses)), 45)
    axes[0].set_yticks(labels, [f"bus {buses[i]}" for i in labels], fontsize=7)
    axes[0].set_ylabel(ylabel)
    cbar = fig.colorbar(image, ax=list(axes), shrink=0.9, label=colour_label)
    if limits is not None:
        for value in limits:
            if cbar.vmin <= value <= cbar.vmax:
                cbar.ax.axhline(value, color="black", ls="--", lw=1.2)
    band = f", limits {limits[0]:g}-{limits[1]:g} pu dashed on the colour bar" if limits else ""
    fig.suptitle(title + band)
    return fig


def profile_data(result, time) -> pd.DataFrame:
    """The voltage along the feeder at period ``time``: one row per node of
    :meth:`~gridv2g.result.grid.Result.node_voltages` plus the source bus: ``bus``,
    ``phase`` (0 on balanced results), ``distance`` (:func:`feeder_distance`), ``vm_pu``."""
    feeder = result.data.feeder
    dist = feeder_distance(feeder)[0]
    dist.index = dist.index.astype(str)
    if len(result.res_bus_phase):
        vm = result.res_bus_phase.vm_pu.xs(time, level="time")
        bus = vm.index.get_level_values("bus").astype(str)
        phase = list(vm.index.get_level_values("phase"))
    else:
        vm = result.res_bus.vm_pu.xs(time, level="time")
        bus = vm.index.astype(str)
        phase = [0] * len(vm)
    return pd.DataFrame(
        {
            "bus": bus,
            "phase": phase,
            "distance": dist.reindex(bus).to_numpy(),
            "vm_pu": vm.to_numpy(),
        }
    )


def _profile_panel(ax, result, time, label: str) -> None:
    feeder = result.data.feeder
    data = profile_data(result, time)
    segments = branch_segments(feeder)
    for ph, rows in data.groupby("phase", sort=True):
        phase = int(ph) or None
        at = pd.Series(rows.vm_pu.to_numpy(), index=rows.bus.to_numpy())
        dist = pd.Series(rows.distance.to_numpy(), index=rows.bus.to_numpy())
        both = segments.from_bus.astype(str).isin(at.index) & segments.to_bus.astype(str).isin(
            at.index
        )
        seg = segments[both]
        ends = np.stack(
            [
                np.column_stack([dist[seg.from_bus.astype(str)], at[seg.from_bus.astype(str)]]),
                np.column_stack([dist[seg.to_bus.astype(str)], at[seg.to_bus.astype(str)]]),
            ],
            axis=1,
        )
        colour = PHASE_COLOURS.get(phase, "tab:blue")
        ax.add_collection(LineCollection(ends, colors=colour, linewidths=1.0, alpha=0.7))
        ax.plot(
            rows.distance,
            rows.vm_pu,
            "o",
            ms=3.5,
            color=colour,
            label=f"phase {phase}" if phase else "bus voltage",
            gid=f"profile-{phase or 0}",
        )
    limits = result.voltage_limits()
    if limits is not None:
        limit_line(ax, limits[0], f"limits {limits[0]:g} / {limits[1]:g} pu")
        limit_line(ax, limits[1])
    ax.set_title(f"{label}: {pd.Timestamp(time):%Y-%m-%d %H:%M}")
    axis_label = feeder_distance(feeder)[1]
    ax.set_xlabel(axis_label)
    if axis_label.startswith("lines"):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.autoscale_view()
    ax.grid(alpha=0.3)


def voltage_profile(result) -> Figure:
    """Voltage [pu] against distance from the source at the period of the lowest voltage
    (the summary's ``vmin_time``) and of the highest (``vmax_time``), every branch drawn
    from its from-bus to its to-bus (as pandapower's ``plot_voltage_profile``), per phase on
    per-phase results; the case's limits dashed; the worst nodes named."""
    s = result.summary
    fig = Figure(figsize=(12, 5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key, what in ((axes[0], "vmin", "lowest"), (axes[1], "vmax", "highest")):
        _profile_panel(ax, result, pd.Timestamp(s[f"{key}_time"]), f"period of the {what} voltage")
        bus, phase = split_node(s[f"{key}_bus"])
        data = profile_data(result, pd.Timestamp(s[f"{key}_time"]))
        hit = data[(data.bus == bus) & ((data.phase == phase) if phase else True)]
        if len(hit):
            where = f"bus {bus}" + (f" phase {phase}" if phase else "")
            ax.annotate(
                f"{where}: {s[f'{key}_pu']:.4f} pu",
                (hit.distance.iloc[0], hit.vm_pu.iloc[0]),
                xytext=(-10, -18 if key == "vmin" else 12),
                textcoords="offset points",
                ha="right",
                fontsize=9,
                fontweight="bold",
                arrowprops={"arrowstyle": "->", "lw": 0.8},
            )
        ax.legend(loc="best", fontsize=8)
    axes[0].set_ylabel("voltage [pu]")
    fig.suptitle(f"{result.data.feeder.name}: voltage along the feeder")
    return fig


def line_loading(result, flagged: pd.Series | None = None, top: int = 15) -> Figure:
    """Left: the ``top`` lines by highest loading over the horizon [% of rating] (highest
    current [A] without ratings), 100 % dashed; right: the five most loaded lines per
    period. Transformers and unrated lines are left out where ratings exist."""
    peak, label, rated = line_peak(result)
    peak = peak.sort_values(ascending=False)
    shown = peak.head(top)
    lines = result.res_line
    column = "loading_percent" if rated else "i_ka"
    wide = lines[column].unstack("line")
    wide.columns = [element_name(c) for c in wide.columns]
    if not rated:
        wide = 1000.0 * wide
    fig = Figure(figsize=(12, 5), layout="constrained")
    ax_bar, ax_t = fig.subplots(1, 2, width_ratios=[1, 1.6])
    ax_bar.barh(range(len(shown)), shown.to_numpy(), color="tab:purple")
    ax_bar.set_yticks(range(len(shown)), [f"line {n}" for n in shown.index], fontsize=8)
    ax_bar.invert_yaxis()
    ax_bar.set_xlabel(label)
    unit = "% of rating" if rated else "A"
    for name in shown.index[:5]:
        ax_t.plot(wide.index, wide[name].to_numpy(), drawstyle="steps-post", label=f"line {name}")
    if rated:
        ax_bar.axvline(100.0, **LIMIT_STYLE, label="rating (100 %)")
        limit_line(ax_t, 100.0, "rating (100 %)")
        ax_bar.legend(loc="lower right", fontsize=8)
    shade_periods(ax_t, flagged)
    ax_t.set_ylabel(f"loading [{unit}]" if rated else "current [A]")
    time_axis(ax_t)
    ax_t.legend(loc="best", fontsize=8)
    ax_t.grid(alpha=0.3)
    n = len(peak)
    what = f"{min(top, n)} most loaded of {n} rated lines" if rated else "no line ratings"
    ax_bar.set_title(f"highest over the horizon ({what})")
    ax_t.set_title("the five most loaded lines per period")
    fig.suptitle(f"{result.data.feeder.name}: line {'loading' if rated else 'current'}")
    return fig
