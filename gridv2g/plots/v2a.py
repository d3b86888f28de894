"""Matplotlib figures of V2A results (seed 002's Figs. 10-15): schedules, comparisons, sweeps.

Every function takes results of :mod:`gridv2g.problems.v2a` and reads only their tables.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

#: status -> colour (status map, bars)
STATUS_COLORS = {
    "idle": "#e6e6e6",
    "charging": "tab:blue",
    "V2H": "tab:green",
    "V2B": "tab:green",
    "V2V": "tab:purple",
    "V2G": "tab:orange",
}
#: res_site column -> status it is drawn in
DISCHARGE_COLUMNS = {"v2h_kw": "V2H", "v2b_kw": "V2B", "v2v_kw": "V2V", "v2g_kw": "V2G"}


def _edges(index: pd.DatetimeIndex) -> np.ndarray:
    """Period boundaries (date numbers) of a regular time index."""
    step = index[1] - index[0] if len(index) > 1 else pd.Timedelta(hours=1)
    return mdates.date2num(index.append(pd.DatetimeIndex([index[-1] + step])))


def _ev_bars(site: pd.DataFrame, ax) -> np.ndarray:
    """EV charging (up) and discharging by mode (down, stacked) as bars [kW]; the x edges."""
    x = _edges(site.index)
    width = np.diff(x)
    ax.bar(
        x[:-1],
        site.ev_charge_kw,
        width,
        align="edge",
        color=STATUS_COLORS["charging"],
        alpha=0.6,
        label="EV charging",
    )
    bottom = np.zeros(len(site))
    for column, status in DISCHARGE_COLUMNS.items():
        values = site[column].to_numpy()
        if values.any():
            ax.bar(
                x[:-1],
                -values,
                width,
                bottom=-bottom,
                align="edge",
                color=STATUS_COLORS[status],
                alpha=0.6,
                label=status,
            )
            bottom += values
    return x


def site_power(result, ax=None, label: str = "optimized load"):
    """Base load, the site's optimized net load and the EV powers by status [kW] (Fig. 10)."""
    if ax is None:
        ax = Figure(figsize=(9, 3.5)).subplots()
    site = result.res_site
    x = _ev_bars(site, ax)
    ax.stairs(site.base_load_kw, x, baseline=None, color="k", ls="--", label="base load")
    ax.stairs(site.p_kw, x, baseline=None, color="tab:red", lw=1.8, label=label)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylabel("power [kW]")
    ax.set_title("Site load and EV power by status (charging up, discharging down)", fontsize=10)
    ax.legend(loc="upper left", fontsize=8, ncol=3)
    ax.xaxis_date()
    return ax


def status_map(result, ax=None):
    """Status of every EV in every period (idle, charging, V2H/V2B, V2V, V2G)."""
    if ax is None:
        ax = Figure(figsize=(9, 2.5)).subplots()
    status = result.res_ev.status.unstack("ev")
    names = list(STATUS_COLORS)
    codes = status.apply(lambda col: col.map(names.index)).to_numpy().T
    x = _edges(status.index)
    ax.pcolormesh(
        x,
        np.arange(status.shape[1] + 1),
        codes,
        cmap=ListedColormap(list(STATUS_COLORS.values())),
        vmin=-0.5,
        vmax=len(names) - 0.5,
    )
    ax.set_yticks(np.arange(status.shape[1]) + 0.5, status.columns, fontsize=7)
    ax.set_ylabel("EV")
    ax.set_title("Status of every EV per period", fontsize=10)
    used = [s for s in names if (status == s).to_numpy().any()]
    ax.legend(
        handles=[Patch(color=STATUS_COLORS[s], label=s) for s in used],
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )
    ax.xaxis_date()
    return ax


