"""Matplotlib figures of a station result (EV schedules without a feeder), from its tables:
the station's net import against the uncontrolled baseline with the price and the limits, and
the energy of a sample of EVs against their departure targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gridv2g.plots.common import (
    PRICE_COLOR,
    case_name,
    currency_of,
    limit_step,
    merged_legend,
    time_axis,
    titled,
)

#: EVs drawn in the energy figure
EV_SAMPLE = 6


def _total(table: pd.DataFrame, column: str = "p_kw") -> pd.Series:
    """The sum over stations of a (time, station) column, per period."""
    return table[column].groupby("time").sum()


def _limit(result, column: str) -> pd.Series | None:
    """The sum over stations of a limit [kW] per period; None when a station has none."""
    limits = getattr(result, "res_limit", None)
    if limits is None or not len(limits) or column not in limits:
        return None
    wide = limits[column].unstack("station")
    if wide.isna().any(axis=None):
        return None
    return wide.sum(axis=1)


def station_power(result, ax=None) -> Figure:
    """Station net import [kW] per period: the result's plan (optimized, or the rolling
    horizon's with the perfect-foresight optimum beside it) against the uncontrolled
    baseline, the import limit and, when the plan exports, the export limit below zero (sums
    over stations; drawn where every station has one) and the buy price [currency/kWh] on a
    twin axis, all in one legend."""
    if ax is None:
        ax = Figure(figsize=(9, 4), layout="constrained").subplots()
    plan = getattr(result, "plan", "optimized")
    net = _total(result.res_station)
    ax.step(net.index, net.to_numpy(), where="post", lw=1.8, label=f"{plan} plan", gid="plan")
    pf = getattr(result, "res_station_perfect_foresight", None)
    if pf is not None and len(pf):
        best = _total(pf)
        ax.step(
            best.index,
            best.to_numpy(),
            where="post",
            lw=1.2,
            color="tab:green",
            label="perfect foresight (all EVs known)",
            gid="perfect_foresight",
        )
    if result.baseline is not None:
        base = _total(result.baseline["res_station"])
        ax.step(
            base.index,
            base.to_numpy(),
            where="post",
            alpha=0.7,
            color="tab:orange",
            label="uncontrolled (full power from arrival)",
            gid="uncontrolled",
        )
    several = result.res_station.index.get_level_values("station").nunique() > 1
    total = " (sum of stations)" if several else ""
    imp, exp = _limit(result, "p_import_max_kw"), _limit(result, "p_export_max_kw")
    if imp is not None:
        limit_step(ax, imp, f"import limit{total}")
    if exp is not None and (net < 0).any():  # a plan that never exports: no export limit
        limit_step(ax, exp, f"export limit{total} (below zero)", sign=-1.0)
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_ylabel("net import [kW]")
    time_axis(ax)
    twins = []
    if len(result.res_price):
        twin = ax.twinx()
        price = result.res_price.buy_per_kwh
        twin.step(
            price.index,
            price.to_numpy(),
            where="post",
            color=PRICE_COLOR,
            ls=":",
            label="buy price (right axis)",
        )
        twin.set_ylabel(f"buy price [{currency_of(result)}/kWh]")
        twins.append(twin)
    merged_legend(ax, *twins, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3)
    ax.set_title(titled(case_name(result), f"station net import, {plan} vs uncontrolled"))
    return ax.figure


def ev_energy(result, n: int = EV_SAMPLE) -> Figure:
    """Energy in the battery [kWh] of ``n`` EVs (spread over the fleet in arrival order) while
    plugged in, from its arrival energy to the energy it leaves with, each with its departure
    target [kWh] (a bar at its departure)."""
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots()
    energy = result.res_ev.e_kwh.unstack("ev")
    plugged = result.res_ev.plugged.unstack("ev").astype(bool)
    summary = result.res_ev_summary
    present = [ev for ev in summary.index if plugged[ev].any()]
    first = {ev: plugged.index[plugged[ev].to_numpy()][0] for ev in present}
    order = sorted(present, key=lambda ev: (first[ev], str(ev)))
    picks = [order[int(k)] for k in np.unique(np.linspace(0, len(order) - 1, min(n, len(order))))]
    times = energy.index
    step = times[1] - times[0] if len(times) > 1 else pd.Timedelta(hours=1)
    for k, ev in enumerate(picks):
        colour = f"C{k % 10}"
        on = plugged[ev].to_numpy()
        # e_kwh is the energy at the end of each period: drawn at the period's end, from the
        # arrival energy at the start of the first plugged period
        x = [times[on][0], *(times[on] + step)]
        y = [summary.at[ev, "e_arrival_kwh"], *energy[ev].to_numpy()[on]]
        ax.plot(x, y, color=colour, lw=1.4, label=f"{ev}")
        ax.plot(
            [x[-1]],
            [summary.at[ev, "e_target_kwh"]],
            marker="_",
            ms=18,
            mew=2.5,
            ls="none",
            color=colour,
        )
    ax.plot([], [], marker="_", ms=16, mew=2.5, ls="none", color="k", label="target at departure")
    ax.set_ylabel("energy in battery [kWh]")
    time_axis(ax, "time (energy at the end of each period)")
    shortfall = float(summary.shortfall_kwh.sum())
    ax.set_title(
        titled(
            case_name(result),
            f"EV energy while plugged in, {len(picks)} of {len(summary)} EVs "
            f"(fleet shortfall {shortfall:.3g} kWh)",
        )
    )
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def station_figure_set(result) -> dict[str, Figure]:
    """The standard figures of a station result, {file stem: Figure}: ``station_power``
    (:func:`station_power`) and ``ev_energy`` (:func:`ev_energy`)."""
    figures = {"station_power": station_power(result)}
    if len(result.res_ev):
        figures["ev_energy"] = ev_energy(result)
    return figures
