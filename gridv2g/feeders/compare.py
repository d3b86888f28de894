"""AC power flows of a feeder: balanced (pandapower) and unbalanced (OpenDSS), side by side.

:func:`balanced_error` measures what the single-phase equivalent costs: it solves the full
multi-phase feeder in OpenDSS and its balanced equivalent in pandapower and compares substation
power, losses and voltages.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g.feeders.opendss_solve import OpenDSSSolution, solve_opendss
from gridv2g.feeders.pandapower_bridge import run_powerflow


def pandapower_summary(feeder) -> tuple[dict, pd.Series]:
    """Balanced AC power flow of ``feeder``: summary dict and bus voltages [pu] by bus name.

    Summary keys: ``losses_kw``, ``losses_kvar``, ``substation_kw``, ``substation_kvar``,
    ``vmin_pu`` / ``vmin_at`` and ``vmax_pu`` / ``vmax_at`` (source bus excluded).
    """
    net = feeder.to_pandapower()
    run_powerflow(net)
    vm = pd.Series(net.res_bus.vm_pu.to_numpy(), index=net.bus.name.to_numpy())
    inner = vm.drop(feeder.source_bus)
    losses_kw = 1000.0 * (net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum())
    losses_kvar = 1000.0 * (net.res_line.ql_mvar.sum() + net.res_trafo.ql_mvar.sum())
    summary = {
        "losses_kw": float(losses_kw),
        "losses_kvar": float(losses_kvar),
        "substation_kw": float(1000.0 * net.res_ext_grid.p_mw.sum()),
        "substation_kvar": float(1000.0 * net.res_ext_grid.q_mvar.sum()),
        "vmin_pu": float(inner.min()),
        "vmin_at": str(inner.idxmin()),
        "vmax_pu": float(inner.max()),
        "vmax_at": str(inner.idxmax()),
    }
    return summary, vm


def opendss_solution(feeder, directory: str | Path | None = None) -> OpenDSSSolution:
    """Export ``feeder`` to OpenDSS (into ``directory`` or a temporary one) and solve it."""
    if directory is not None:
        return solve_opendss(feeder.to_opendss(directory))
    with tempfile.TemporaryDirectory(prefix="gridv2g_dss_") as tmp:
        return solve_opendss(feeder.to_opendss(tmp))


def balanced_error(feeder) -> pd.DataFrame:
    """Balanced equivalent (pandapower) against the unbalanced feeder (OpenDSS).

    Rows: substation kW and kvar, losses kW, min and max voltage [pu] (over phase nodes for
    OpenDSS, over buses for the equivalent), and the largest difference between a bus's
    balanced voltage and the mean of its phase voltages in OpenDSS. Columns: ``opendss``,
    ``balanced``, ``error`` (balanced - opendss), ``error_percent``.
    """
    dss = opendss_solution(feeder)
    bal, vm = pandapower_summary(feeder)
    ref = dss.summary
    mean_phase = dss.res_node.groupby("bus").vm_pu.mean()
    common = mean_phase.index.intersection(vm.index).drop(feeder.source_bus, errors="ignore")
    diff = (vm[common] - mean_phase[common]).abs()
    rows = {
        "substation_kw": (ref["substation_kw"], bal["substation_kw"]),
        "substation_kvar": (ref["substation_kvar"], bal["substation_kvar"]),
        "losses_kw": (ref["losses_kw"], bal["losses_kw"]),
        "vmin_pu": (ref["vmin_pu"], bal["vmin_pu"]),
        "vmax_pu": (ref["vmax_pu"], bal["vmax_pu"]),
        "max_abs_v_vs_phase_mean_pu": (0.0, float(diff.max())),
    }
    df = pd.DataFrame(rows, index=["opendss", "balanced"]).T
    df["error"] = df.balanced - df.opendss
    with np.errstate(divide="ignore", invalid="ignore"):
        df["error_percent"] = np.where(df.opendss != 0, 100.0 * df.error / df.opendss, np.nan)
    df.loc["vmin_pu", "where"] = f"{ref['vmin_at']} / {bal['vmin_at']}"
    df.loc["vmax_pu", "where"] = f"{ref['vmax_at']} / {bal['vmax_at']}"
    df.loc["max_abs_v_vs_phase_mean_pu", "where"] = str(diff.idxmax())
    df["where"] = df["where"].fillna("")
    df.index.name = "metric"
    return df