def soc(result, ax=None):
    """State of charge of every EV at the end of each period (Fig. 11)."""
    if ax is None:
        ax = Figure(figsize=(9, 2.5)).subplots()
    values = result.res_ev.soc.unstack("ev")
    plugged = result.res_ev.plugged.unstack("ev")
    x = _edges(values.index)
    for ev in values.columns:
        ax.stairs(values[ev].where(plugged[ev]), x, baseline=None, lw=1, label=ev)
    ax.set_ylabel("SOC [fraction]")
    ax.set_ylim(0, 1)
    ax.set_title("State of charge while plugged in (end of each period)", fontsize=10)
    ax.legend(
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        ncol=max(1, (len(values.columns) + 9) // 10),
    )
    ax.xaxis_date()
    return ax


def prices(result, ax=None):
    """The load price and the V2G price [currency/kWh] (Fig. 8)."""
    if ax is None:
        ax = Figure(figsize=(9, 2)).subplots()
    site = result.res_site
    x = _edges(site.index)
    ax.stairs(site.load_price, x, baseline=None, label="load price")
    ax.stairs(site.v2g_price, x, baseline=None, label="V2G price")
    currency = result.summary.get("currency") or "currency units"
    ax.set_ylabel(f"price [{currency}/kWh]")
    ax.set_title("Prices", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.xaxis_date()
    return ax


def schedule(result, title: str | None = None):
    """Prices [currency/kWh], site power [kW], EV statuses and SOC of one result, one figure
    (``title`` is its suptitle)."""
    fig = Figure(figsize=(10, 10))
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw={"height_ratios": [1.2, 2.5, 2, 1.5]})
    prices(result, axes[0])
    site_power(result, axes[1])
    status_map(result, axes[2])
    soc(result, axes[3])
    axes[3].xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    axes[3].set_xlabel("time")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def compare_loads(results: dict, title: str | None = None):
    """The site's load with and without discharge (Fig. 10 (a)-(b)): one panel per result."""
    fig = Figure(figsize=(9, 3 * len(results)))
    axes = fig.subplots(len(results), 1, sharex=True)
    for ax, (name, result) in zip(np.atleast_1d(axes), results.items(), strict=True):
        site_power(result, ax, label=f"optimized load, {name}")
        ax.set_title(f"{name}: bill {result.summary['bill']:.2f}", fontsize=10)
    np.atleast_1d(axes)[-1].xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def lambda_sweep(results: dict, title: str | None = None):
    """Discharge by mode against lambda, and the aggregated EV power for each lambda (Figs.
    14-15). ``results``: lambda -> result (:func:`gridv2g.problems.v2a.parameter_sweep`)."""
    lambdas = list(results)
    fig = Figure(figsize=(11, 7))
    grid = fig.add_gridspec(2, len(lambdas), height_ratios=[1.3, 1])
    ax = fig.add_subplot(grid[0, :])
    bottom = np.zeros(len(lambdas))
    pos = np.arange(len(lambdas))
    for column, status in DISCHARGE_COLUMNS.items():
        mode = column.split("_")[0].upper()
        kwh = np.array([r.summary[f"discharge_{mode.lower()}_kwh"] for r in results.values()])
        if kwh.any():
            ax.bar(pos, kwh, bottom=bottom, color=STATUS_COLORS[status], label=status)
            bottom += kwh
    ax.set_xticks(pos, [f"lambda = {lam:g}" for lam in lambdas])
    ax.set_ylabel("discharge [kWh]")
    ax.legend(loc="upper right", fontsize=8)
    twin = ax.twinx()
    cost = [r.summary["bill"] + r.summary["shortfall_penalty"] for r in results.values()]
    twin.plot(pos, cost, "k.-", label="bill + shortfall penalty")
    twin.set_ylabel("bill + shortfall penalty")
    twin.legend(loc="upper center", fontsize=8)
    first = None
    for k, (lam, result) in enumerate(results.items()):
        sub = fig.add_subplot(grid[1, k], sharey=first)
        first = first or sub
        _ev_bars(result.res_site, sub)
        sub.axhline(0, color="k", lw=0.5)
        sub.set_title(f"lambda = {lam:g}", fontsize=9)
        sub.xaxis_date()
        sub.xaxis.set_major_locator(mdates.HourLocator(byhour=range(0, 24, 6)))
        sub.xaxis.set_major_formatter(mdates.DateFormatter("%H"))
        if k == 0:
            sub.set_ylabel("EV charge (+) / discharge (-) [kW]", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def figure_set(result) -> dict[str, Figure]:
    """The standard figures of a V2A result, {file stem: Figure}: ``v2a_schedule``
    (:func:`schedule`, titled with the case, the site kind and the bill)."""
    s = result.summary
    case = s.get("case") or getattr(getattr(result, "case", None), "name", "") or ""
    currency = s.get("currency") or "currency units"
    what = f"V2A {s['site_kind']} schedule, bill {s['bill']:.2f} {currency}"
    return {"v2a_schedule": schedule(result, title=f"{case}: {what}" if case else what)}
