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
from gridv2g.model.station import station_block
from gridv2g.problems.station import (
    NO_LIMIT_KW,
    StationData,
    StationSpec,
    ess_arrays,
    ev_arrays,
)


@dataclass
class StochasticData:
    """``base``: a one-station StationData (its sessions are ignored); ``scenarios``: session
    tables, one per scenario; ``mean_sessions``: the mean-value scenario; ``day_ahead_price``
    [per kWh] of the storage energy bought the day before."""

    base: StationData
    scenarios: list[pd.DataFrame]
    mean_sessions: pd.DataFrame
    day_ahead_price_per_kwh: float


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


def solve_two_stage(
    data: StochasticData,
    tables: list[pd.DataFrame] | None = None,
    e0_kwh: float | None = None,
    per_scenario: bool = False,
    solver: str = "CLARABEL",
) -> TwoStageSolution:
    """Solve the two-stage problem over ``tables`` (default: the data's scenarios).

    ``e0_kwh`` fixes the first stage (for EEV); ``per_scenario`` gives every scenario its own
    first stage (wait-and-see, WS).
    """
    t0 = time.perf_counter()
    tables = data.scenarios if tables is None else tables
    S = len(tables)
    stacked = stack_scenarios(data.base, tables)
    ev, ess = ev_arrays(stacked), ess_arrays(stacked)
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
    idx = stacked.horizon.index
    for key in ("p_import_max_kw", "p_export_max_kw"):
        values = getattr(stacked.stations, key).reindex(idx).to_numpy(float).T
        block.params[key].value = np.nan_to_num(np.minimum(values, NO_LIMIT_KW), nan=NO_LIMIT_KW)
    imp = cp.Variable((S, T), nonneg=True)
    exp = cp.Variable((S, T), nonneg=True)
    cons += [*block.all_constraints(), imp - exp == block.net_kw]
    n = len(ev.station)
    Smat = sp.csr_matrix((np.ones(n), (ev.station, np.arange(n))), shape=(S, n))
    p = {k: getattr(stacked.prices, k).reindex(idx).to_numpy(float) for k in vars(stacked.prices)}
    profit = (
        h * (Smat @ block.c) @ p["tariff"]
        - h * (Smat @ block.d) @ p["v2g_pay"]
        - h * imp @ p["buy"]
        + h * exp @ p["sell"]
        - stacked.degradation_per_kwh * h * (Smat @ cp.sum(block.d, axis=1))
    )
    if stacked.soft_target:
        profit = profit - stacked.shortfall_penalty_per_kwh * (Smat @ block.shortfall)
    scenario_value = profit - data.day_ahead_price_per_kwh * e0
    problem = cp.Problem(cp.Maximize(cp.sum(scenario_value) / S), cons)
    problem.solve(solver=solver)
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise GridV2GError(f"two-stage problem: {problem.status}")
    return TwoStageSolution(
        expected_profit=float(problem.value),
        e0_kwh=np.atleast_1d(np.asarray(e0.value, dtype=float)),
        scenario_profit=np.asarray(scenario_value.value, dtype=float),
        status=problem.status,
        seconds=time.perf_counter() - t0,
    )


@dataclass
class StochasticResult:
    """``summary``: RP, EEV, WS, VSS, EVPI, first-stage decisions, timings;
    ``res_scenario`` (scenario): EVs and profit of each scenario under the RP decision."""

    summary: dict
    res_scenario: pd.DataFrame

    def to_dir(self, directory, fmt: str = "parquet"):
        from gridv2g.result import write_tables

        return write_tables(directory, {"res_scenario": self.res_scenario}, self.summary, fmt)


def stochastic_measures(data: StochasticData, solver: str = "CLARABEL") -> dict:
    """RP, EEV, WS, VSS = RP - EEV and EVPI = WS - RP, with the first-stage decisions."""
    return solve_stochastic(data, solver).summary


def solve_stochastic(data: StochasticData, solver: str = "CLARABEL") -> StochasticResult:
    """Solve RP, the mean-value problem, EEV and WS; the measures and per-scenario profits."""
    rp = solve_two_stage(data, solver=solver)
    mean_value = solve_two_stage(data, tables=[data.mean_sessions], solver=solver)
    e0_mv = float(mean_value.e0_kwh[0])
    eev = solve_two_stage(data, e0_kwh=e0_mv, solver=solver)
    ws = solve_two_stage(data, per_scenario=True, solver=solver)
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
    return StochasticResult(summary=summary, res_scenario=res_scenario)


def sample_scenarios(
    count: int,
    mean_evs: float,
    seed: int = 0,
    sampler=None,
    **sampler_kwargs,
) -> list[pd.DataFrame]:
    """``count`` scenarios: EV number ~ Poisson(mean_evs) (at least 1), sessions from
    ``sampler`` (default :func:`gridv2g.fleet.sample_truncated_gaussian`), seeds derived from
    ``seed`` so the set is reproducible."""
    from gridv2g import fleet

    sampler = sampler or fleet.sample_truncated_gaussian
    rng = np.random.default_rng(seed)
    counts = np.maximum(rng.poisson(mean_evs, size=count), 1)
    seeds = rng.integers(0, 2**31 - 1, size=count)
    return [
        sampler(n=int(n), seed=int(s), **sampler_kwargs) for n, s in zip(counts, seeds, strict=True)
    ]


def mean_scenario(mean_evs: float, day: str, station: str, step_min: int = 1, **ranges):
    """The mean-value scenario: round(mean_evs) identical EVs at the mid-points of the
    sampler's ranges (the means of its truncated Normals)."""
    from gridv2g.fleet import sessions_frame

    r = {
        "capacity_kwh": 24.0,
        "p_kw": 3.3,
        "eta": 0.98,
        "arrival_h": (8, 15),
        "departure_h": (13, 22),
        "soc_arrival": (0.2, 0.65),
        "soc_target": (0.6, 0.95),
        "v2g": True,
    }
    r.update(ranges)
    n = max(round(mean_evs), 1)
    origin = pd.Timestamp(day)

    def mid(v):
        return 0.5 * (float(v[0]) + float(v[1]))

    def at(hours):
        minutes = round(hours * 60.0 / step_min) * step_min
        return origin + pd.Timedelta(minutes=minutes)

    cap = float(r["capacity_kwh"])
    rows = [
        {
            "ev_id": f"mean{i + 1:03d}",
            "station": station,
            "arrival": at(mid(r["arrival_h"])),
            "departure": at(mid(r["departure_h"])),
            "e_arrival_kwh": cap * mid(r["soc_arrival"]),
            "e_target_kwh": cap * mid(r["soc_target"]),
            "capacity_kwh": cap,
            "p_charge_max_kw": float(r["p_kw"]),
            "p_discharge_max_kw": float(r["p_kw"]),
            "eta_charge": float(r["eta"]),
            "eta_discharge": float(r["eta"]),
            "v2g": bool(r["v2g"]),
        }
        for i in range(n)
    ]
    return sessions_frame(pd.DataFrame(rows))
