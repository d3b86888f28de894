"""Solver mechanics: choice, default options, timing, status checks, MIP gaps.

Clarabel is the default (open source, interior point, SOCP); HiGHS for MILPs; any CVXPY
solver installed (ECOS, SCS, MOSEK, GUROBI, ...) can be named. This module knows no problem:
each problem diagnoses its own infeasibility (:mod:`gridv2g.problems.base`); the message
builders for diagnosis tables are here because every problem kind shares them.
"""

from __future__ import annotations

import time
import warnings

import cvxpy as cp
import numpy as np
import pandas as pd

from gridv2g.errors import GridV2GError, GridV2GWarning, SolveError

DEFAULT_SOLVER = "CLARABEL"
#: default solver options per problem kind and solver: the one table of them.
#: - Clarabel's feasibility tolerance is tightened from 1e-8 everywhere: at 1e-8 the SOC gap
#:   of lightly loaded branches (a few kW on a 1 MVA base) reaches 3e-5 from tolerance alone;
#:   at 1e-9 it stays below 1e-6 at no measurable cost (IEEE 33 x 96).
#: - grid problems tighten the duality-gap tolerances to 1e-9 as well: with a money objective
#:   (energy cost at 0.04-0.13 per kWh) the losses weigh little, and at 1e-8 the SOC gap of
#:   lightly loaded branches reached 5.5e-5 (``cases/ieee33_ev.yaml``); at 1e-9 it is 1.1e-6
#:   there and on IEEE 123 x 96 it falls from 2.5e-6 to 6.6e-9, at the same solve time (at
#:   1e-10 the IEEE 33 DER case ends "inaccurate" and is retried at Clarabel's defaults).
#: - V2A asks HiGHS for a tight MIP gap, so that sweeps compare optimal schedules.
#: - a MILP on HiGHS stops after :data:`MILP_TIME_LIMIT_S` and keeps its best schedule with a
#:   warning naming the MIP gap (an unattended sweep never waits for good on one scenario: the
#:   input probe found port/exclusive station cases that HiGHS had not closed after 120 s);
#:   the solver option ``time_limit`` changes it.
MILP_TIME_LIMIT_S = 300.0
SOLVER_DEFAULTS: dict[str, dict[str, dict]] = {
    "grid": {"CLARABEL": {"tol_feas": 1e-9, "tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9}},
    "station": {"CLARABEL": {"tol_feas": 1e-9}, "HIGHS": {"time_limit": MILP_TIME_LIMIT_S}},
    "two-stage": {"HIGHS": {"time_limit": MILP_TIME_LIMIT_S}},
    "MPC": {},
    "V2A": {"HIGHS": {"mip_rel_gap": 1e-7, "time_limit": MILP_TIME_LIMIT_S}},
}
INFEASIBLE = (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE)
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


def timed_solve(model, name: str, what: str, **options) -> str:
    """Solve ``model.problem`` with the solver's default options merged in; record
    ``compile_s``, ``solve_s`` (the solver's own time) and ``total_s`` in ``model.timings``;
    return the status. A solver failure becomes SolveError naming ``what`` was solved."""
    if name == "HIGHS":
        silence_highs_banner()
    t0 = time.perf_counter()
    defaults = SOLVER_DEFAULTS.get(getattr(model, "kind", ""), {})
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
            limits = {k: v for k, v in tightened.items() if k == "time_limit"}
            model.problem.solve(solver=name, ignore_dpp=not model.dpp, **{**limits, **options})
            model.timings["tolerance_relaxed"] = True
    except cp.SolverError as exc:
        raise SolveError(f"{name} failed on {what}: {exc}") from None
    total = time.perf_counter() - t0
    stats = model.problem.solver_stats
    compile_s = float(getattr(model.problem, "compilation_time", None) or 0.0)
    solve_s = float(stats.solve_time) if stats.solve_time is not None else total - compile_s
    model.timings.update(compile_s=compile_s, solve_s=solve_s, total_s=total)
    return model.problem.status


def solve_once(problem: cp.Problem, solver: str, what: str, **options) -> str:
    """``problem.solve`` for the auxiliary solves (diagnosis versions): a solver failure
    becomes SolveError naming ``what`` was solved, never CVXPY's SolverError."""
    try:
        problem.solve(solver=solver, **options)
    except cp.SolverError as exc:
        raise SolveError(f"{solver} failed on {what}: {exc}") from None
    return problem.status


MILP_SOLVERS = ("HIGHS", "SCIP", "GUROBI", "CPLEX", "MOSEK", "XPRESS")
#: solvers that take second-order cones with integers (a grid case with fleet binaries)
MISOCP_SOLVERS = ("SCIP", "GUROBI", "CPLEX", "MOSEK", "XPRESS")


def interior_options(name: str, options: dict) -> dict:
    """Solver options for the scale mode's group problem: on HiGHS, its interior-point method
    without crossover, unless the caller chose a HiGHS algorithm (``highs_options``).

    Why: the group model has a large optimal face, and a simplex vertex sits at a corner of it
    where groups charge at their full summed rating until their summed energy bound, which
    members with different energies cannot share (the 500-EV bench lot: 91 of 96 groups fail,
    3 rounds, 33.7 s); an interior point without crossover ends inside the face, like
    Clarabel, and the groups disaggregate at once (1 round, 1.6 s). The repair loop of
    :func:`gridv2g.problems.station.aggregated_solve` keeps vertices exact either way."""
    if name != "HIGHS":
        return options
    highs = dict(options.get("highs_options", {}))
    if "solver" in highs:
        return options
    highs.update(solver="ipm", run_crossover="off")
    return {**options, "highs_options": highs}


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


def mip_gap_of(problem) -> float | None:
    """Relative MIP gap reported by the solver, if it reports one."""
    extra = problem.solver_stats.extra_stats
    for key in ("mip_gap", "MIPGap", "gap"):
        value = getattr(extra, key, None) if not isinstance(extra, dict) else extra.get(key)
        if value is not None:
            return float(value)
    return None


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
