r"""Two-stage stochastic station scheduling (seed 000, Wu: stochastic charging-station model).

The station does not know tomorrow's EVs: their number is Poisson, their arrival times and
states of charge Normal (any fleet sampler can stand in). Here-and-now (first stage): the
energy :math:`E_0` of the station storage bought day-ahead at the price :math:`p_0`. Wait-and-
see (second stage, per scenario *s*): the EV and storage schedules. Maximise the expected
profit (scenarios equally likely):

.. math::
    \max_{E_0}\; -p_0 E_0 + \frac{1}{S} \sum_s \Big[\text{EV-station profit}_s +
    \text{grid-station profit}_s\Big]

The model is vectorized over scenarios: every scenario is one "station" of a single station
block (its EVs, its storage starting at the shared :math:`E_0`), so S scenarios are one
CVXPY problem built without a Python loop over scenarios' constraints.

Measures (Birge & Louveaux): RP, the recourse problem's optimum; EEV, the expected result of
using the mean-value problem's first-stage decision; WS, the wait-and-see value (each
scenario with its own :math:`E_0`). VSS = RP - EEV >= 0 and EVPI = WS - RP >= 0 (profits).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp

from gridv2g.errors import GridV2GError
from gridv2g.fleet import mean_scenario, sample_scenarios
from gridv2g.horizon import long_table
from gridv2g.inputs import StationData, StationSpec, StochasticData
from gridv2g.model.arrays import ess_arrays, station_ev_arrays
from gridv2g.model.fleet import set_station_limits
from gridv2g.model.objective import station_money
from gridv2g.model.station import station_block
from gridv2g.problems.base import Problem
from gridv2g.result.stochastic import StochasticResult

__all__ = [
    "StochasticData",
    "StochasticResult",
    "TwoStageProblem",
    "mean_scenario",
    "sample_scenarios",
    "solve_stochastic",
    "solve_two_stage",
    "stack_scenarios",
]


def stack_scenarios(base: StationData, tables: list[pd.DataFrame]) -> StationData:
    """One StationData whose stations are the scenarios (``<station>#<k>``), EV ids prefixed."""
    st = base.stations
    if len(st.stations) != 1:
        raise GridV2GError("stochastic scheduling takes exactly one station")
    name = st.stations.index[0]
    names = [f"{name}#{k}" for k in range(len(tables))]
    sessions = pd.concat(
        [
            t.assign(station=names[k]).rename(index=lambda i, k=k: f"s{k}:{i}")
            for k, t in enumerate(tables)
        ]
    )
    stations = pd.DataFrame(
        {"ports": np.repeat(st.stations.ports.to_numpy(), len(tables))},
        index=pd.Index(names, name="station"),
    )

    def wide(frame):
        return pd.DataFrame({n: frame[name].to_numpy() for n in names}, index=frame.index)

    ess = None
    if st.ess is not None:
        ess = pd.DataFrame([st.ess.iloc[0].to_dict()] * len(tables), index=names)
    spec = StationSpec(
        stations=stations,
        p_import_max_kw=wide(st.p_import_max_kw),
        p_export_max_kw=wide(st.p_export_max_kw),
        ess=ess,
    )
    return dataclasses.replace(base, sessions=sessions, stations=spec)


@dataclass
class TwoStageSolution:
    expected_profit: float  # objective: mean scenario profit - day-ahead storage cost
    e0_kwh: np.ndarray  # first-stage decision (one value, or one per scenario for WS)
    scenario_profit: np.ndarray
    status: str
    seconds: float
    #: (scenario x period) station net import [kW] (the second stage)
    net_kw: np.ndarray | None = None
    #: (scenario x period boundary) storage energy [kWh], from the first stage's E0
    ess_e_kwh: np.ndarray | None = None


class TwoStageProblem(Problem):
    """The two-stage problem over ``tables`` (default: the data's scenarios) as one CVXPY
    problem: every scenario is one station of a single station block.

    ``e0_kwh`` fixes the first stage (for EEV); ``per_scenario`` gives every scenario its own
    first stage (wait-and-see, WS). Solving returns a :class:`TwoStageSolution`.
    """

    kind = "two-stage"

    def __init__(
        self,
        data: StochasticData,
        tables: list[pd.DataFrame] | None = None,
        e0_kwh: float | None = None,
        per_scenario: bool = False,
    ):
        t0 = time.perf_counter()
        tables = data.scenarios if tables is None else tables
        S = len(tables)
        stacked = stack_scenarios(data.base, tables)
        ev, ess = station_ev_arrays(stacked), ess_arrays(stacked)
        if ess is None:
            raise GridV2GError("stochastic scheduling needs a station storage (the first stage)")
        cap = float(ess.e_kwh[0])
        lo, hi = float(ess.soc_min[0]) * cap, float(ess.soc_max[0]) * cap
        cons = []
        if e0_kwh is not None:
            e0 = cp.Constant(np.full(S, float(e0_kwh)))
        elif per_scenario:
            e0 = cp.Variable(S, name="ess-e0")
            cons += [e0 >= lo, e0 <= hi]
        else:
            shared = cp.Variable(name="ess-e0")
            cons += [shared >= lo, shared <= hi]
            e0 = shared * np.ones(S)
        h = stacked.horizon.hours
        T = stacked.horizon.periods
        block = station_block(
            ev,
            S,
            h,
            stacked.stations.stations.ports.astype(float).fillna(np.inf).to_numpy(),
            np.zeros(0),
            np.zeros(0, dtype=int),
            soft_target=stacked.soft_target,
            exclusive=stacked.exclusive,
            ess=ess,
            ess_initial_kwh=e0,
        )
        set_station_limits(block, stacked)
        imp = cp.Variable((S, T), nonneg=True)
        exp = cp.Variable((S, T), nonneg=True)
        cons += [*block.all_constraints(), imp - exp == block.net_kw]
        n = len(ev.station)
        Smat = sp.csr_matrix((np.ones(n), (ev.station, np.arange(n))), shape=(S, n))
        idx = stacked.horizon.index
        p = {
            k: getattr(stacked.prices, k).reindex(idx).to_numpy(float) for k in vars(stacked.prices)
        }
        # the station profit of seed 000 per scenario (one row per scenario)
        profit = station_money(
            h, imp, exp, Smat @ block.c, Smat @ block.d, p, stacked.degradation_per_kwh
        )["profit"]
        if stacked.soft_target:
            profit = profit - stacked.shortfall_penalty_per_kwh * (Smat @ block.shortfall)
        self.scenario_value = profit - data.day_ahead_price_per_kwh * e0
        self.e0 = e0
        self.block = block
        self.integer = block.integer
        self.problem = cp.Problem(cp.Maximize(cp.sum(self.scenario_value) / S), cons)
        self.timings = {"build_s": time.perf_counter() - t0}

    def result(self, solver: str) -> TwoStageSolution:
        return TwoStageSolution(
            expected_profit=float(self.problem.value),
            e0_kwh=np.atleast_1d(np.asarray(self.e0.value, dtype=float)),
            scenario_profit=np.asarray(self.scenario_value.value, dtype=float),
            status=self.problem.status,
            seconds=self.timings["build_s"] + self.timings["total_s"],
            net_kw=np.asarray(self.block.net_kw.value, dtype=float),
            ess_e_kwh=np.asarray(self.block.ess_e.value, dtype=float),
        )


def solve_two_stage(
    data: StochasticData,
    tables: list[pd.DataFrame] | None = None,
    e0_kwh: float | None = None,
    per_scenario: bool = False,
    solver: str = "CLARABEL",
    **options,
) -> TwoStageSolution:
    """Build and solve a :class:`TwoStageProblem` (arguments as there)."""
    return TwoStageProblem(data, tables, e0_kwh, per_scenario).solve(solver, **options)


def stochastic_measures(data: StochasticData, solver: str = "CLARABEL", **options) -> dict:
    """RP, EEV, WS, VSS = RP - EEV and EVPI = WS - RP, with the first-stage decisions."""
    return solve_stochastic(data, solver, **options).summary


def solve_stochastic(data: StochasticData, solver: str = "CLARABEL", **options) -> StochasticResult:
    """Solve RP, the mean-value problem, EEV and WS; the measures and per-scenario profits.
    ``options`` go to the solver of each."""
    rp = solve_two_stage(data, solver=solver, **options)
    mean_value = solve_two_stage(data, tables=[data.mean_sessions], solver=solver, **options)
    e0_mv = float(mean_value.e0_kwh[0])
    eev = solve_two_stage(data, e0_kwh=e0_mv, solver=solver, **options)
    ws = solve_two_stage(data, per_scenario=True, solver=solver, **options)
    summary = {
        "scenarios": len(data.scenarios),
        "rp": rp.expected_profit,
        "eev": eev.expected_profit,
        "ws": ws.expected_profit,
        "vss": rp.expected_profit - eev.expected_profit,
        "evpi": ws.expected_profit - rp.expected_profit,
        "e0_kwh": float(rp.e0_kwh[0]),
        "e0_mean_value_kwh": e0_mv,
        "rp_seconds": rp.seconds,
        "evs_per_scenario_mean": float(np.mean([len(t) for t in data.scenarios])),
        "solver": solver,
        "status": rp.status,
    }
    res_scenario = pd.DataFrame(
        {
            "evs": [len(t) for t in data.scenarios],
            "profit_rp": rp.scenario_profit,
            "profit_eev": eev.scenario_profit,
            "profit_ws": ws.scenario_profit,
            "e0_ws_kwh": ws.e0_kwh,
        },
        index=pd.RangeIndex(len(data.scenarios), name="scenario"),
    )
    times = data.base.horizon.index
    names = list(range(len(data.scenarios)))
    res_power = pd.DataFrame(
        {
            "p_kw": long_table(rp.net_kw, times, names, "scenario"),
            "ess_e_kwh": long_table(rp.ess_e_kwh[:, 1:], times, names, "scenario"),
        }
    )
    return StochasticResult(
        status=rp.status,
        solver=solver,
        objective=rp.expected_profit,
        timings={
            "rp_s": rp.seconds,
            "total_s": rp.seconds + mean_value.seconds + eev.seconds + ws.seconds,
        },
        summary=summary,
        res_scenario=res_scenario,
        res_power=res_power,
    )
