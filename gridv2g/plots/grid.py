"""Matplotlib figures of a grid result, drawn from its tables only.

Object-oriented matplotlib (``Figure`` objects, no pyplot state, no backend switch): a
figure is returned for a notebook to show and written to a file by :func:`result_figures`.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure


def substation_and_voltage(result, ax_power=None, ax_voltage=None) -> Figure:
    """Substation power [kW] and the min / max bus voltage [pu] per period."""
    if ax_power is None or ax_voltage is None:
        ax_power, ax_voltage = Figure(figsize=(9, 5)).subplots(2, 1, sharex=True)
    sub = result.res_ext_grid.p_kw
    ax_power.plot(sub.index, sub.to_numpy(), label="substation p_kw")
    if len(result.res_der):
        der = result.res_der.p_kw.groupby("time").sum()
        ax_power.plot(der.index, der.to_numpy(), label="DER p_kw")
    ax_power.set_ylabel("kW")
    ax_power.legend()
    bus = result.res_bus
    # per-phase results: the extremes are phase voltages
    lo = bus.vm_min_pu if "vm_min_pu" in bus else bus.vm_pu
    hi = bus.vm_max_pu if "vm_max_pu" in bus else bus.vm_pu
    vmin, vmax = lo.unstack("bus").min(axis=1), hi.unstack("bus").max(axis=1)
    ax_voltage.plot(vmin.index, vmin.to_numpy(), label="min vm_pu")
    ax_voltage.plot(vmax.index, vmax.to_numpy(), label="max vm_pu")
    ax_voltage.set_ylabel("pu")
    ax_voltage.set_xlabel("time")
    ax_voltage.legend()
    ax_voltage.figure.autofmt_xdate()
    return ax_power.figure


def fleet_on_feeder(result, plans=None) -> Figure:
    """Each fleet station's net import [kW] and the voltage [pu] at its bus; ``plans``: an
    optional :func:`gridv2g.problems.fleet_grid.fleet_plan`-style {name: (time x station)
    kW frame} drawn beside the joint schedule."""
    fig = Figure(figsize=(9, 5))
    ax_p, ax_v = fig.subplots(2, 1, sharex=True)
    fleet = result.res_station[result.res_station.fleet.astype(bool)]
    site = fleet.p_kw.unstack("station")
    for name in site.columns:
        ax_p.step(site.index, site[name].to_numpy(), where="post", label=f"{name} joint")
        for plan, frame in (plans or {}).items():
            ax_p.step(
                frame.index, frame[name].to_numpy(), where="post", alpha=0.6, label=f"{name} {plan}"
            )
    ax_p.set_ylabel("kW")
    ax_p.legend(loc="upper left", fontsize=8)
    bus_of = fleet.bus.groupby("station").first()
    vm = result.res_bus.vm_pu.unstack("bus")
    for name in site.columns:
        bus = bus_of[name]
        ax_v.plot(vm.index, vm[bus].to_numpy(), label=f"vm_pu at bus {bus} ({name})")
    ax_v.set_ylabel("pu")
    ax_v.legend(loc="lower left", fontsize=8)
    fig.autofmt_xdate()
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


def grid_figure_set(result) -> dict[str, Figure]:
    """The standard figures of a grid result, {file stem: Figure}, in report order."""
    figures = {"substation_voltage": substation_and_voltage(result)}
    if len(result.res_ev):
        figures["fleet"] = fleet_on_feeder(result)
    return figures


def result_figures(result, directory: str | Path) -> list[Path]:
    """Write the standard figures of a grid result as PNG files; returns their paths."""
    figures = grid_figure_set(result)
    return save({f"{k}.png": f for k, f in figures.items()}, Path(directory))


def save(figures: dict[str, Figure], directory: Path) -> list[Path]:
    """Write {file name: figure} into ``directory`` (PNG, 110 dpi); returns the paths."""
    paths = []
    for name, fig in figures.items():
        paths.append(Path(directory) / name)
        fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
    return paths
