"""Solver choice, timing and the turning of solver outcomes into results or typed errors.

Clarabel is the default (open source, interior point, SOCP); any CVXPY solver installed
(ECOS, SCS, MOSEK, GUROBI, ...) can be named. An infeasible problem is not reported as a
solver status: :func:`diagnose` solves the elastic version and names the buses, branches and
periods whose limits would have to move, and by how much.
"""

from __future__ import annotations

import copy
import time
import warnings

import cvxpy as cp
import numpy as np
import pandas as pd

from gridv2g.errors import GridV2GError, GridV2GWarning, InfeasibleError, SolveError

DEFAULT_SOLVER = "CLARABEL"
#: default options per solver. Clarabel's feasibility tolerance is tightened from 1e-8: at
#: 1e-8 the SOC gap of lightly loaded branches (a few kW on a 1 MVA base) reaches 3e-5 from
#: tolerance alone; at 1e-9 it stays below 1e-6 at no measurable cost (IEEE 33 x 96).
DEFAULT_OPTIONS = {"CLARABEL": {"tol_feas": 1e-9}}
_INFEASIBLE = (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE)
_UNBOUNDED = (cp.UNBOUNDED, cp.UNBOUNDED_INACCURATE)


def check_solver(solver: str) -> str:
    """Upper-case solver name, or a clear error listing the installed ones."""
    name = solver.upper()
    installed = cp.installed_solvers()
    if name not in installed:
        raise GridV2GError(f"solver '{solver}' is not installed; installed: {installed}")
    return name


_HIGHS_GREETED = False


def silence_highs_banner() -> None:
    """Create HiGHS's first instance with the C-level stdout closed.

    highspy prints a two-line banner (version, licence) when the first ``Highs`` object of a
    process is built, whatever the options; CVXPY builds it inside the solve, so the banner
    would land in the middle of our own output. Verbose solves still print HiGHS's log.
    """
    global _HIGHS_GREETED
    if _HIGHS_GREETED:
        return
    _HIGHS_GREETED = True
    try:
        import highspy
    except ImportError:
        return
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def run_solver(co, solver: str = DEFAULT_SOLVER, diagnose_infeasible: bool = True, **options):
    """Solve ``co.problem``; record ``compile_s``, ``solve_s`` (the solver's own time) and
    ``total_s`` in ``co.timings``. Raises InfeasibleError (with a diagnosis) or SolveError."""
    name = check_solver(solver)
    status = timed_solve(co, name, f"'{co.data.feeder.name}'", **options)
    if status in _INFEASIBLE:
        if not diagnose_infeasible:
            raise InfeasibleError(f"{name}: problem infeasible ({status})")
        table = diagnose(co.data, name)
        raise InfeasibleError(describe(table), diagnosis=table)
    check_status(name, status)


def timed_solve(model, name: str, what: str, **options) -> str:
    """Solve ``model.problem`` with the solver's default options merged in; record
    ``compile_s``, ``solve_s`` (the solver's own time) and ``total_s`` in ``model.timings``;
    return the status. A solver failure becomes SolveError naming ``what`` was solved."""
    if name == "HIGHS":
        silence_highs_banner()
    t0 = time.perf_counter()
    defaults = getattr(model, "default_options", DEFAULT_OPTIONS)
    tightened = {k: v for k, v in defaults.get(name, {}).items() if k not in options}
    try:
        with warnings.catch_warnings():
            # CVXPY's generic warning: the status is checked (and reported) by check_status,
            # and an inaccurate first try with our tightened tolerance is handled below
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            model.problem.solve(solver=name, ignore_dpp=not model.dpp, **{**tightened, **options})
        if model.problem.status == cp.OPTIMAL_INACCURATE and tightened:
            # our tightened tolerance was out of reach (degenerate optimum): the solver's own
            # defaults then give a clean optimum
            model.problem.solve(solver=name, ignore_dpp=not model.dpp, **options)
            model.timings["tolerance_relaxed"] = True
    except cp.SolverError as exc:
        raise SolveError(f"{name} failed on {what}: {exc}") from None
    total = time.perf_counter() - t0
    stats = model.problem.solver_stats
    compile_s = float(getattr(model.problem, "compilation_time", None) or 0.0)
    solve_s = float(stats.solve_time) if stats.solve_time is not None else total - compile_s
    model.timings.update(compile_s=compile_s, solve_s=solve_s, total_s=total)
    return model.problem.status


