"""The public face: ``load_case``, ``solve``, ``validate`` (see DESIGN.md)."""

from __future__ import annotations

from gridv2g.case import Case, grid_data, load_case
from gridv2g.validation import ValidationReport
from gridv2g.validation import validate as _validate


def solve(case: Case, solver: str | None = None, dpp: bool = False, **options):
    """Solve a case with the problem it names; returns a :class:`~gridv2g.result.Result`.

    ``solver`` overrides the case's; ``dpp=True`` compiles with Parameters (for re-solves
    through ``result.problem.update(...)`` and ``result.problem.solve()``); one-shot solves
    skip DPP, which compiles faster the first time.
    """
    from gridv2g.problems.co_optimize import CoOptimization

    data = grid_data(case)
    problem = CoOptimization(data, dpp=dpp)
    return problem.solve(solver or case.solver.name, **{**case.solver.options, **options})


def validate(result, **tolerances) -> ValidationReport:
    """AC replay of a result in pandapower (:func:`gridv2g.validation.validate`)."""
    return _validate(result, **tolerances)


__all__ = ["load_case", "solve", "validate"]
