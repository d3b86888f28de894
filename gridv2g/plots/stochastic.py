"""Matplotlib figures of a two-stage stochastic station result, from its tables: the second
stage per scenario (station net import, storage energy from the first stage's day-ahead
purchase) and the measures RP, EEV, WS with VSS and EVPI."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gridv2g.plots.common import case_name, currency_of, time_axis, titled


def scenario_power(result) -> Figure:
    """Per scenario (thin lines) and on average (bold): the station's net import [kW] and its
    storage energy [kWh] under the recourse problem's decisions, the storage starting from
    the first-stage energy E0 bought day-ahead (the same for every scenario)."""
    power = result.res_power
    fig = Figure(figsize=(9, 6), layout="constrained")
    ax_p, ax_e = fig.subplots(2, 1, sharex=True)
    p = power.p_kw.unstack("scenario")
    e = power.ess_e_kwh.unstack("scenario")
    n = p.shape[1]
    for k, column in enumerate(p.columns):
        ax_p.step(
            p.index,
            p[column].to_numpy(),
            where="post",
            color="0.55",
            lw=0.6,
            alpha=0.5,
            label=f"one scenario ({n} drawn)" if k == 0 else None,
        )
    mean = p.mean(axis=1)
    ax_p.step(mean.index, mean.to_numpy(), where="post", color="tab:blue", lw=2, label="mean")
    ax_p.axhline(0.0, color="k", lw=0.5)
    ax_p.set_ylabel("station net import [kW]")
    ax_p.set_title("Second stage: station net import per scenario")
    ax_p.legend(fontsize=8, loc="upper left")

    times = e.index
    step = times[1] - times[0] if len(times) > 1 else pd.Timedelta(hours=1)
    x = times.append(pd.DatetimeIndex([times[-1] + step]))
    e0 = float(result.summary["e0_kwh"])
    for k, column in enumerate(e.columns):
        ax_e.plot(
            x,
            [e0, *e[column].to_numpy()],
            color="0.55",
            lw=0.6,
            alpha=0.5,
            label=f"one scenario ({n} drawn)" if k == 0 else None,
        )
    ax_e.plot(x, [e0, *e.mean(axis=1).to_numpy()], color="tab:blue", lw=2, label="mean")
    ax_e.plot([x[0]], [e0], "o", color="tab:red", ms=7, label=f"first stage E0 = {e0:.4g} kWh")
    mv = result.summary.get("e0_mean_value_kwh")
    if mv is not None:
        ax_e.plot(
            [x[0]], [mv], "x", color="k", ms=8, mew=2, label=f"mean-value plan's E0 = {mv:.4g} kWh"
        )
    ax_e.set_ylabel("storage energy [kWh]")
    ax_e.set_title("Storage energy from the day-ahead purchase (end of each period)")
    ax_e.legend(fontsize=8, loc="upper right")
    time_axis(ax_e)
    fig.suptitle(titled(case_name(result), "two-stage stochastic schedule (recourse problem)"))
    return fig


def measures(result) -> Figure:
    """RP, EEV and WS [currency] as bars with VSS = RP - EEV and EVPI = WS - RP, and each
    scenario's profit [currency] against its number of EVs under the three decisions."""
    s = result.summary
    currency = currency_of(result)
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_bar, ax_sc = fig.subplots(1, 2, width_ratios=[1, 1.4])
    names = ["RP", "EEV", "WS"]
    values = [float(s[k]) for k in ("rp", "eev", "ws")]
    colours = ["tab:blue", "tab:orange", "tab:green"]
    bars = ax_bar.bar(names, values, color=colours, label=names)
    ax_bar.bar_label(bars, fmt="%.2f", fontsize=8)
    ax_bar.set_ylabel(f"expected profit [{currency}]")
    ax_bar.set_xlabel("measure (the profit axis does not start at 0)")
    ax_bar.set_title(f"VSS = RP - EEV = {s['vss']:.3g}, EVPI = WS - RP = {s['evpi']:.3g}")
    low, high = min(values), max(values)
    pad = 0.5 * (high - low) + 1e-9 * max(abs(high), 1.0)
    ax_bar.set_ylim(low - 2 * pad if low > 0 else min(0.0, low - pad), high + pad)
    sc = result.res_scenario
    jitter = np.linspace(-0.15, 0.15, 3)
    columns = ("profit_rp", "profit_eev", "profit_ws")
    for k, (name, column) in enumerate(zip(names, columns, strict=True)):
        ax_sc.scatter(sc.evs + jitter[k], sc[column], s=14, color=colours[k], label=name)
    ax_sc.set_xlabel("EVs in the scenario")
    ax_sc.set_ylabel(f"scenario profit [{currency}]")
    ax_sc.set_title(f"Profit per scenario ({len(sc)} scenarios)")
    ax_sc.legend(fontsize=8)
    fig.suptitle(titled(case_name(result), "stochastic measures"))
    return fig


def figure_set(result) -> dict[str, Figure]:
    """The standard figures of a stochastic result, {file stem: Figure}:
    ``stochastic_power`` (:func:`scenario_power`, when the result has ``res_power``) and
    ``stochastic_measures`` (:func:`measures`)."""
    figures = {}
    if len(getattr(result, "res_power", ())):
        figures["stochastic_power"] = scenario_power(result)
    figures["stochastic_measures"] = measures(result)
    return figures
