"""Matplotlib figures of a station result (EV schedules without a feeder), from its tables."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from gridv2g.plots.grid import save


def station_power(result, ax=None) -> Figure:
    """Station net import [kW]: optimized against the uncontrolled baseline, with the price."""
    if ax is None:
        ax = Figure(figsize=(9, 3.5)).subplots()
    net = result.res_station.p_kw.groupby("time").sum()
    ax.step(net.index, net.to_numpy(), where="post", label="optimized p_kw")
    if result.baseline is not None:
        base = result.baseline["res_station"].p_kw.groupby("time").sum()
        ax.step(base.index, base.to_numpy(), where="post", label="uncontrolled p_kw", alpha=0.7)
    ax.set_ylabel("kW")
    ax.legend(loc="upper left")
    if len(result.res_price):
        twin = ax.twinx()
        price = result.res_price.buy_per_kwh
        twin.step(price.index, price.to_numpy(), where="post", color="goldenrod", ls="--")
        twin.set_ylabel("buy price per kWh")
    ax.figure.autofmt_xdate()
    return ax.figure


def station_figure_set(result) -> dict[str, Figure]:
    """The standard figures of a station result, {file stem: Figure}."""
    return {"station_power": station_power(result)}


def station_figures(result, directory: str | Path) -> list[Path]:
    """Write the station power figure as a PNG file; returns its path."""
    return save({f"{k}.png": f for k, f in station_figure_set(result).items()}, Path(directory))
