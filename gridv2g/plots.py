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
    return [path]
