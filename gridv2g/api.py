"""The public face: ``load_case``, ``solve``, ``validate`` (see DESIGN.md)."""

from __future__ import annotations

from gridv2g.case import (
    Case,
    StationCase,
    StochasticCase,
    V2ACase,
    grid_data,
    load_case,
    station_data,
    stochastic_data,
    v2a_data,
)
from gridv2g.errors import GridV2GError
from gridv2g.problems.co_optimize import CoOptimization
from gridv2g.problems.mpc import control
from gridv2g.problems.station import StationSchedule
from gridv2g.problems.stochastic import solve_stochastic
from gridv2g.problems.v2a import V2ASchedule
from gridv2g.validation import validate as _validate
from gridv2g.validation import validate_opendss


def _solve_grid(case: Case, solver, dpp, options):
    return CoOptimization(grid_data(case), dpp=dpp).solve(solver, **options)


def _solve_v2a(case: V2ACase, solver, dpp, options):
    return V2ASchedule(v2a_data(case), dpp=dpp).solve(solver, **options)


def _solve_stochastic(case: StochasticCase, solver, dpp, options):
    # four one-shot solves (RP, mean value, EEV, WS): DPP would only add compile time
    return solve_stochastic(stochastic_data(case), solver or "CLARABEL", **options)


#: case kind -> how it is solved: (case, solver or None, dpp, solver options) -> result
SOLVERS = {
    Case: _solve_grid,
    StationCase: lambda case, solver, dpp, opts: schedule_station(case, solver, dpp, **opts),
    StochasticCase: _solve_stochastic,
    V2ACase: _solve_v2a,
}


def solve(case, solver: str | None = None, dpp: bool = False, **options):
    """Solve a case with the problem its kind names (:data:`SOLVERS`): a grid
    :class:`~gridv2g.result.Result`, a :class:`~gridv2g.result.StationResult` (station and
    MPC), a :class:`~gridv2g.result.stochastic.StochasticResult` or a
    :class:`~gridv2g.result.v2a.V2AResult`.

    ``solver`` overrides the case's; ``options`` are merged over the case's solver options;
    ``dpp=True`` compiles with Parameters (for re-solves through ``result.problem.update(...)``
    and ``result.problem.solve()``); one-shot solves skip DPP, which compiles faster the first
    time.
    """
    run = SOLVERS.get(type(case))
    if run is None:
        raise GridV2GError(f"not a case: {type(case).__name__}; load one with load_case")
    result = run(case, solver or case.solver.name, dpp, {**case.solver.options, **options})
    # the summary names its case and the currency of its money figures first
    if isinstance(getattr(result, "summary", None), dict):
        result.summary = {"case": case.name, "currency": case.currency, **result.summary}
    if hasattr(result, "case"):
        result.case = case
    return result


def schedule_station(case: StationCase, solver: str | None = None, dpp: bool = False, **options):
    """Schedule the EVs of a station-only case (LP, or MILP with exclusiveness / ports), or
    control it with a rolling horizon if the case has an ``mpc`` section."""
    data = station_data(case)
    name = solver or case.solver.name
    options = {**case.solver.options, **options}
    if case.mpc is not None:
        m = case.mpc
        return control(data, m.window, m.penalty_per_kwh, m.compare, name or "CLARABEL", **options)
    return StationSchedule(data, dpp=dpp).solve(name, **options)


def validate(result, engine: str = "pandapower", **tolerances):
    """Replay a grid result in AC power flow: ``engine="pandapower"`` on the balanced
    equivalent the SOCP solved, with tolerances and flags
    (:func:`gridv2g.validation.pandapower.validate`);
    ``engine="opendss"`` on the full unbalanced feeder, the unbalanced truth
    (:func:`gridv2g.validation.opendss.validate_opendss`)."""
    if engine == "opendss":
        if tolerances:
            raise GridV2GError("the OpenDSS replay takes no tolerances: it measures, flags none")
        return validate_opendss(result)
    if engine != "pandapower":
        raise GridV2GError(f"engine must be 'pandapower' or 'opendss', got '{engine}'")
    return _validate(result, **tolerances)


__all__ = ["load_case", "schedule_station", "solve", "validate"]
