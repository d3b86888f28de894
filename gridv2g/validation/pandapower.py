"""Replay an optimized schedule in a real AC power flow and measure the SOCP's error.

Every period's net demand per bus (``res_bus.p_kw``, ``q_kvar``: loads, DER and stations as the
optimizer set them) is applied as constant-power loads to the balanced feeder in pandapower,
which solves the full AC power flow. Per period the report gives SOCP vs AC losses, the largest
voltage difference and the largest branch relaxation gap, and flags every period beyond the
tolerances: flagged periods are listed, never hidden.

Speed: the pandapower network is built once; each period only rewrites the load columns and
re-solves from the previous period's solution (``init="results"``). pandapower's numba kernels
are compiled without a disk cache, about 2.3 s once per process: a replay uses them when they are
already compiled or when the replay is big enough to repay the compilation, and pandapower's
plain-Python path otherwise (measured on IEEE 33 x 96: 1.25 s cold without numba against 2.7 s
with; 0.41 s warm with numba against 0.74 s without).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g import progress
from gridv2g.feeders.pandapower_bridge import run_powerflow
from gridv2g.validation.tables import write_report


@dataclass
class ValidationReport:
    """``periods``: one row per period (``losses_socp_kw``, ``losses_ac_kw``,
    ``losses_error_percent``, ``max_dv_pu``, ``max_dv_bus``, ``max_relaxation_gap``,
    ``flagged``); ``summary``: worst figures, flagged count, tolerances, replay seconds;
    ``res_bus_ac``: AC voltages (time, bus); ``limits``: the case's default voltage band
    (vmin, vmax) [pu] when the replay checked it; ``source_bus``: the bus held at the source
    voltage (left out of the checks)."""

    periods: pd.DataFrame
    summary: dict
    res_bus_ac: pd.DataFrame
    limits: tuple[float, float] | None = None
    source_bus: str = ""

    @property
    def flagged(self) -> pd.DataFrame:
        return self.periods[self.periods.flagged]

    @property
    def ok(self) -> bool:
        return not bool(self.periods.flagged.any())

    def to_dir(self, directory) -> Path:
        """Write ``validation_periods.csv`` and ``validation.json`` (the summary) into
        ``directory``, next to the result's tables (what ``gridv2g run`` and ``validate``
        write)."""
        return write_report(directory, "validation", self.periods, self.summary)

    def figure_set(self) -> dict:
        """{file stem: Figure}: SOCP vs AC losses, the largest voltage difference against
        its tolerance and the AC voltages against the limits per period, flagged periods
        shaded (:func:`gridv2g.plots.replay.validation_figure`)."""
        from gridv2g.plots.replay import validation_figure

        return {"validation": validation_figure(self)}


# bus-periods above which compiling pandapower's numba kernels (~2.3 s, once per process)
# pays off: numba saves about 0.035 ms per bus-period (IEEE 33 x 96: 0.74 s -> 0.41 s)
NUMBA_WORTH_BUS_PERIODS = 65_000


#: AC and SOCP voltages closer than this [pu] agree: a gap alone does not flag such a period
AGREE_PU = 1e-8


def numba_compiled() -> bool:
    """Whether one of pandapower's numba Jacobian kernels is already compiled in this process.

    pandapower picks ``create_J``, ``create_J2`` (no PV buses, as on these feeders, in
    pandapower 3.x) or ``create_J_ds`` (distributed slack) per network: any compiled one means
    numba has been paid for."""
    try:
        from pandapower.pf import create_jacobian_numba as kernels
    except ImportError:  # numba missing: pandapower falls back on its own
        return False
    names = ("create_J", "create_J2", "create_J_ds")
    return any(getattr(getattr(kernels, n, None), "signatures", None) for n in names)


def use_numba(n_buses: int, n_periods: int) -> bool:
    """Run the replay on numba when it is compiled already or the replay repays compiling it."""
    return numba_compiled() or n_buses * n_periods > NUMBA_WORTH_BUS_PERIODS


def replay_network(feeder, v_source_pu: float | None = None):
    """The pandapower network the replay solves: balanced feeder, one constant-PQ load per bus."""
    import pandapower as pp

    net = feeder.to_pandapower()
    net.load.drop(net.load.index, inplace=True)
    buses = list(feeder.bus.index)
    lookup = dict(zip(net.bus.name, net.bus.index, strict=True))
    pp.create_loads(net, buses=[lookup[b] for b in buses], p_mw=0.0, q_mvar=0.0, name=buses)
    if v_source_pu is not None:
        net.ext_grid["vm_pu"] = v_source_pu
    return net, buses


def ac_periods(net, p_mw: np.ndarray, q_mvar: np.ndarray, times, numba: bool, desc=None):
    """AC power flow of ``net`` period by period: its loads take row k of ``p_mw`` /
    ``q_mvar`` (period x load) [MW, Mvar]; yields ``(k, t)`` after each solved period, for the
    caller to read ``net.res_*``. Later periods start from the last solution and reuse
    pandapower's internal structures, only the loads change (pandapower's "recycle").
    ``desc``: a progress bar's label (:mod:`gridv2g.progress`). A period without a solution
    raises the power flow's error, its ``period`` attribute set to the time."""
    options: dict = {"init": "auto", "numba": numba}
    periods = progress.bar(times, desc=desc, unit="period") if desc else times
    for k, t in enumerate(periods):
        net.load["p_mw"] = p_mw[k]
        net.load["q_mvar"] = q_mvar[k]
        try:
            run_powerflow(net, **options)
        except Exception as exc:  # pandapower's LoadflowNotConverged and friends
            exc.period = t
            raise
        options = {
            "init": "results",
            "numba": numba,
            "recycle": {"trafo": False, "gen": False, "bus_pq": True},
        }
        yield k, t


