"""One solve path for every problem kind (compare acnportal's ``BaseAlgorithm.run``).

:meth:`Problem.solve` is the template: check the solver (installed; a MILP / MISOCP solver
where the problem has binaries) -> timed solve (the solver's default options from
:data:`gridv2g.solvers.SOLVER_DEFAULTS` merged under the caller's) -> on infeasibility the
problem's own diagnosis (a typed :class:`~gridv2g.errors.InfeasibleError` naming what to
relax) -> status check (unbounded and failed solves raise SolveError; a limit keeps the
incumbent with a warning) -> the problem's result. Subclasses build ``self.problem`` and
implement :meth:`diagnose` and :meth:`result`.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import cvxpy as cp

from gridv2g.errors import GridV2GError, InfeasibleError
from gridv2g.solvers import (
    INFEASIBLE,
    MILP_SOLVERS,
    check_solver,
    check_status,
    mip_gap_of,
    timed_solve,
)

log = logging.getLogger(__name__)


class Problem:
    """Base of every problem: ``problem`` (a ``cp.Problem``), ``dpp``, ``timings``,
    ``integer``; ``kind`` names its row in the solver defaults table."""

    #: row of :data:`gridv2g.solvers.SOLVER_DEFAULTS` and the name used in messages
    kind: ClassVar[str] = "problem"
    #: solvers that take this problem's binaries (when ``integer``)
    integer_solvers: ClassVar[tuple[str, ...]] = MILP_SOLVERS
    #: what the binaries are, for the error when a continuous solver is named
    integer_why: ClassVar[str] = "binaries"

    problem: cp.Problem
    dpp: bool = False
    integer: bool = False
    timings: dict

    def default_solver(self) -> str:
        """HiGHS for problems with binaries, Clarabel otherwise."""
        return "HIGHS" if self.integer else "CLARABEL"

    def solve(self, solver: str | None = None, **options):
        """Solve and return the problem's result (see the module docstring)."""
        name = check_solver(solver or self.default_solver())
        if self.integer and name not in self.integer_solvers:
            raise GridV2GError(
                f"{name} cannot solve this {self.kind} problem ({self.integer_why}); use one "
                f"of {list(self.integer_solvers)}"
            )
        size = sum(v.size for v in self.problem.variables())
        log.debug("%s problem: %d variables, solving with %s", self.kind, size, name)
        status = self.run_solver(name, **options)
        log.debug(
            "%s problem: %s; %s",
            self.kind,
            status,
            ", ".join(f"{k} {v:.3g}" for k, v in self.timings.items() if k.endswith("_s")),
        )
        if self.integer:
            self.timings["mip_gap"] = mip_gap_of(self.problem)
        if status in INFEASIBLE:
            self.diagnose(name)
            raise InfeasibleError(f"{name}: {self.kind} problem infeasible ({status})")
        check_status(name, status, self.problem)
        return self.result(name)

    def run_solver(self, name: str, **options) -> str:
        """The timed solve; returns the status (MPC overrides it with its loop)."""
        return timed_solve(self, name, f"the {self.kind} problem", **options)

    def diagnose(self, solver: str) -> None:
        """Raise an InfeasibleError that names what cannot be met (the base says nothing
        more than the status)."""

    def result(self, solver: str):
        """The result of the solved problem."""
        raise NotImplementedError
