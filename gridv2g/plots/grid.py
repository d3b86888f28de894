"""Matplotlib figures of a grid result, drawn from its tables only.

Object-oriented matplotlib (``Figure`` objects, no pyplot state, no backend switch): a
figure is returned for a notebook to show; a result's ``figures(directory)`` and its
report (:func:`gridv2g.report.write_html`) write them as PNG files.
The network figures are in :mod:`gridv2g.plots.feeder_figures`, the stations' and EVs' in
:mod:`gridv2g.plots.fleet_figures`; :func:`grid_figure_set` puts them in report order.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from gridv2g.plots.common import limit_line, shade_periods, time_axis
from gridv2g.plots.feeder_figures import (
    feeder_voltage_map,
    line_loading,
    split_node,
    voltage_heatmap,
    voltage_profile,
)
from gridv2g.plots.fleet_figures import ev_energy, stations_against_limits


def substation_and_voltage(
    result, ax_power=None, ax_voltage=None, flagged: pd.Series | None = None
) -> Figure:
    """Top: substation active [kW] and reactive [kvar] power per period, the DER output
    [kW], and with stations the substation without them (substation minus the stations' net
    import: the losses they cause are not taken out). Bottom: the lowest and highest node
    voltage [pu] per period as the summary defines them
    (:meth:`~gridv2g.result.grid.Result.node_voltages`: every bus but the source, per phase
    on per-phase results), the case's limits dashed, the summary's worst nodes named.
    ``flagged``: bool by period, the periods a replay flagged (shaded)."""
    if ax_power is None or ax_voltage is None:
        fig = Figure(figsize=(10, 7), layout="constrained")
        ax_power, ax_voltage = fig.subplots(2, 1, sharex=True)
    fig = ax_power.figure
    s = result.summary
    sub = result.res_ext_grid
    ax_power.plot(
        sub.index, sub.p_kw.to_numpy(), drawstyle="steps-post", lw=1.8, label="substation P [kW]"
    )
    ax_power.plot(
        sub.index,
        sub.q_kvar.to_numpy(),
        drawstyle="steps-post",
        lw=1.0,
        color="tab:gray",
        label="substation Q [kvar]",
    )
    if len(result.res_station):
        stations = result.res_station.p_kw.astype(float).groupby("time").sum()
        without = sub.p_kw - stations.reindex(sub.index, fill_value=0.0)
        ax_power.plot(
            without.index,
            without.to_numpy(),
            drawstyle="steps-post",
            ls="--",
            color="tab:blue",
            label="substation P without the stations [kW]",
        )
    if len(result.res_der):
        der = result.res_der.p_kw.groupby("time").sum()
        ax_power.plot(
            der.index,
            der.to_numpy(),
            drawstyle="steps-post",
            color="tab:green",
            label="DER output P [kW]",
        )
    shade_periods(ax_power, flagged)
    ax_power.set_ylabel("power [kW, kvar]")
    ax_power.set_title("substation power")
    ax_power.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax_power.grid(alpha=0.3)

    nodes = result.node_voltages()
    phase = bool(len(result.res_bus_phase))
    what = "phase voltage" if phase else "bus voltage"
    lo, hi = nodes.min(axis=1), nodes.max(axis=1)
    ax_voltage.plot(lo.index, lo.to_numpy(), color="tab:red", label=f"lowest {what}")
    ax_voltage.plot(hi.index, hi.to_numpy(), color="tab:blue", label=f"highest {what}")
    limits = result.voltage_limits()
    if limits is not None:
        limit_line(ax_voltage, limits[0], f"limits {limits[0]:g} / {limits[1]:g} pu")
        limit_line(ax_voltage, limits[1])
    times = nodes.index
    for key, dy in (("vmin", -1), ("vmax", 1)):
        bus, ph = split_node(s[f"{key}_bus"])
        where = f"bus {bus}" + (f" phase {ph}" if ph else "")
        t = pd.Timestamp(s[f"{key}_time"])
        right = t > times[len(times) // 2]  # label on the side with room
        ax_voltage.plot([t], [s[f"{key}_pu"]], "o", color="black", ms=5, zorder=4)
        ax_voltage.annotate(
            f"{where}: {s[f'{key}_pu']:.4f} pu",
            (t, s[f"{key}_pu"]),
            xytext=(-8 if right else 8, 14 * dy),
            textcoords="offset points",
            ha="right" if right else "left",
            va="bottom" if dy > 0 else "top",
            fontsize=9,
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.6", "alpha": 0.9},
            zorder=5,
        )
    ax_voltage.margins(y=0.18)
    shade_periods(ax_voltage, flagged)
    ax_voltage.set_ylabel("voltage [pu]")
    ax_voltage.set_title(
        f"lowest and highest {what} (every bus but the source {result.data.feeder.source_bus})"
    )
    ax_voltage.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax_voltage.grid(alpha=0.3)
    time_axis(ax_voltage)
    fig.suptitle(f"{result.name}: substation power and voltage band")
    return fig


def fleet_on_feeder(result, plans=None) -> Figure:
    """Each fleet station's net import [kW] and the voltage [pu] at its bus, with the case's
    voltage limits; ``plans``: an optional :func:`gridv2g.problems.fleet_grid.fleet_plan`-style
    {name: (time x station) kW frame} drawn beside the joint schedule."""
    fig = Figure(figsize=(10, 6), layout="constrained")
    ax_p, ax_v = fig.subplots(2, 1, sharex=True)
    fleet = result.res_station[result.res_station.fleet.astype(bool)]
    site = fleet.p_kw.unstack("station")
    for name in site.columns:
        ax_p.step(site.index, site[name].to_numpy(), where="post", label=f"{name}, joint plan")
        for plan, frame in (plans or {}).items():
            ax_p.step(
                frame.index,
                frame[name].to_numpy(),
                where="post",
                alpha=0.6,
                label=f"{name}, {plan}",
            )
    ax_p.set_ylabel("net import [kW]")
    ax_p.set_title("fleet stations' net import")
    ax_p.legend(loc="upper left", fontsize=8)
    ax_p.grid(alpha=0.3)
    bus_of = fleet.bus.groupby("station").first()
    vm = result.res_bus.vm_pu.unstack("bus")
    for name in site.columns:
        bus = bus_of[name]
        ax_v.plot(vm.index, vm[bus].to_numpy(), label=f"bus {bus} ({name})")
    limits = result.voltage_limits()
    if limits is not None:
        limit_line(ax_v, limits[0], f"limits {limits[0]:g} / {limits[1]:g} pu")
        limit_line(ax_v, limits[1])
    ax_v.set_ylabel("voltage [pu]")
    ax_v.set_title("voltage at the stations' buses")
    ax_v.legend(loc="lower left", fontsize=8)
    ax_v.grid(alpha=0.3)
    time_axis(ax_v)
    fig.suptitle(f"{result.name}: EV fleet on the feeder")
    return fig


def uncontrolled_vs_optimized(comparison: dict, limits=(0.95, 1.05)) -> Figure:
    """Seed 004's Fig. 4b/7 as one figure: substation load and the tabulated phase voltages,
    uncontrolled charging against the optimized plan, both replayed in OpenDSS
    (:func:`gridv2g.validation.compare_uncontrolled`'s ``load`` and ``voltage``)."""
    load, voltage = comparison["load"], comparison["voltage"]
    nodes = list(dict.fromkeys(n for n, _ in voltage.columns))
    fig = Figure(figsize=(9, 3.2 * (1 + len(nodes))), layout="constrained")
    axes = fig.subplots(1 + len(nodes), 1, sharex=True)
    ax = axes[0]
    for case, style in (("uncontrolled", "--"), ("optimized", "-")):
        ax.plot(load.index, load[case], style, label=case)
    ax.set_ylabel("substation [kW]")
    ax.set_title("Feeder load, uncontrolled vs optimized charging (OpenDSS)")
    ax.legend()
    for ax, node in zip(axes[1:], nodes, strict=True):
        for case, style in (("uncontrolled", "--"), ("optimized", "-")):
            ax.plot(voltage.index, voltage[(node, case)], style, label=case)
        for lim in limits:
            ax.axhline(lim, color="grey", lw=0.8, ls=":")
        ax.set_ylabel(f"V bus {node} [pu]")
        ax.set_title(f"Phase voltage at bus {node.replace('.', ' phase ')}")
        ax.legend()
    axes[-1].set_xlabel("time")
    return fig


def grid_figure_set(result, flagged: pd.Series | None = None) -> dict[str, Figure]:
    """The standard figures of a grid result, {file stem: Figure}, in report order: the
    substation and the voltage band, the feeder map, the voltage heat map, the voltage along
    the feeder, line loading, and with stations and EVs their power against limits and the
    EVs' energy against targets. ``flagged``: bool by period (a replay's flags), shaded on
    time axes."""
    figures = {
        "substation_voltage": substation_and_voltage(result, flagged=flagged),
        "feeder_map": feeder_voltage_map(result),
        "voltage_heatmap": voltage_heatmap(result),
        "voltage_profile": voltage_profile(result),
        "line_loading": line_loading(result, flagged),
    }
    if len(result.res_station):
        figures["stations"] = stations_against_limits(result, flagged)
    if len(result.res_ev):
        figures["ev_energy"] = ev_energy(result, flagged)
    return figures


def save(figures: dict[str, Figure], directory: Path) -> list[Path]:
    """Write {file name: figure} into ``directory`` (PNG, 110 dpi); returns the paths."""
    paths = []
    for name, fig in figures.items():
        paths.append(Path(directory) / name)
        fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
    return paths
