"""Snapshot power flow of an OpenDSS model: node voltages and totals, as tables.

This is the unbalanced truth gridv2g validates against: OpenDSS solves the full multi-phase
model. Used by the feeder tests (round trip, balanced-equivalent error) and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g.feeders.opendss_import import _dss, compile_model, run_command


@dataclass
class OpenDSSSolution:
    """Result of an OpenDSS snapshot solve.

    ``res_node``: one row per bus node (``bus``, ``node``, ``vn_kv_ln`` [kV], ``vm_pu``,
    ``va_degree``); ``summary``: ``converged``, ``losses_kw``, ``losses_kvar``,
    ``substation_kw``, ``substation_kvar`` (power delivered by the source), ``vmin_pu`` /
    ``vmax_pu`` with their ``bus.node`` (excluding the source bus).
    """

    res_node: pd.DataFrame
    summary: dict


def solve_opendss(master: str | Path, commands=(), tolerance: float = 1e-10) -> OpenDSSSolution:
    """Compile ``master``, run ``commands``, solve a snapshot at ``tolerance`` and read results."""
    master = compile_model(master, commands)
    dss = _dss()
    run_command(f"set tolerance={tolerance!r}")
    run_command("solve", source=master)
    names = dss.Circuit.AllNodeNames()
    volts = np.asarray(dss.Circuit.AllBusVolts()).reshape(-1, 2)
    v = volts[:, 0] + 1j * volts[:, 1]
    rows = []
    base = {}
    for bus in dss.Circuit.AllBusNames():
        dss.Circuit.SetActiveBus(bus)
        base[bus.lower()] = dss.Bus.kVBase()
    for name, value in zip(names, v, strict=True):
        bus, node = name.lower().rsplit(".", 1)
        rows.append(
            {
                "bus": bus,
                "node": int(node),
                "vn_kv_ln": base[bus],
                "vm_pu": abs(value) / (1000.0 * base[bus]),
                "va_degree": float(np.degrees(np.angle(value))),
            }
        )
    res = pd.DataFrame(rows)
    losses = dss.Circuit.Losses()
    power = dss.Circuit.TotalPower()
    src_bus = dss.CktElement.BusNames()[0] if dss.Vsources.First() > 0 else ""
    src_bus = src_bus.split(".")[0].lower()
    inner = res[res.bus != src_bus]
    lo, hi = inner.vm_pu.idxmin(), inner.vm_pu.idxmax()
    summary = {
        "converged": bool(dss.Solution.Converged()),
        "losses_kw": losses[0] / 1000.0,
        "losses_kvar": losses[1] / 1000.0,
        "substation_kw": -power[0],
        "substation_kvar": -power[1],
        "vmin_pu": float(inner.vm_pu[lo]),
        "vmin_at": f"{inner.bus[lo]}.{inner.node[lo]}",
        "vmax_pu": float(inner.vm_pu[hi]),
        "vmax_at": f"{inner.bus[hi]}.{inner.node[hi]}",
    }
    return OpenDSSSolution(res_node=res, summary=summary)