def validate(
    result,
    loss_tol_percent: float = 0.1,
    v_tol_pu: float = 1e-3,
    gap_tol: float = 1e-5,
    numba: bool | None = None,
) -> ValidationReport:
    """AC replay of every period of ``result`` (see module docstring); ``numba=None`` chooses
    pandapower's numba path when it pays (:func:`use_numba`)."""
    data = result.data
    return replay(
        data.feeder,
        result.res_bus,
        result.res_line,
        data.horizon.hours,
        data.v_source_pu,
        loss_tol_percent,
        v_tol_pu,
        gap_tol,
        numba,
        limits=case_limits(data),
    )


def case_limits(data) -> tuple[float, float, dict]:
    """The case's voltage limits: default (vmin, vmax) [pu] and {bus: (vmin, vmax)}."""
    return float(data.vmin_pu), float(data.vmax_pu), dict(data.bus_v_limits)


def replay(
    feeder,
    res_bus: pd.DataFrame,
    res_line: pd.DataFrame,
    hours: float,
    v_source_pu: float | None = None,
    loss_tol_percent: float = 0.1,
    v_tol_pu: float = 1e-3,
    gap_tol: float = 1e-5,
    numba: bool | None = None,
    limits: tuple | None = None,
) -> ValidationReport:
    """AC replay of result tables (as written by ``Result.to_dir``) on ``feeder``; with
    ``limits`` (:func:`case_limits`) every bus-period's AC voltage is checked against the
    case's own limits (``voltage_violations``, ``limits_ok``; the source bus is held)."""
    net, buses = replay_network(feeder, v_source_pu)
    t0 = time.perf_counter()
    p = res_bus.p_kw.unstack("bus")[buses]
    q = res_bus.q_kvar.unstack("bus")[buses]
    vm_socp = res_bus.vm_pu.unstack("bus")[buses]
    loss_socp = res_line.loss_kw.groupby("time").sum()
    gap = res_line.relaxation_gap.groupby("time").max()
    names = net.bus.name.to_numpy()
    order = pd.Index(names).get_indexer(buses)
    rows, vm_ac = [], []
    p_mw = p.to_numpy() / 1000.0
    q_mvar = q.to_numpy() / 1000.0
    if numba is None:
        numba = use_numba(len(buses), len(p.index))
    for k, t in ac_periods(net, p_mw, q_mvar, p.index, numba, "pandapower replay"):
        v = net.res_bus.vm_pu.to_numpy()[order]
        vm_ac.append(v)
        losses = 1000.0 * (net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum())
        dv = np.abs(v - vm_socp.iloc[k].to_numpy())
        k = int(np.argmax(dv))
        rows.append(
            {
                "time": t,
                "losses_socp_kw": float(loss_socp[t]),
                "losses_ac_kw": float(losses),
                "max_dv_pu": float(dv[k]),
                "max_dv_bus": buses[k],
                "max_relaxation_gap": float(gap[t]),
            }
        )
    seconds = time.perf_counter() - t0
    df = pd.DataFrame(rows).set_index("time")
    with np.errstate(divide="ignore", invalid="ignore"):
        df["losses_error_percent"] = 100.0 * (df.losses_socp_kw - df.losses_ac_kw) / df.losses_ac_kw
    # a gap flags a period only when the AC replay disagrees beyond AGREE_PU: a plan whose AC
    # voltages agree to 1e-8 pu (and losses to loss_tol_percent) is physical whatever its
    # gap column says (the solver's resolution on lightly loaded branches)
    df["flagged"] = (
        (df.losses_error_percent.abs() > loss_tol_percent)
        | (df.max_dv_pu > v_tol_pu)
        | ((df.max_relaxation_gap > gap_tol) & (df.max_dv_pu > AGREE_PU))
    )
    res_bus_ac = pd.DataFrame(
        {"vm_pu": np.concatenate(vm_ac)},
        index=pd.MultiIndex.from_product([p.index, buses], names=["time", "bus"]),
    )
    violations = 0
    if limits is not None:
        lo, hi, per_bus = limits
        vmin = np.array([per_bus.get(b, (lo, hi))[0] for b in buses], dtype=float)
        vmax = np.array([per_bus.get(b, (lo, hi))[1] for b in buses], dtype=float)
        held = np.array([b == str(feeder.source_bus) for b in buses])
        v_all = np.vstack(vm_ac)[:, ~held]
        tol = 1e-6
        violations = int(((v_all < vmin[~held] - tol) | (v_all > vmax[~held] + tol)).sum())
    summary = {
        "periods": len(df),
        "flagged_periods": int(df.flagged.sum()),
        "voltage_violations": violations,
        "limits_ok": violations == 0,
        "max_losses_error_percent": float(df.losses_error_percent.abs().max()),
        "max_dv_pu": float(df.max_dv_pu.max()),
        "max_relaxation_gap": float(df.max_relaxation_gap.max()),
        "losses_socp_kwh": float(df.losses_socp_kw.sum() * hours),
        "losses_ac_kwh": float(df.losses_ac_kw.sum() * hours),
        "tolerances": {"loss_percent": loss_tol_percent, "v_pu": v_tol_pu, "gap": gap_tol},
        "replay_s": seconds,
        "replay_numba": numba,
    }
    return ValidationReport(
        periods=df,
        summary=summary,
        res_bus_ac=res_bus_ac,
        limits=None if limits is None else (float(limits[0]), float(limits[1])),
        source_bus=str(feeder.source_bus),
    )