MILP_SOLVERS = ("HIGHS", "SCIP", "GUROBI", "CPLEX", "MOSEK", "XPRESS")
#: solvers that take second-order cones with integers (a grid case with fleet binaries)
MISOCP_SOLVERS = ("SCIP", "GUROBI", "CPLEX", "MOSEK", "XPRESS")


def check_milp_solver(name: str, integer: bool, why: str) -> None:
    """A problem with binaries needs a MILP solver; the error says which binaries."""
    if integer and name not in MILP_SOLVERS:
        raise GridV2GError(f"{name} cannot solve a MILP ({why}); use HIGHS")


def check_status(name: str, status: str, problem: cp.Problem | None = None) -> None:
    """Unbounded and failed solves raise SolveError; an inaccurate one warns. A solve stopped
    by a limit (time, iterations) with a feasible incumbent warns with its MIP gap and keeps
    the incumbent (a MILP's best schedule so far is worth having); without one it raises."""
    if status in _UNBOUNDED:
        raise SolveError(f"{name}: problem unbounded ({status}); check the objective weights")
    if status == cp.USER_LIMIT:
        if problem is not None and problem.value is not None and np.isfinite(problem.value):
            gap = mip_gap_of(problem)
            shown = f"{gap:.3g}" if gap is not None else "unknown"
            warnings.warn(
                f"{name}: stopped at a limit (time or iterations) before proving optimality; "
                f"keeping the best solution found, relative MIP gap {shown}",
                GridV2GWarning,
                stacklevel=4,
            )
            return
        raise SolveError(
            f"{name}: stopped at a limit (time or iterations) before finding a feasible "
            "solution; raise time_limit"
        )
    if status == cp.OPTIMAL_INACCURATE:
        warnings.warn(f"{name}: solution inaccurate", GridV2GWarning, stacklevel=4)
    elif status != cp.OPTIMAL:
        raise SolveError(f"{name}: no solution (status {status})")


def diagnose(data, solver: str = DEFAULT_SOLVER, tol: float = 1e-6) -> pd.DataFrame:
    """Solve the elastic version of ``data`` and list every limit that must be relaxed.

    Rows: ``limit`` (vmin / vmax / ampacity), ``element`` (bus or branch name), ``time``,
    ``limit_value`` (pu voltage or kA), ``needed_value`` (what the elastic solution reaches).
    Empty if the voltage and ampacity limits are not what makes the problem infeasible.
    """
    from gridv2g.problems.co_optimize import CoOptimization

    elastic = CoOptimization(copy.copy(data), dpp=False, elastic=True)
    elastic.problem.solve(solver=solver, ignore_dpp=True)
    if elastic.problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) and data.fleet is not None:
        # the grid's limits are relaxed already: the fleet's own limits (targets against
        # windows, chargers, site limits) are what cannot be met; name the EVs
        station_solver = solver if solver in MILP_SOLVERS or not elastic.integer else "HIGHS"
        table = diagnose_station(data.fleet, station_solver)
        if table.empty:
            raise InfeasibleError(
                "the EV fleet meets its targets on its own, but not through its station "
                "slots: check the slots' converter ratings (s_kva) against the sites' import "
                f"and export limits ({list(data.stations.slots.s_kva.items())})"
            )
        raise InfeasibleError(
            "the EV fleet cannot meet its targets even with the feeder's limits relaxed: "
            + describe_station(table),
            diagnosis=table,
        )
    if elastic.problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise InfeasibleError(
            "infeasible even with voltage and ampacity limits relaxed (status "
            f"{elastic.problem.status}): the loads cannot be served at all"
        )
    net, grid = elastic.net, elastic.grid
    times = data.horizon.index
    rows = []
    vmin, vmax = elastic._v_limits()
    v = grid.v.value
    for kind, limit in (("vmin", vmin), ("vmax", vmax)):
        slack = grid.slacks[f"v_{kind[1:]}"].value
        for i, t in zip(*np.nonzero(slack > tol), strict=True):
            rows.append(
                {
                    "limit": kind,
                    "element": net.bus_names[i + 1],
                    "time": times[t],
                    "limit_value": float(limit[i + 1]),
                    "needed_value": float(np.sqrt(max(v[i + 1, t], 0.0))),
                }
            )
    if "ampacity" in grid.slacks and grid.slacks["ampacity"].size:
        slack = grid.slacks["ampacity"].value
        for k, t in zip(*np.nonzero(slack > tol), strict=True):
            b = grid.limited[k]
            i_base = net.i_base_ka(net.t[b])
            rows.append(
                {
                    "limit": "ampacity",
                    "element": net.branch_names[b],
                    "time": times[t],
                    "limit_value": float(net.i_max[b] * i_base),
                    "needed_value": float(np.sqrt(grid.l.value[b, t]) * i_base),
                }
            )
    cols = ["limit", "element", "time", "limit_value", "needed_value"]
    return pd.DataFrame(rows, columns=cols)


