"""Figures of plans compared on one feeder (``gridv2g run --compare``): the joint plan, the
station-first (sequential) plan and uncontrolled charging, from the comparison's tables only
(:class:`gridv2g.problems.fleet_grid.PlanComparison`, or
:func:`gridv2g.validation.compare_uncontrolled`'s OpenDSS tables on unbalanced feeders)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gridv2g.plots.common import LIMIT_COLOR, time_axis, titled

#: plan -> (label, colour, line style)
PLAN_STYLE = {
    "joint": ("joint (fleet and feeder in one problem)", "tab:blue", "-"),
    "sequential": ("station-first (station optimum, then the feeder)", "tab:green", "--"),
    "uncontrolled": ("uncontrolled (full power from arrival)", "tab:orange", ":"),
    "optimized": ("optimized (the case's plan)", "tab:blue", "-"),
}


#: plan -> bar label
TICK = {"sequential": "station-first\n(sequential)"}


def _style(plan: str) -> tuple[str, str, str]:
    return PLAN_STYLE.get(plan, (plan, None, "-"))


def plans_over_time(
    series: dict[str, pd.DataFrame],
    vmin_limit_pu: float | None = None,
    converter_kva: float | None = None,
    import_limit_kw: float | None = None,
    case: str = "",
) -> Figure:
    """Per plan, over time: substation load [kW], lowest bus voltage [pu] (with the case's
    lower limit) and the fleet's net import [kW] (with the fleet converters' total rating
    and the sites' total import limit, when given). ``series``: {plan: (time) DataFrame with
    ``substation_kw``, ``vmin_pu``, ``fleet_kw``}."""
    fig = Figure(figsize=(10, 8.5), layout="constrained")
    ax_s, ax_v, ax_f = fig.subplots(3, 1, sharex=True)
    for plan, frame in series.items():
        label, colour, ls = _style(plan)
        kw = {"where": "post", "color": colour, "ls": ls, "label": label, "lw": 1.5}
        ax_s.step(frame.index, frame.substation_kw.to_numpy(), **kw)
        ax_v.step(frame.index, frame.vmin_pu.to_numpy(), **kw)
        ax_f.step(frame.index, frame.fleet_kw.to_numpy(), **kw)
    ax_s.set_ylabel("substation load [kW]")
    ax_s.set_title("Substation load per plan")
    if vmin_limit_pu is not None and vmin_limit_pu > 0:
        ax_v.axhline(
            vmin_limit_pu, color=LIMIT_COLOR, ls="--", lw=1, label=f"vmin {vmin_limit_pu:g} pu"
        )
    ax_v.set_ylabel("lowest bus voltage [pu]")
    ax_v.set_title("Lowest bus voltage per plan (the fixed plans with limits lifted)")
    if converter_kva is not None:
        ax_f.axhline(
            converter_kva,
            color=LIMIT_COLOR,
            ls="--",
            lw=1,
            label=f"converter rating {converter_kva:.4g} kVA",
        )
    if import_limit_kw is not None and import_limit_kw != converter_kva:
        ax_f.axhline(
            import_limit_kw,
            color="purple",
            ls="-.",
            lw=1,
            label=f"site import limit {import_limit_kw:.4g} kW",
        )
    ax_f.axhline(0.0, color="k", lw=0.5)
    ax_f.set_ylabel("fleet net import [kW]")
    ax_f.set_title("EV fleet's net import per plan (sum of fleet stations)")
    for ax in (ax_s, ax_v, ax_f):
        ax.legend(fontsize=8, loc="best")
    time_axis(ax_f)
    fig.suptitle(titled(case, "plans compared on the feeder"))
    return fig


def plans_summary(table: pd.DataFrame, currency: str = "currency units", case: str = "") -> Figure:
    """The comparison table as bars, one per plan: objective [currency], losses [kWh],
    substation peak [kW] and lowest voltage [pu] (each bar labelled with its value)."""
    panels = [
        ("objective", f"objective [{currency}]", "Objective (energy cost + degradation)"),
        ("losses_kwh", "losses [kWh]", "Feeder losses over the horizon"),
        ("peak_kw", "substation peak [kW]", "Substation peak"),
        ("vmin_pu", "lowest bus voltage [pu]", "Lowest bus voltage"),
    ]
    panels = [p for p in panels if p[0] in table]
    fig = Figure(figsize=(10, 6.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(2, 2)).ravel()
    plans = list(table.index)
    colours = [_style(p)[1] or f"C{k}" for k, p in enumerate(plans)]
    for ax, (column, ylabel, title) in zip(axes, panels, strict=False):
        values = table[column].astype(float).to_numpy()
        bars = ax.bar(plans, values, color=colours)
        ax.bar_label(bars, fmt="%.4g", fontsize=8)
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        pad = 0.25 * (high - low) + 1e-6 * max(abs(high), 1.0)
        if column == "vmin_pu" or low > 0.5 * high:  # differences matter: zoom in
            ax.set_ylim(low - 2 * pad, high + pad)
            title += " (axis not from 0)"
        ax.set_ylabel(ylabel)
        ax.set_xlabel("plan")
        ax.set_xticks(range(len(plans)), [TICK.get(p, p) for p in plans])
        ax.set_title(title, fontsize=10)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(titled(case, "plans compared: summary"))
    return fig


def uncontrolled_on_feeder(comparison: dict, vmin_limit_pu=None, vmax_limit_pu=None, case=""):
    """Uncontrolled charging against the optimized plan, both replayed in OpenDSS on the
    unbalanced feeder (:func:`gridv2g.validation.compare_uncontrolled`): substation load
    [kW] and the tabulated phase voltages [pu] with the case's limits."""
    load, voltage = comparison["load"], comparison["voltage"]
    nodes = list(dict.fromkeys(n for n, _ in voltage.columns))
    fig = Figure(figsize=(10, 3.2 * (1 + len(nodes))), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1 + len(nodes), 1, sharex=True))
    for plan in ("uncontrolled", "optimized"):
        label, colour, ls = _style(plan)
        axes[0].step(load.index, load[plan], where="post", color=colour, ls=ls, label=label)
    axes[0].set_ylabel("substation load [kW]")
    axes[0].set_title("Substation load (OpenDSS, unbalanced feeder)")
    axes[0].legend(fontsize=8)
    for ax, node in zip(axes[1:], nodes, strict=True):
        for plan in ("uncontrolled", "optimized"):
            label, colour, ls = _style(plan)
            values = voltage[(node, plan)]
            ax.step(voltage.index, values, where="post", color=colour, ls=ls, label=label)
        limits = [lim for lim in (vmin_limit_pu, vmax_limit_pu) if lim is not None]
        for k, lim in enumerate(limits):
            text = "limits " + " / ".join(f"{v:g}" for v in limits) + " pu"
            ax.axhline(lim, color=LIMIT_COLOR, ls="--", lw=0.8, label=None if k else text)
        ax.set_ylabel(f"V bus {node} [pu]")
        ax.set_title(f"Phase voltage at bus {node.replace('.', ' phase ')} (OpenDSS)")
        ax.legend(fontsize=8)
    time_axis(axes[-1])
    fig.suptitle(titled(case, "uncontrolled charging vs the optimized plan"))
    return fig
