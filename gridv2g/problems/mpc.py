r"""Rolling-horizon (model predictive) control of a station (seed 001: 500+ EVs every 15 min).

EVs are revealed when they arrive. Every period *k* the controller solves the station problem
over a receding window of *W* periods with what it knows (the EVs present, their energies,
departures and targets, the prices ahead), applies the first period's charge and discharge,
and moves on. The problem is built once with Parameters (DPP): each step only writes new
values and re-solves, no canonicalization.

Window rules: an EV's energy at its departure boundary must reach its target; if it departs
after the window, the window's end must hold at least ``target - eta P h (periods after the
window)``, what its charger could still add later. Targets are soft with a high penalty
(``shortfall_penalty_per_kwh``, default 10 per kWh) so an EV whose needs are revealed too late
gives a shortfall, reported, instead of an infeasible step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from gridv2g.errors import SolveError
from gridv2g.problems.station import (
    NO_LIMIT_KW,
    StationData,
    StationResult,
    ev_arrays,
    money,
    station_tables,
    uncontrolled,
)

#: used for a step on which the chosen solver fails or is inaccurate
FALLBACK_SOLVER = "HIGHS"


class RollingHorizon:
    """Receding-horizon controller of the stations of ``data`` (no ports, no storage)."""

    def __init__(self, data: StationData, window: int | None = None, penalty: float = 10.0):
        from gridv2g.fleet import plug_windows

        t0 = time.perf_counter()
        self.data = data
        self.ev = ev = ev_arrays(data)
        self._a, _ = plug_windows(data.sessions, data.horizon)
        T = data.horizon.periods
        W = self.W = int(window or T)
        self.penalty = float(penalty)
        n = len(ev.station)
        ns = len(data.stations.stations)
        h = self.h = data.horizon.hours
        self.ub_c = cp.Parameter((n, W), nonneg=True, name="mpc-p_charge_max")
        self.ub_d = cp.Parameter((n, W), nonneg=True, name="mpc-p_discharge_max")
        self.e0 = cp.Parameter(n, name="mpc-e_now")
        self.at_departure = cp.Parameter((n, W + 1), nonneg=True, name="mpc-departure")
        self.target = cp.Parameter(n, nonneg=True, name="mpc-target")
        self.buy = cp.Parameter(W, name="mpc-buy")
        self.sell = cp.Parameter(W, name="mpc-sell")
        self.p_import = cp.Parameter((ns, W), nonneg=True, name="mpc-p_import_max")
        self.p_export = cp.Parameter((ns, W), nonneg=True, name="mpc-p_export_max")
        c = self.c = cp.Variable((n, W), nonneg=True)
        d = self.d = cp.Variable((n, W), nonneg=True)
        e = cp.Variable((n, W + 1))
        short = cp.Variable(n, nonneg=True)
        imp = cp.Variable((ns, W), nonneg=True)
        exp = cp.Variable((ns, W), nonneg=True)
        S = sp.csr_matrix((np.ones(n), (ev.station, np.arange(n))), shape=(ns, n))
        lo = np.minimum(ev.e_min_kwh, ev.e_arrival_kwh)[:, None]
        hi = np.maximum(ev.e_max_kwh, ev.e_arrival_kwh)[:, None]
        cons = [
            c <= self.ub_c,
            d <= self.ub_d,
            e[:, 0] == self.e0,
            e[:, 1:]
            == e[:, :-1]
            + h
            * (
                cp.multiply(ev.eta_charge[:, None], c)
                - cp.multiply(1 / ev.eta_discharge[:, None], d)
            ),
            e >= lo,
            e <= hi,
            cp.sum(cp.multiply(self.at_departure, e), axis=1) + short >= self.target,
            imp - exp == S @ (c - d),
            imp <= self.p_import,
            exp <= self.p_export,
        ]
        ones = np.ones(ns)
        objective = (
            h * ((ones @ imp) @ self.buy - (ones @ exp) @ self.sell)
            + data.degradation_per_kwh * h * cp.sum(d)
            + self.penalty * cp.sum(short)
        )
        self.problem = cp.Problem(cp.Minimize(objective), cons)
        self.build_s = time.perf_counter() - t0

    def _extend(self, series: pd.Series, k: int) -> np.ndarray:
        """Values of a per-period series for periods k..k+W-1 (the daily pattern repeats)."""
        values = series.reindex(self.data.horizon.index).to_numpy(float)
        return np.resize(np.roll(values, -k), self.W)

    def set_step(self, k: int, energy: np.ndarray) -> None:
        """Write the Parameters of the window starting at period ``k``."""
        ev, W, T = self.ev, self.W, self.data.horizon.periods
        a, dep = self._a, ev.departure_index
        visible = a <= k
        cols = k + np.arange(W)
        plugged = (cols[None, :] >= a[:, None]) & (cols[None, :] < dep[:, None]) & (cols < T)
        plugged &= visible[:, None]
        self.ub_c.value = ev.p_charge_max_kw[:, None] * plugged
        self.ub_d.value = ev.p_discharge_max_kw[:, None] * plugged
        self.e0.value = energy
        boundary = np.clip(dep - k, 0, W)
        active = visible & (dep > k)
        later = np.maximum(dep - (k + W), 0)
        reachable_later = ev.eta_charge * ev.p_charge_max_kw * self.h * later
        onehot = np.zeros((len(dep), W + 1))
        onehot[np.arange(len(dep)), boundary] = 1.0
        self.at_departure.value = onehot * active[:, None]
        self.target.value = np.where(
            active, np.maximum(ev.e_target_kwh - reachable_later, 0.0), 0.0
        )
        prices = self.data.prices
        self.buy.value = self._extend(prices.buy, k)
        self.sell.value = self._extend(prices.sell, k)
        st = self.data.stations
        for param, frame in (
            (self.p_import, st.p_import_max_kw),
            (self.p_export, st.p_export_max_kw),
        ):
            values = frame.reindex(self.data.horizon.index)[st.stations.index].to_numpy(float).T
            values = np.nan_to_num(np.minimum(values, NO_LIMIT_KW), nan=NO_LIMIT_KW)
            param.value = np.stack([np.resize(np.roll(v, -k), W) for v in values])

    def _solve(self, solver: str) -> str:
        """Solve the current step; a solver failure counts as a status, not an exception.

        The fallback solver works on a twin Problem (same variables and constraints) so the
        main problem keeps its compiled DPP program: switching solvers on one Problem would
        replace its cache and force a full DPP compilation (about 45 s for 500 EVs) at the
        next step.
        """
        import warnings

        fallback = solver != self.solver
        problem = (
            cp.Problem(self.problem.objective, self.problem.constraints)
            if fallback
            else self.problem
        )
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                problem.solve(solver=solver, ignore_dpp=fallback)
        except cp.SolverError:
            return "solver_error"
        return problem.status

    def run(self, solver: str = "CLARABEL", progress: bool = True, steps: int | None = None):
        """Control the whole horizon (or its first ``steps`` periods); returns a
        :class:`~gridv2g.problems.station.StationResult` (``summary`` has per-step times)."""
        ev, T, h = self.ev, self.data.horizon.periods, self.h
        self.solver = solver
        n = len(ev.station)
        energy = ev.e_arrival_kwh.copy()
        c_applied = np.zeros((n, T))
        d_applied = np.zeros((n, T))
        e_path = np.zeros((n, T + 1))
        e_path[:, 0] = energy
        times = []
        steps = T if steps is None else min(steps, T)
        inaccurate = fallbacks = 0
        for k in tqdm(range(steps), desc="MPC", disable=not progress, leave=False):
            self.set_step(k, energy)
            if not self.ub_c.value.any() and not self.ub_d.value.any():
                continue  # no EV plugged in now or within the window: nothing to decide
            t0 = time.perf_counter()
            status = self._solve(solver)
            if status != cp.OPTIMAL and solver != FALLBACK_SOLVER:
                # an interior-point failure on a degenerate step: the simplex solver is slower
                # but does not fail there
                status = self._solve(FALLBACK_SOLVER)
                fallbacks += 1
            times.append(time.perf_counter() - t0)
            if status == cp.OPTIMAL_INACCURATE:
                inaccurate += 1
            elif status != cp.OPTIMAL:
                raise SolveError(f"MPC step {k}: {solver} returned {status}")
            c0 = np.clip(self.c.value[:, 0], 0.0, self.ub_c.value[:, 0])
            d0 = np.clip(self.d.value[:, 0], 0.0, self.ub_d.value[:, 0])
            energy = energy + h * (ev.eta_charge * c0 - d0 / ev.eta_discharge)
            c_applied[:, k], d_applied[:, k] = c0, d0
            e_path[:, k + 1] = energy
        e_path[:, steps + 1 :] = energy[:, None]
        res_ev, res_station, res_ev_summary, net = station_tables(
            self.data, ev, c_applied, d_applied, e_path
        )
        figures = money(self.data, c_applied, d_applied, net)
        base = uncontrolled(self.data)
        base_tables = station_tables(self.data, ev, base["c"], base["d"], base["e"])
        base_money = money(self.data, base["c"], base["d"], base_tables[3])
        summary = {
            **figures,
            "uncontrolled_cost": base_money["cost"],
            "savings_vs_uncontrolled_percent": 100.0
            * (base_money["cost"] - figures["cost"])
            / base_money["cost"],
            "shortfall_kwh": float(res_ev_summary.shortfall_kwh.sum()),
            "peak_kw": float(net.sum(axis=0).max()),
            "steps": steps,
            "window": self.W,
            "build_s": self.build_s,
            "first_step_s": times[0],
            "resolve_mean_s": float(np.mean(times[1:])) if len(times) > 1 else float("nan"),
            "total_solve_s": float(np.sum(times)),
            "solves": len(times),
            "inaccurate_steps": inaccurate,
            "fallback_steps": fallbacks,
        }
        return StationResult(
            res_ev=res_ev,
            res_station=res_station,
            res_ev_summary=res_ev_summary,
            summary=summary,
            baseline={"money": base_money, "res_station": base_tables[1]},
            problem=self,
        )


@dataclass
class MPCComparison:
    mpc: StationResult
    perfect_foresight: StationResult
    table: pd.DataFrame


def compare_with_perfect_foresight(
    data: StationData,
    window: int | None = None,
    solver: str = "CLARABEL",
    progress: bool = True,
    penalty: float = 10.0,
) -> MPCComparison:
    """MPC, the perfect-foresight optimum (all EVs known, soft targets at the same penalty)
    and the uncontrolled baseline on the same sessions: cost and shortfall side by side."""
    import dataclasses

    from gridv2g.problems.station import StationSchedule

    mpc = RollingHorizon(data, window, penalty).run(solver, progress=progress)
    pf_data = dataclasses.replace(
        data, soft_target=True, shortfall_penalty_per_kwh=mpc.problem.penalty
    )
    pf = StationSchedule(pf_data).solve(solver)
    base = mpc.baseline["money"]
    table = pd.DataFrame(
        {
            "cost": [mpc.summary["cost"], pf.summary["cost"], base["cost"]],
            "shortfall_kwh": [
                mpc.summary["shortfall_kwh"],
                pf.summary["shortfall_kwh"],
                float(
                    np.maximum(
                        data.sessions.e_target_kwh.to_numpy()
                        - uncontrolled(data)["e"][
                            np.arange(len(data.sessions)), ev_arrays(data).departure_index
                        ],
                        0,
                    ).sum()
                ),
            ],
        },
        index=pd.Index(["mpc", "perfect_foresight", "uncontrolled"], name="strategy"),
    )
    table["cost_vs_perfect_foresight_percent"] = (
        100.0
        * (table.cost - table.cost["perfect_foresight"])
        / abs(table.cost["perfect_foresight"])
    )
    return MPCComparison(mpc=mpc, perfect_foresight=pf, table=table)