def describe(table: pd.DataFrame) -> str:
    """One message from a diagnosis table: which limits, where, when, how far."""
    if table.empty:
        return "infeasible, but relaxing voltage and ampacity limits does not help"
    parts = ["infeasible: limits that must be relaxed"]
    for kind, group in table.groupby("limit", sort=False):
        unit = "kA" if kind == "ampacity" else "pu"
        worst = group.loc[(group.needed_value - group.limit_value).abs().idxmax()]
        elements = list(dict.fromkeys(group.element))
        shown = ", ".join(elements[:10]) + (
            f" ... ({len(elements)} in all)" if len(elements) > 10 else ""
        )
        first, last = group.time.min(), group.time.max()
        parts.append(
            f"{kind} at {shown} in {group.time.nunique()} period(s) from {first} to {last}; "
            f"worst {worst.element} at {worst.time}: needs {worst.needed_value:.4f} {unit} "
            f"against the limit {worst.limit_value:.4f} {unit}"
        )
    return "; ".join(parts)


def run_station_solver(sched, solver: str, **options) -> None:
    """Solve a :class:`~gridv2g.problems.station.StationSchedule`; record timings and, for
    MILPs, the relative MIP gap. An infeasible hard-target problem raises InfeasibleError
    naming the EVs (and the periods where the station limit binds) from the soft version."""
    name = check_solver(solver)
    check_milp_solver(name, sched.integer, "exclusiveness / ports")
    status = timed_solve(sched, name, "the station problem", **options)
    sched.timings["mip_gap"] = mip_gap_of(sched.problem) if sched.integer else None
    if status in _INFEASIBLE:
        table = diagnose_station(sched.data, name)
        raise InfeasibleError(describe_station(table), diagnosis=table)
    check_status(name, status, sched.problem)


def mip_gap_of(problem) -> float | None:
    """Relative MIP gap reported by the solver, if it reports one."""
    extra = problem.solver_stats.extra_stats
    for key in ("mip_gap", "MIPGap", "gap"):
        value = getattr(extra, key, None) if not isinstance(extra, dict) else extra.get(key)
        if value is not None:
            return float(value)
    return None


def diagnose_station(data, solver: str, tol: float = 1e-4) -> pd.DataFrame:
    """EVs whose targets cannot be met in hard mode: solve with soft targets (a penalty far
    above any price) and list every shortfall with the periods where a station import limit
    binds during that EV's stay."""
    import dataclasses

    from gridv2g.problems.station import StationSchedule

    soft = dataclasses.replace(data, soft_target=True, shortfall_penalty_per_kwh=1e4)
    sched = StationSchedule(soft)
    sched.problem.solve(solver=solver)
    if sched.problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise InfeasibleError(
            "station problem infeasible even with soft targets (check storage end rules, "
            f"ports and export limits); status {sched.problem.status}"
        )
    b, ev = sched.block, sched.ev
    shortfall = np.asarray(b.shortfall.value, dtype=float)
    net = np.asarray(b.net_kw.value)
    limit = b.params["p_import_max_kw"].value
    binding = net >= limit - 1e-3
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
    return pd.DataFrame(
        rows, columns=["ev", "station", "shortfall_kwh", "e_target_kwh", "import_limit_binding"]
    )


def describe_station(table: pd.DataFrame) -> str:
    if table.empty:
        return "station problem infeasible, but no EV target is the cause"
    parts = []
    for _, row in table.head(20).iterrows():
        when = row.import_limit_binding
        limit = (
            f"; station import limit binding in {len(when)} period(s) from {when[0]}"
            if when
            else ""
        )
        parts.append(
            f"EV {row.ev} at {row.station} short by {row.shortfall_kwh:.3f} kWh of its "
            f"{row.e_target_kwh:.3f} kWh target{limit}"
        )
    more = f" ... ({len(table)} EVs in all)" if len(table) > 20 else ""
    return "infeasible in hard-target mode: " + "; ".join(parts) + more
