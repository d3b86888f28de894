r"""Station scheduling without a feeder: EVs, chargers, ports, storage, prices.

``StationSchedule`` assembles the station block (:mod:`gridv2g.model.station`) with an
objective; ``uncontrolled`` is the baseline every saving is measured against.

Objectives (money per the price columns; :math:`h` the period length in hours; import and
export are the station's net grid exchange, :math:`imp - exp = net`, both :math:`\ge 0`):

- ``cost`` (seed 001 eq. 1): :math:`h \sum_t (\pi^{buy}_t imp_t - \pi^{sell}_t exp_t) +
  \gamma h \sum d` - energy cost minus V2G revenue plus degradation.
- ``profit`` (seed 000, Wu): maximise :math:`h \sum_t (p^{CS}_t \sum c - r^{CS}_t \sum d)`
  (tariff charged to EV owners minus what the station pays them for discharge) minus the
  cost above.

Soft targets add :math:`\rho \sum_n s_n` (shortfall penalty per kWh, seed 002's rho).
"""

from __future__ import annotations

import dataclasses
import time

import cvxpy as cp
import numpy as np
import pandas as pd

from gridv2g.errors import GridV2GError, InfeasibleError
from gridv2g.inputs import NO_LIMIT_KW, Prices, StationData, StationSpec
from gridv2g.model.arrays import ess_arrays
from gridv2g.model.arrays import station_ev_arrays as ev_arrays
from gridv2g.model.fleet import FleetModel, fleet_block, set_station_limits
from gridv2g.model.objective import station_money
from gridv2g.problems.base import Problem
from gridv2g.result.station import (
    StationResult,
    baseline,
    build_station_result,
    money,
    solved_tables,
    station_tables,
    uncontrolled,
)
from gridv2g.solvers import describe_station, solve_once

__all__ = [
    "NO_LIMIT_KW",
    "FleetModel",
    "Prices",
    "StationData",
    "StationResult",
    "StationSchedule",
    "StationSpec",
    "baseline",
    "ess_arrays",
    "ev_arrays",
    "fleet_block",
    "money",
    "set_station_limits",
    "solved_tables",
    "station_tables",
    "uncontrolled",
]


class StationSchedule(Problem):
    """Build once, update Parameters, solve: scheduling of one or more stations."""

    kind = "station"
    integer_why = "exclusiveness / ports"

    def __init__(self, data: StationData, dpp: bool = False):
        t0 = time.perf_counter()
        self.data, self.dpp = data, dpp
        if data.objective not in ("cost", "profit"):
            raise GridV2GError(f"objective must be 'cost' or 'profit', got '{data.objective}'")
        h = data.horizon.hours
        T = data.horizon.periods
        st = data.stations
        self.ev, self.ess, self.ports, self.block = fleet_block(data)
        b = self.block
        ns = len(st.stations)
        self.price = {
            k: cp.Parameter(T, name=f"price-{k}") for k in ("buy", "sell", "tariff", "v2g_pay")
        }
        imp = cp.Variable((ns, T), nonneg=True, name="station-import")
        exp = cp.Variable((ns, T), nonneg=True, name="station-export")
        self.imp, self.exp = imp, exp
        cons = [*b.all_constraints(), imp - exp == b.net_kw]
        ones = np.ones(ns)
        terms = station_money(
            h,
            ones @ imp,
            ones @ exp,
            cp.sum(b.c, axis=0),
            cp.sum(b.d, axis=0),
            self.price,
            data.degradation_per_kwh,
        )
        terms["shortfall_penalty"] = data.shortfall_penalty_per_kwh * cp.sum(b.shortfall)
        self.terms = terms
        money_term = terms["cost"] if data.objective == "cost" else -terms["profit"]
        objective = money_term + terms["shortfall_penalty"]
        self.problem = cp.Problem(cp.Minimize(objective), cons)
        self.integer = b.integer
        self.timings = {"build_s": time.perf_counter() - t0}
        self.update()

    def update(self, **changes) -> None:
        """Set Parameters from ``self.data`` (fields in ``changes`` replaced first)."""
        for key, value in changes.items():
            if not hasattr(self.data, key):
                raise GridV2GError(f"update: unknown field '{key}'")
            setattr(self.data, key, value)
        idx = self.data.horizon.index
        for k, p in self.price.items():
            p.value = getattr(self.data.prices, k).reindex(idx).to_numpy(float)
        set_station_limits(self.block, self.data)

    # ------------------------------------------------------------------ solve hooks
    def result(self, solver: str) -> StationResult:
        return build_station_result(self, solver)

    def diagnose(self, solver: str) -> None:
        """An infeasible hard-target problem: name the EVs (and the periods where the
        station limit binds) from the soft version."""
        table = self.shortfalls(solver)
        raise InfeasibleError(describe_station(table), diagnosis=table)

    def shortfalls(self, solver: str, tol: float = 1e-4) -> pd.DataFrame:
        """EVs whose targets cannot be met in hard mode: solve with soft targets (a penalty
        far above any price) and list every shortfall with the periods where a station import
        limit binds during that EV's stay."""
        data = self.data
        soft = dataclasses.replace(data, soft_target=True, shortfall_penalty_per_kwh=1e4)
        sched = StationSchedule(soft)
        solve_once(sched.problem, solver, "the diagnosis (soft targets)")
        if sched.problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            raise InfeasibleError(
                "station problem infeasible even with soft targets (check storage end rules, "
                f"ports and export limits); status {sched.problem.status}"
            )
        b, ev = sched.block, sched.ev
        shortfall = np.asarray(b.shortfall.value, dtype=float)
        net = np.asarray(b.net_kw.value)
        binding = net >= b.params["p_import_max_kw"].value - 1e-3
        times = data.horizon.index
        rows = []
        for i in np.flatnonzero(shortfall > tol):
            s = ev.station[i]
            when = np.flatnonzero(binding[s] & ev.mask[i])
            rows.append(
                {
                    "ev": data.sessions.index[i],
                    "station": data.stations.stations.index[s],
                    "shortfall_kwh": float(shortfall[i]),
                    "e_target_kwh": float(ev.e_target_kwh[i]),
                    "import_limit_binding": [str(times[t]) for t in when],
                }
            )
        columns = ["ev", "station", "shortfall_kwh", "e_target_kwh", "import_limit_binding"]
        return pd.DataFrame(rows, columns=columns)
