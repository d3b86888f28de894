"""The public face: ``load_case``, ``solve``, ``validate`` (see DESIGN.md)."""

from __future__ import annotations

from gridv2g.case import (
    Case,
    StationCase,
    StochasticCase,
    grid_data,
    load_case,
    station_data,
    stochastic_data,
)
from gridv2g.errors import GridV2GError
from gridv2g.validation import validate as _validate


def solve(
    case: Case | StationCase | StochasticCase,
    solver: str | None = None,
    dpp: bool = False,
    **options,
):
    """Solve a case with the problem it names: a :class:`~gridv2g.result.Result` (grid) or a
    :class:`~gridv2g.problems.station.StationResult` (station only).

    ``solver`` overrides the case's; ``dpp=True`` compiles with Parameters (for re-solves
    through ``result.problem.update(...)`` and ``result.problem.solve()``); one-shot solves
    skip DPP, which compiles faster the first time.
    """
    from gridv2g.problems.co_optimize import CoOptimization

    if isinstance(case, StationCase):
        return schedule_station(case, solver=solver, dpp=dpp, **options)
    if getattr(case, "problem", None) == "v2a":
        from gridv2g.case_v2a import v2a_data
        from gridv2g.problems.v2a import V2ASchedule

        return V2ASchedule(v2a_data(case)).solve(
            solver or case.solver.name, **{**case.solver.options, **options}
        )
    if isinstance(case, StochasticCase):
        from gridv2g.problems.stochastic import solve_stochastic

        return solve_stochastic(stochastic_data(case), solver or case.solver.name or "CLARABEL")
    data = grid_data(case)
    problem = CoOptimization(data, dpp=dpp)
    return problem.solve(solver or case.solver.name, **{**case.solver.options, **options})


def schedule_station(case: StationCase, solver: str | None = None, dpp: bool = False, **options):
    """Schedule the EVs of a station-only case (LP, or MILP with exclusiveness / ports), or
    control it with a rolling horizon if the case has an ``mpc`` section."""
    from gridv2g.problems.station import StationSchedule

    if case.mpc is not None:
        from gridv2g.problems.mpc import RollingHorizon, compare_with_perfect_foresight

        data = station_data(case)
        name = solver or case.solver.name or "CLARABEL"
        if case.mpc.compare:
            cmp = compare_with_perfect_foresight(
                data, case.mpc.window, name, penalty=case.mpc.penalty_per_kwh
            )
            result = cmp.mpc
            result.summary["perfect_foresight_cost"] = float(cmp.table.cost["perfect_foresight"])
            result.summary["cost_vs_perfect_foresight_percent"] = float(
                cmp.table.cost_vs_perfect_foresight_percent["mpc"]
            )
            return result
        return RollingHorizon(data, case.mpc.window, case.mpc.penalty_per_kwh).run(name)
    sched = StationSchedule(station_data(case), dpp=dpp)
    return sched.solve(solver or case.solver.name, **{**case.solver.options, **options})


def validate(result, engine: str = "pandapower", **tolerances):
    """Replay a grid result in AC power flow: ``engine="pandapower"`` on the balanced
    equivalent the SOCP solved, with tolerances and flags (:func:`gridv2g.validation.validate`);
    ``engine="opendss"`` on the full unbalanced feeder, the unbalanced truth
    (:func:`gridv2g.validation_opendss.validate_opendss`)."""
    if engine == "opendss":
        from gridv2g.validation_opendss import validate_opendss

        if tolerances:
            raise GridV2GError("the OpenDSS replay takes no tolerances: it measures, flags none")
        return validate_opendss(result)
    if engine != "pandapower":
        raise GridV2GError(f"engine must be 'pandapower' or 'opendss', got '{engine}'")
    return _validate(result, **tolerances)


__all__ = ["load_case", "schedule_station", "solve", "validate"]
