r"""Rolling-horizon (model predictive) control of a station (seed 001: 500+ EVs every 15 min).

EVs are revealed when they arrive. Every period *k* the controller solves the station problem
over the window of periods ``[k, k + W)`` with what it knows (the EVs present, their energies,
departures and targets), applies the first period's charge and discharge, and moves on. The
problem is built once and only Parameters change between steps (DPP, no canonicalization).

The formulation is written in absolute time so that the Parameters stay tiny (one value per EV
or per period) and enter only right-hand sides: ``tau`` (1 inside the window), ``visible``
(1 for EVs that have arrived), ``e_now`` (their energy now) and ``target`` (what each must
hold at its departure boundary). Periods outside the window carry no charge or discharge, so
the energy stays ``e_now`` until period *k*. A first version used (EV x window) masks as
Parameters, a receding frame; for 500 EVs its one DPP compilation took 43 s and 18 GB.

Variables exist only for the (EV, period) entries where the EV is plugged in (about half of
the full array on the bench's overnight lot), with the caps, the energy recursion and the
station sums as sparse selection matrices: the same step problems (optimal values equal to
1e-7 relative) and half the re-solve time of the earlier full-array form (``form="dense"``:
500 EVs, 1.38 s against 2.95 s per step over the whole horizon, loaded machine).

Window rules: an EV departing after the window must hold, at the window's end, at least
``target - eta P h (periods between the window's end and its departure)``, what its charger
could still add later. Targets are soft with a high penalty (``penalty`` per kWh, default 10)
so an EV whose needs are revealed too late gives a reported shortfall, not an infeasible step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from gridv2g.errors import GridV2GError, SolveError
from gridv2g.fleet import plug_windows
from gridv2g.inputs import StationData
from gridv2g.model.arrays import station_ev_arrays, station_limits_kw
from gridv2g.model.objective import station_money
from gridv2g.model.station import partial_sums
from gridv2g.problems.base import Problem
from gridv2g.problems.station import StationSchedule
from gridv2g.result.base import solved
from gridv2g.result.station import (
    PRICE_KEYS,
    StationResult,
    baseline,
    limit_table,
    price_table,
    schedule_summary,
    station_tables,
)
from gridv2g.solvers import silence_highs_banner

#: used for a step on which the chosen solver fails or is inaccurate
FALLBACK_SOLVER = "HIGHS"


class RollingHorizon(Problem):
    """Receding-horizon controller of the stations of ``data`` (no ports, no storage).

    Solves through the one template of :class:`~gridv2g.problems.base.Problem`: its timed
    solve is the control loop (:meth:`run_solver`), its result the applied schedule."""

    kind = "MPC"

    def __init__(
        self,
        data: StationData,
        window: int | None = None,
        penalty: float = 10.0,
        form: str = "plugged",
    ):
        """Build the controller's problem once. ``form``: ``"plugged"`` (default) has
        variables only for the (EV, period) entries where the EV is plugged in; ``"dense"``
        is the earlier form with full (EV x period) arrays and masks (the same problem, kept
        for the bench's ratio and as a reference in the tests)."""
        t0 = time.perf_counter()
        if form not in ("plugged", "dense"):
            raise GridV2GError(f"RollingHorizon: form must be 'plugged' or 'dense', got '{form}'")
        self.data, self.form = data, form
        self.dpp = True
        self.ev = ev = station_ev_arrays(data)
        self._a, _ = plug_windows(data.sessions, data.horizon)
        T = data.horizon.periods
        self.W = int(window or T)
        self.penalty = float(penalty)
        n = len(ev.station)
        ns = len(data.stations.stations)
        h = self.h = data.horizon.hours
        idx = data.horizon.index
        self.tau = cp.Parameter(T, nonneg=True, name="mpc-window")
        self.visible = cp.Parameter(n, nonneg=True, name="mpc-visible")
        self.e0 = cp.Parameter(n, name="mpc-e_now")
        self.target = cp.Parameter(n, nonneg=True, name="mpc-target")
        short = cp.Variable(n, nonneg=True)
        imp = cp.Variable((ns, T), nonneg=True)
        exp = cp.Variable((ns, T), nonneg=True)
        limits = station_limits_kw(data)
        build = self._plugged_block if form == "plugged" else self._dense_block
        cons, net, c_by_period, d_by_period, e_departure = build(ns, T)
        cons += [
            e_departure + short >= self.target,
            imp - exp == net,
            imp <= limits["p_import_max_kw"],
            exp <= limits["p_export_max_kw"],
        ]
        ones = np.ones(ns)
        prices = {k: getattr(data.prices, k).reindex(idx).to_numpy(float) for k in PRICE_KEYS}
        money = station_money(
            h,
            ones @ imp,
            ones @ exp,
            c_by_period,
            d_by_period,
            prices,
            data.degradation_per_kwh,
        )
        objective = money["cost"] + self.penalty * cp.sum(short)
        self.problem = cp.Problem(cp.Minimize(objective), cons)
        self.build_s = time.perf_counter() - t0
        self.timings = {"build_s": self.build_s}
        self._progress, self._steps = True, None

    def _plugged_block(self, ns: int, T: int):
        """EV rows over the plugged (EV, period) entries only, as sparse matrices: charge
        ``c`` and discharge ``d`` [kW] and the energy ``e`` [kWh] at the end of each entry's
        period, one value per entry (EV-major). An entry's power is capped by its rating times
        ``visible`` (its EV) and ``tau`` (its period): selection matrices times the
        Parameters. The energy recursion runs from entry to entry of one EV (no power flows
        between its plugged periods, so the energy carries over), starting from ``e0``; the
        energy at departure is that of the EV's last entry (``e0`` for an EV never plugged in
        the horizon). ``self.c``/``self.d`` are the (EV x period) schedules as expressions.
        Returns (constraints, station net import (station x period), charge and discharge
        per period, energy at departure per EV)."""
        ev, h = self.ev, self.h
        n = len(ev.station)
        rows, cols = np.nonzero(ev.mask)  # EV-major: each EV's entries in period order
        m = len(rows)
        entries = np.arange(m)
        by_ev = sp.csr_matrix((np.ones(m), (entries, rows)), shape=(m, n))
        by_period = sp.csr_matrix((np.ones(m), (entries, cols)), shape=(m, T))
        c = cp.Variable(m, nonneg=True, name="mpc-c")
        d = cp.Variable(m, nonneg=True, name="mpc-d")
        e = cp.Variable(m, name="mpc-e")
        first = np.ones(m, dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        last = np.ones(m, dtype=bool)
        last[:-1] = rows[:-1] != rows[1:]
        prev = np.flatnonzero(~first)
        # (I - shift) e = step + (first entry <- e0): e_j = e_{j-1} + step_j within an EV
        recursion = sp.identity(m, format="csr") - sp.csr_matrix(
            (np.ones(len(prev)), (prev, prev - 1)), shape=(m, m)
        )
        start = sp.csr_matrix(
            (np.ones(first.sum()), (np.flatnonzero(first), rows[first])), shape=(m, n)
        )
        step = h * (
            cp.multiply(ev.eta_charge[rows], c) - cp.multiply(1.0 / ev.eta_discharge[rows], d)
        )
        lo = np.minimum(ev.e_min_kwh, ev.e_arrival_kwh)[rows]
        hi = np.maximum(ev.e_max_kwh, ev.e_arrival_kwh)[rows]
        ub_c = ev.p_charge_max_kw[rows]
        ub_d = ev.p_discharge_max_kw[rows]
        cons = [
            c <= cp.multiply(ub_c, by_ev @ self.visible),
            c <= cp.multiply(ub_c, by_period @ self.tau),
            recursion @ e == step + start @ self.e0,
            e >= lo,
            e <= hi,
        ]
        if ub_d.any():
            cons += [
                d <= cp.multiply(ub_d, by_ev @ self.visible),
                d <= cp.multiply(ub_d, by_period @ self.tau),
            ]
        else:
            cons.append(d == 0)
        plugged = np.zeros(n)
        plugged[rows] = 1.0
        departure = sp.csr_matrix(
            (np.ones(last.sum()), (rows[last], np.flatnonzero(last))), shape=(n, m)
        )
        e_departure = departure @ e + cp.multiply(1.0 - plugged, self.e0)
        # station rows: entry (EV, t) -> row station(EV) x T + t
        to_station = sp.csr_matrix(
            (np.ones(m), (ev.station[rows] * T + cols, entries)), shape=(ns * T, m)
        )
        net = cp.reshape(to_station @ (c - d), (ns, T), order="C")
        # the (EV x period) schedules, for the applied period and the tests
        scatter = sp.csr_matrix((np.ones(m), (rows * T + cols, entries)), shape=(n * T, m))
        self.c = cp.reshape(scatter @ c, (n, T), order="C")
        self.d = cp.reshape(scatter @ d, (n, T), order="C")
        return cons, net, by_period.T @ c, by_period.T @ d, e_departure

    def _dense_block(self, ns: int, T: int):
        """The earlier form: full (EV x period) arrays, plug-in masks in the bounds, energy at
        every period boundary (same returns as :meth:`_plugged_block`)."""
        ev, h = self.ev, self.h
        n = len(ev.station)
        c = self.c = cp.Variable((n, T), nonneg=True)
        d = self.d = cp.Variable((n, T), nonneg=True)
        e = cp.Variable((n, T + 1))
        mask = ev.mask.astype(float)
        ub_c = ev.p_charge_max_kw[:, None] * mask
        ub_d = ev.p_discharge_max_kw[:, None] * mask
        by_ev = cp.reshape(self.visible, (n, 1), order="C") @ np.ones((1, T))
        by_period = np.ones((n, 1)) @ cp.reshape(self.tau, (1, T), order="C")
        S = sp.csr_matrix((np.ones(n), (ev.station, np.arange(n))), shape=(ns, n))
        lo = np.minimum(ev.e_min_kwh, ev.e_arrival_kwh)[:, None]
        hi = np.maximum(ev.e_max_kwh, ev.e_arrival_kwh)[:, None]
        net, cons_extra = partial_sums(S, c - d, self.partial_sum_block, "mpc")
        cons = [
            c <= cp.multiply(ub_c, by_ev),
            c <= cp.multiply(ub_c, by_period),
            d <= cp.multiply(ub_d, by_ev),
            d <= cp.multiply(ub_d, by_period),
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
            *cons_extra,
        ]
        return cons, net, cp.sum(c, axis=0), cp.sum(d, axis=0), e[np.arange(n), ev.departure_index]

    #: dense form only: station sums over more EVs than this go through partial sums (exact),
    #: as in the station block; ``None`` (the default) keeps one row per station and period.
    #: Measured on the bench's 500-EV lot (one station, 96 steps, quiet machine, one run):
    #: 2.61 s per re-solve with one row, 3.31 s with blocks of 64 (the same cost to 2e-7): the
    #: full (EV x period) arrays, not the station rows, set its time; hence the plugged form
    partial_sum_block: int | None = None

    def set_step(self, k: int, energy: np.ndarray) -> None:
        """Write the Parameters of the window starting at period ``k``."""
        ev, W, T = self.ev, self.W, self.data.horizon.periods
        a, dep = self._a, ev.departure_index
        periods = np.arange(T)
        self.tau.value = ((periods >= k) & (periods < k + W)).astype(float)
        visible = a <= k
        self.visible.value = visible.astype(float)
        self.e0.value = energy
        active = visible & (dep > k)
        later = np.maximum(dep - (k + W), 0)
        reachable_later = ev.eta_charge * ev.p_charge_max_kw * self.h * later
        self.target.value = np.where(
            active, np.maximum(ev.e_target_kwh - reachable_later, 0.0), 0.0
        )

    def nothing_to_decide(self, k: int) -> bool:
        """No revealed EV is plugged in within the window starting at ``k``."""
        window = slice(k, k + self.W)
        return not (self.ev.mask[self.visible.value > 0, window]).any()

    def _solve(self, solver: str, **options) -> str:
        """Solve the current step; a solver failure counts as a status, not an exception.

        The fallback solver works on a twin Problem (same variables and constraints) so the
        main problem keeps its compiled DPP program: switching solvers on one Problem would
        replace its cache and force a full DPP compilation (about 45 s for 500 EVs) at the
        next step.
        """
        import warnings

        if solver == "HIGHS":
            silence_highs_banner()
        fallback = solver != self.solver
        problem = (
            cp.Problem(self.problem.objective, self.problem.constraints)
            if fallback
            else self.problem
        )
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                # the caller's options are for the chosen solver, not the fallback
                problem.solve(solver=solver, ignore_dpp=fallback, **({} if fallback else options))
        except cp.SolverError:
            return "solver_error"
        return problem.status

    def run(
        self,
        solver: str = "CLARABEL",
        progress: bool = True,
        steps: int | None = None,
        **options,
    ):
        """Control the whole horizon (or its first ``steps`` periods); returns a
        :class:`~gridv2g.result.station.StationResult` (``summary`` has per-step times)."""
        self._progress, self._steps = progress, steps
        return self.solve(solver, **options)

    def run_solver(self, name: str, **options) -> str:
        """The control loop: every period, set the window's Parameters, re-solve, apply the
        first period. A step the solver fails on is retried with :data:`FALLBACK_SOLVER`; a
        step that still fails raises SolveError naming it."""
        ev, T, h = self.ev, self.data.horizon.periods, self.h
        self.solver = name
        n = len(ev.station)
        energy = ev.e_arrival_kwh.copy()
        c_applied = np.zeros((n, T))
        d_applied = np.zeros((n, T))
        e_path = np.zeros((n, T + 1))
        e_path[:, 0] = energy
        times = []
        steps = T if self._steps is None else min(self._steps, T)
        inaccurate = fallbacks = 0
        t_loop = time.perf_counter()
        for k in tqdm(range(steps), desc="MPC", disable=not self._progress, leave=False):
            self.set_step(k, energy)
            if self.nothing_to_decide(k):
                continue  # no EV plugged in now or within the window
            t0 = time.perf_counter()
            status = self._solve(name, **options)
            if status != cp.OPTIMAL and name != FALLBACK_SOLVER:
                # an interior-point failure on a degenerate step: the simplex solver is slower
                # but does not fail there
                status = self._solve(FALLBACK_SOLVER)
                fallbacks += 1
            times.append(time.perf_counter() - t0)
            if status == cp.OPTIMAL_INACCURATE:
                inaccurate += 1
            elif status != cp.OPTIMAL:
                raise SolveError(f"MPC step {k}: {name} returned {status}")
            plugged = self.ev.mask[:, k] & (self.visible.value > 0)
            c0 = np.where(plugged, np.clip(self.c.value[:, k], 0.0, ev.p_charge_max_kw), 0.0)
            d0 = np.where(plugged, np.clip(self.d.value[:, k], 0.0, ev.p_discharge_max_kw), 0.0)
            energy = energy + h * (ev.eta_charge * c0 - d0 / ev.eta_discharge)
            c_applied[:, k], d_applied[:, k] = c0, d0
            e_path[:, k + 1] = energy
        e_path[:, steps + 1 :] = energy[:, None]
        self.applied = (c_applied, d_applied, e_path)
        self.timings.update(
            steps=steps,
            first_step_s=times[0] if times else float("nan"),
            resolve_mean_s=float(np.mean(times[1:])) if len(times) > 1 else float("nan"),
            total_solve_s=float(np.sum(times)),
            solves=len(times),
            inaccurate_steps=inaccurate,
            fallback_steps=fallbacks,
            total_s=time.perf_counter() - t_loop,
        )
        return cp.OPTIMAL_INACCURATE if inaccurate else cp.OPTIMAL

    def result(self, solver: str) -> StationResult:
        """The applied schedule's tables, money and savings against the baseline."""
        c, d, e = self.applied
        res_ev, res_station, res_ev_summary, net = station_tables(self.data, self.ev, c, d, e)
        base = baseline(self.data)
        figures = schedule_summary(self.data, c, d, net, res_ev_summary, base)
        tm = self.timings
        summary = {
            **figures,
            "status": cp.OPTIMAL,
            "solver": solver,
            "window": self.W,
            **{k: tm[k] for k in ("steps", "build_s", "first_step_s", "resolve_mean_s")},
            **{k: tm[k] for k in ("total_solve_s", "solves", "inaccurate_steps")},
            "fallback_steps": tm["fallback_steps"],
        }
        return StationResult(
            **solved(self, solver, objective=figures["cost"], status=cp.OPTIMAL),
            res_ev=res_ev,
            res_station=res_station,
            res_ev_summary=res_ev_summary,
            res_price=price_table(self.data),
            res_limit=limit_table(self.data),
            summary=summary,
            baseline=base,
            plan="rolling horizon (MPC)",
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
    **options,
) -> MPCComparison:
    """MPC, the perfect-foresight optimum (all EVs known, soft targets at the same penalty)
    and the uncontrolled baseline on the same sessions: cost and shortfall side by side."""
    import dataclasses

    mpc = RollingHorizon(data, window, penalty).run(solver, progress=progress, **options)
    pf_data = dataclasses.replace(
        data, soft_target=True, shortfall_penalty_per_kwh=mpc.problem.penalty
    )
    pf = StationSchedule(pf_data).solve(solver, **options)
    base = mpc.baseline["money"]
    table = pd.DataFrame(
        {
            "cost": [mpc.summary["cost"], pf.summary["cost"], base["cost"]],
            "shortfall_kwh": [
                mpc.summary["shortfall_kwh"],
                pf.summary["shortfall_kwh"],
                float(mpc.baseline["res_ev_summary"].shortfall_kwh.sum()),
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


def control(
    data: StationData,
    window: int | None = None,
    penalty: float = 10.0,
    compare: bool = True,
    solver: str = "CLARABEL",
    progress: bool = True,
    **options,
) -> StationResult:
    """Rolling-horizon control of ``data`` (``options`` go to the solver of every step); with
    ``compare`` the result's summary also holds the perfect-foresight cost and the MPC's cost
    against it (percent), and ``res_station_perfect_foresight`` the perfect-foresight
    optimum's station net import [kW]."""
    if not compare:
        return RollingHorizon(data, window, penalty).run(solver, progress=progress, **options)
    cmp = compare_with_perfect_foresight(data, window, solver, progress, penalty, **options)
    result = cmp.mpc
    result.summary["perfect_foresight_cost"] = float(cmp.table.cost["perfect_foresight"])
    result.summary["cost_vs_perfect_foresight_percent"] = float(
        cmp.table.cost_vs_perfect_foresight_percent["mpc"]
    )
    # the perfect-foresight station power, drawn beside the MPC's and written with it
    result.res_station_perfect_foresight = cmp.perfect_foresight.res_station[["p_kw"]].copy()
    return result
