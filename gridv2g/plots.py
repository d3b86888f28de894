"""Matplotlib figures of a result (written by ``Result.to_dir``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt


def substation_and_voltage(result, ax_power=None, ax_voltage=None):
    """Substation power [kW] and the min / max bus voltage [pu] per period."""
    if ax_power is None or ax_voltage is None:
        _, (ax_power, ax_voltage) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    sub = result.res_ext_grid.p_kw
    ax_power.plot(sub.index, sub.to_numpy(), label="substation p_kw")
    if len(result.res_der):
        der = result.res_der.p_kw.groupby("time").sum()
        ax_power.plot(der.index, der.to_numpy(), label="DER p_kw")
    ax_power.set_ylabel("kW")
    ax_power.legend()
    vm = result.res_bus.vm_pu.unstack("bus")
    ax_voltage.plot(vm.index, vm.min(axis=1).to_numpy(), label="min vm_pu")
    ax_voltage.plot(vm.index, vm.max(axis=1).to_numpy(), label="max vm_pu")
    ax_voltage.set_ylabel("pu")
    ax_voltage.set_xlabel("time")
    ax_voltage.legend()
    ax_voltage.figure.autofmt_xdate()
    return ax_power.figure


def result_figures(result, directory: str | Path) -> list[Path]:
    """Write the standard figures of a result as PNG files; returns their paths."""
    directory = Path(directory)
    fig = substation_and_voltage(result)
    path = directory / "substation_voltage.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    paths = [path]
    if len(result.res_ev):
        fig = fleet_on_feeder(result)
        paths.append(directory / "fleet.png")
        fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
        plt.close(fig)
    return paths


def fleet_on_feeder(result, plans=None):
    """Each fleet site's net import [kW] and the voltage [pu] at its bus; ``plans``: an
    optional :func:`gridv2g.problems.fleet_grid.fleet_plan`-style {name: (time x station)
    kW frame} drawn beside the joint schedule."""
    fig, (ax_p, ax_v) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    site = result.res_site.p_kw.unstack("station")
    for name in site.columns:
        ax_p.step(site.index, site[name].to_numpy(), where="post", label=f"{name} joint")
        for plan, frame in (plans or {}).items():
            ax_p.step(
                frame.index, frame[name].to_numpy(), where="post", alpha=0.6, label=f"{name} {plan}"
            )
    ax_p.set_ylabel("kW")
    ax_p.legend(loc="upper left", fontsize=8)
    slots = result.problem.data.stations.slots
    vm = result.res_bus.vm_pu.unstack("bus")
    for name in site.columns:
        bus = slots.loc[name, "bus"]
        ax_v.plot(vm.index, vm[bus].to_numpy(), label=f"vm_pu at bus {bus} ({name})")
    ax_v.set_ylabel("pu")
    ax_v.legend(loc="lower left", fontsize=8)
    fig.autofmt_xdate()
    return fig


def station_power(result, ax=None):
    """Station net import [kW]: optimized against the uncontrolled baseline, with the price."""
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.5))
    net = result.res_station.p_kw.groupby("time").sum()
    ax.step(net.index, net.to_numpy(), where="post", label="optimized p_kw")
    if result.baseline is not None:
        base = result.baseline["res_station"].p_kw.groupby("time").sum()
        ax.step(base.index, base.to_numpy(), where="post", label="uncontrolled p_kw", alpha=0.7)
    ax.set_ylabel("kW")
    ax.legend(loc="upper left")
    data = result.problem.data
    twin = ax.twinx()
    price = data.prices.buy
    twin.step(price.index, price.to_numpy(), where="post", color="goldenrod", ls="--")
    twin.set_ylabel("buy price per kWh")
    ax.figure.autofmt_xdate()
    return ax.figure


def station_figures(result, directory: str | Path) -> list[Path]:
    directory = Path(directory)
    fig = station_power(result)
    path = directory / "station_power.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return [path]
