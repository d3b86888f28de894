"""The siting sub-problem over every candidate at once: one compiled LP for the swarm's
screening evaluations, and the same model with binary choices as the exact MILP reference.

Seed 004's sub-problem (Gao, Wu & Xu 2019, eq. 35-46) on the per-phase LinDist3Flow of the
full feeder (:class:`~gridv2g.model.unbalanced_formulation.UnbalancedLinDist3Flow`),
corrected once at the base case from an OpenDSS replay (voltage offsets, base losses; the
decision does not change it), solved once, without the closing loop and without the ampacity
cones (which would make the reference a mixed-integer SOCP; the full evaluation of the best
candidates has both). Every candidate lot's pool of EVs is in the model (``w`` selection
columns: lot x class x share level, :class:`SitingModel`); a decision picks columns::

    present = B @ w                  which EVs are served (0/1 per pool EV)
    CP      = K @ w                  station capacity [kW] (eq. 44 per class)

    min  sum_t rho_t P_sub,t dt  (eq. 35: load, EVs, losses)  + c_station * open
         + penalty_v * (voltage slacks) + penalty_e * (energy shortfall)
    s.t. 0 <= p_e,t <= P_e present_e on plugged periods            (eq. 40)
         eta dt sum_t p_e,t + short_e >= (E_target - E_arrival)_e present_e   (eq. 41)
         eta dt sum_t p_e,t <= (E_capacity - E_arrival)_e present_e
         sum_{e at j} p_e,t <= CP_j                                  (eq. 45-46)
         LinDist3Flow with every lot on its phase, 0.95 <= |V| <= 1.05 (elastic)

With ``w`` a Parameter this is the screening LP: compiled once (DPP), each evaluation sets
``w`` and re-solves (sizes and locations are data). With ``w`` binary plus ``open_j``::

    sum_l w_{j,c,l} = open_j   (each open lot one level per class it has)
    sum_{j,l} l w_{j,c,l} = share_steps   (each class's shares sum to 1)
    k_min <= sum_j open_j <= k_max   (eq. 49)

it is the exact reference over the same decision space (HiGHS). The voltage and energy
slacks keep every decision solvable; their prices are high enough that a plan with slack is
reported as infeasible (``violation``), never as a good one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp

from gridv2g.errors import GridV2GError, SolveError
from gridv2g.inputs import load_profile_values
from gridv2g.model.arrays import ev_arrays
from gridv2g.model.registry import grid_formulation
from gridv2g.siting.shared import CLASSES, Decision, SharedSitingSpec
from gridv2g.solvers import silence_highs_banner

#: price of a voltage-limit slack [money per pu^2 and period] and of undelivered EV energy
#: [money per kWh]: far above any energy price, so slack appears only where no plan avoids it
PENALTY_V_PER_PU2 = 1e5
PENALTY_E_PER_KWH = 100.0
#: a screening plan with more slack than this (pu^2 + kWh) is infeasible
VIOLATION_TOL = 1e-6
#: size of the step of a lot's load whose losses give its loss factor [kW]
LOSS_STEP_KW = 150.0
#: screening cost of a decision whose evaluation failed (solver error, a worker process that
#: died): above any evaluated decision's, penalties included [money]
FAILED_COST = 1e12


@dataclass
class Columns:
    """The selection columns (lot, class, level) and their matrices: ``B`` (pool EV x
    column) serves EVs, ``K`` (lot x column) capacity [kW], ``open_of`` (lot x column)."""

    table: pd.DataFrame  # lot (position), class, level (steps)
    B: sp.csr_matrix
    K: sp.csr_matrix
    open_of: sp.csr_matrix


class SitingModel:
    """Compile the sub-problem of every candidate once (module docstring).

    ``base``: the case's :class:`~gridv2g.inputs.GridData` (feeder, horizon, load, prices,
    voltage limits, source voltage) without stations; ``integer=True`` builds the MILP.
    """

    def __init__(self, base, spec: SharedSitingSpec, integer: bool = False):
        t0 = time.perf_counter()
        self.base, self.spec, self.integer = base, spec, integer
        horizon = base.horizon
        T, h, sb = horizon.periods, horizon.hours, base.s_base_kva
        self.T = T
        lots = spec.lots
        J = len(lots)

        # --- the pool: every candidate's EVs (lot, type, k < most a lot may take)
        sessions = spec.sessions
        frames = []
        for j, name in enumerate(lots.index):
            for c in CLASSES:
                if not spec.has_class(c)[j]:
                    continue
                for r in spec.types_of(c):
                    n = spec.count(r, int(spec.max_steps[j]))
                    part = sessions[sessions.ev_type == r].iloc[:n].copy()
                    part["lot"] = j
                    part["lot_name"] = name
                    part["cls"] = c
                    frames.append(part)
        pool = pd.concat(frames, ignore_index=True)
        self.pool = pool
        ev = ev_arrays(pool, horizon)
        E = len(pool)

        # --- selection columns: lot j holds `level` steps of class c -> its first
        # count(r, level) EVs of each type r of c
        rows, cols_b, cols = [], [], []
        for j in range(J):
            for c in CLASSES:
                if not spec.has_class(c)[j]:
                    continue
                for level in range(1, int(spec.max_steps[j]) + 1):
                    cols.append((j, c, level))
        table = pd.DataFrame(cols, columns=["lot", "cls", "level"])
        counts = {
            (r, lv): spec.count(r, lv)
            for r in spec.ev_counts
            for lv in range(1, spec.share_steps + 1)
        }
        pool_lot, pool_cls = pool.lot.to_numpy(), pool.cls.to_numpy()
        pool_type, pool_k = pool.ev_type.to_numpy(), pool.ev_id.to_numpy()
        for m, (j, c, level) in enumerate(cols):
            limit = np.array([counts[(r, level)] for r in pool_type])
            hit = np.flatnonzero((pool_lot == j) & (pool_cls == c) & (pool_k < limit))
            rows += list(hit)
            cols_b += [m] * len(hit)
        n_col = len(cols)
        B = sp.csr_matrix((np.ones(len(rows)), (rows, cols_b)), shape=(E, n_col))
        cap = np.array(
            [spec.capacity_kw[c] * level / spec.share_steps for _, c, level in cols], float
        )
        K = sp.csr_matrix((cap, (table.lot, np.arange(n_col))), shape=(J, n_col))
        opens = sp.csr_matrix((np.ones(n_col), (table.lot, np.arange(n_col))), shape=(J, n_col))
        self.columns = Columns(table=table, B=B, K=K, open_of=opens)

        # --- decision: a Parameter (screening) or binaries (the MILP)
        if integer:
            self.w = cp.Variable(n_col, boolean=True, name="siting-level")
            self.open = cp.Variable(J, boolean=True, name="siting-open")
        else:
            self.w = cp.Parameter(n_col, nonneg=True, name="siting-level")
            self.open = None
        present = B @ self.w
        capacity = K @ self.w

        # --- EVs: charge power on plugged (EV, period) entries only
        ev_i, t_i = np.nonzero(ev.mask)
        nz = len(ev_i)
        p = cp.Variable(nz, nonneg=True, name="ev-p_charge")
        short = cp.Variable(E, nonneg=True, name="ev-shortfall")
        to_ev = sp.csr_matrix((np.ones(nz), (np.arange(nz), ev_i)), shape=(nz, E))
        energy = sp.csr_matrix((ev.eta_charge[ev_i] * h, (ev_i, np.arange(nz))), shape=(E, nz))
        lot_t = pool_lot[ev_i] * T + t_i
        to_lot = sp.csr_matrix((np.ones(nz), (lot_t, np.arange(nz))), shape=(J * T, nz))
        need = np.maximum(ev.e_target_kwh - ev.e_arrival_kwh, 0.0)
        room = np.maximum(ev.e_max_kwh - ev.e_arrival_kwh, 0.0)
        p_lot_kw = cp.reshape(to_lot @ p, (J, T), order="C")
        cons = {
            "ev-p_max": [p <= cp.multiply(ev.p_charge_max_kw[ev_i], to_ev @ present)],
            "ev-target": [energy @ p + short >= cp.multiply(need, present)],
            "ev-e_max": [energy @ p <= cp.multiply(room, present)],
            "station-capacity": [p_lot_kw <= capacity[:, None] @ np.ones((1, T))],
        }
        self.p, self.short, self.p_lot_kw = p, short, p_lot_kw
        self.need_kwh = need

        # --- the feeder: lots on their phases, loads at the case's profile
        self.form = form = grid_formulation("unbalanced", base.feeder, sb)
        columns, _, _ = form.load_matrices(base.load_scale.columns)
        profile = load_profile_values(base.load_scale, horizon, columns)
        self.lot_map = form.connection(list(lots.bus.astype(str)), list(lots.phases.astype(str)))
        zeros = np.zeros((J, T))
        p_dem = self.lot_map.p(p_lot_kw / sb, zeros)
        q_dem = self.lot_map.q(p_lot_kw / sb, zeros)
        vmin, vmax = form.v_limits(base.vmin_pu, base.vmax_pu, base.bus_v_limits)
        self.grid = grid = form.block(
            T, p_dem, q_dem, vmin, vmax, base.v_source_pu, False, True,
            load_profile=cp.Constant(profile),
        )  # fmt: skip
        self._base_correction()

        price = base.price_per_kwh.reindex(horizon.index).to_numpy(float)
        # the linear model is lossless: a lot's extra losses per kW (OpenDSS secant factors)
        self.loss_factor = self._loss_factors()
        self.loss_kw = cp.sum(cp.multiply(self.loss_factor, p_lot_kw), axis=0)
        self.energy_cost = sb * h * (price @ form.substation_p(grid)) + h * (price @ self.loss_kw)
        self.v_slack = sum(cp.sum(s) for s in grid.slacks.values())
        objective = (
            self.energy_cost + PENALTY_V_PER_PU2 * self.v_slack + PENALTY_E_PER_KWH * cp.sum(short)
        )
        constraints = [c for group in cons.values() for c in group] + grid.all_constraints()
        if integer:
            table_cls = table.cls.to_numpy()
            levels = table.level.to_numpy(float)
            for c in CLASSES:
                has = spec.has_class(c)
                sel = sp.csr_matrix(opens.multiply((table_cls == c)[None, :]))[has]
                constraints += [
                    sel @ self.w == self.open[has],
                    levels[table_cls == c] @ self.w[np.flatnonzero(table_cls == c)]
                    == spec.share_steps,
                ]
            constraints += [cp.sum(self.open) >= spec.k_min, cp.sum(self.open) <= spec.k_max]
            objective = objective + spec.cost_per_station_day * cp.sum(self.open)
        self.problem = cp.Problem(cp.Minimize(objective), constraints)
        self.timings = {"build_s": time.perf_counter() - t0, "compile_s": 0.0, "solves": 0}

    def _base_correction(self) -> None:
        """Correct the model at the base case (every lot at zero) from one OpenDSS replay, as
        the closing loop's first step does (:func:`~gridv2g.model.unbalanced_closing.close`):
        voltage offsets, base losses and source residual per phase node and period."""
        from gridv2g.model.unbalanced_closing import OpenDSSPhaseReplay, corrections

        grid, pm, T = self.grid, self.form.pm, self.T
        replay = OpenDSSPhaseReplay(pm, self.lot_map, v_source_pu=self.base.v_source_pu)
        self._replay = replay
        zeros = np.zeros((len(self.spec.lots), T))
        base = replay.run(grid.load_mult_value(), zeros, zeros, periods=T)
        shape = (pm.nn, T)
        for name, value in corrections(grid, base, np.zeros(shape), np.zeros(shape)).items():
            grid.params[name].value = value
        grid.set_limits(0.0, 0.0)

    def _loss_factors(self) -> np.ndarray:
        """Extra feeder losses per kW a lot draws, per lot and period [kW/kW]: the secant of
        OpenDSS's losses from the base case to ``LOSS_STEP_KW`` at that lot (one replay per
        candidate). Seed 004's eq. 35 prices losses; the linear model cannot see them."""
        grid, T = self.grid, self.T
        J = len(self.spec.lots)
        zeros = np.zeros((J, T))
        mult = grid.load_mult_value()
        base = self._replay.run(mult, zeros, zeros, periods=T)
        base_loss = base.p_loss.sum(axis=0)
        out = np.zeros((J, T))
        step = LOSS_STEP_KW / self.base.s_base_kva
        for j in range(J):  # one OpenDSS replay per candidate lot
            p_dev = zeros.copy()
            p_dev[j] = step
            run = self._replay.run(mult, p_dev, zeros, periods=T)
            out[j] = (run.p_loss.sum(axis=0) - base_loss) / step
        return out

    # ------------------------------------------------------------------ decisions
    def levels(self, decision: Decision) -> np.ndarray:
        """The 0/1 column vector ``w`` of a decision."""
        self.spec.check(decision)
        t = self.columns.table
        key = {(j, c, lv): m for m, (j, c, lv) in enumerate(t.itertuples(index=False))}
        w = np.zeros(len(t))
        pos = {n: j for j, n in enumerate(self.spec.names)}
        for lot, f, s in decision:
            for c, steps in (("fast", f), ("slow", s)):
                if steps:
                    w[key[(pos[lot], c, steps)]] = 1.0
        return w

    def decision_of(self, w: np.ndarray) -> Decision:
        """The decision of a 0/1 column vector (the MILP's solution)."""
        t = self.columns.table
        steps: dict[int, dict[str, int]] = {}
        for m in np.flatnonzero(np.asarray(w) > 0.5):
            j, c, lv = t.iloc[m]
            steps.setdefault(int(j), {})[c] = int(lv)
        names = self.spec.names
        return tuple(
            (names[j], steps[j].get("fast", 0), steps[j].get("slow", 0)) for j in sorted(steps)
        )

    def _solve(self, solver: str, **options) -> None:
        t0 = time.perf_counter()
        if solver == "HIGHS":
            silence_highs_banner()  # HiGHS's banner would land in the CLI's output
        try:
            self.problem.solve(solver=solver, warm_start=False, **options)
        except cp.error.SolverError as exc:
            raise SolveError(f"siting sub-problem: solver {solver} failed: {exc}") from exc
        if self.problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            raise SolveError(f"siting sub-problem: solver {solver} returned {self.problem.status}")
        dt = time.perf_counter() - t0
        self.timings["solves"] += 1
        self.timings["compile_s" if self.timings["solves"] == 1 else "last_s"] = dt

    def evaluate(self, decision: Decision, solver: str = "HIGHS") -> dict:
        """Screening evaluation of one decision: set ``w``, solve the LP; the row of figures
        (cost = energy cost + stations + penalties; ``feasible`` when no slack is needed)."""
        if self.integer:
            raise GridV2GError("evaluate() is for the screening model (integer=False)")
        t0 = time.perf_counter()
        self.w.value = self.levels(decision)
        self._solve(solver)
        return self._row(decision, time.perf_counter() - t0)

    def _row(self, decision: Decision, seconds: float) -> dict:
        stations = self.spec.cost_per_station_day * len(decision)
        v_slack = float(self.v_slack.value)
        short = float(np.sum(self.short.value))
        energy = float(self.energy_cost.value)
        return {
            "decision": decision,
            "cost": float(self.problem.value) + (0.0 if self.integer else stations),
            "energy_cost": energy,
            "station_cost": stations,
            "v_slack_pu2": v_slack,
            "shortfall_kwh": short,
            "feasible": v_slack + short <= VIOLATION_TOL,
            "seconds": seconds,
        }

    def solve_milp(self, solver: str = "HIGHS", time_limit_s: float = 600.0, gap: float = 1e-4):
        """The exact reference (``integer=True``): the best decision and its row, with the
        solver's bound and gap (``mip_gap``) and seconds."""
        if not self.integer:
            raise GridV2GError("solve_milp() needs SitingModel(..., integer=True)")
        t0 = time.perf_counter()
        options = {"time_limit": float(time_limit_s), "mip_rel_gap": float(gap)}
        self._solve(solver, **options)
        decision = self.decision_of(self.w.value)
        row = self._row(decision, time.perf_counter() - t0)
        stats = self.problem.solver_stats
        extra = getattr(stats, "extra_stats", None)
        bound = getattr(extra, "mip_dual_bound", None) if extra is not None else None
        try:
            bound = float(extra.getInfo().mip_dual_bound) if bound is None else float(bound)
        except AttributeError:
            bound = float("nan")
        row["bound"] = bound
        row["mip_gap"] = (row["cost"] - bound) / abs(row["cost"]) if np.isfinite(bound) else None
        return row


def screen(model: SitingModel, decision: Decision, solver: str = "HIGHS") -> dict:
    """:meth:`SitingModel.evaluate` as the swarm's screening runs it: a solver failure on
    one decision is that decision's row (infeasible, ``why``), not an error of the run."""
    t0 = time.perf_counter()
    try:
        row = model.evaluate(decision, solver)
    except SolveError as exc:
        return failed_row(model.spec, decision, str(exc).splitlines()[0][:200], t0)
    row["why"] = ""
    return row


def failed_row(spec: SharedSitingSpec, decision: Decision, why: str, t0: float | None = None):
    """The screening row of a decision whose evaluation failed: :data:`FAILED_COST`,
    infeasible, the reason in ``why``."""
    return {
        "decision": decision,
        "cost": FAILED_COST,
        "energy_cost": float("nan"),
        "station_cost": spec.cost_per_station_day * len(decision),
        "v_slack_pu2": float("nan"),
        "shortfall_kwh": float("nan"),
        "feasible": False,
        "seconds": float("nan") if t0 is None else time.perf_counter() - t0,
        "why": why,
    }
