r"""V2A scheduling of one site (home, building or charging station): seed 002's problem.

``V2ASchedule`` assembles the V2A block (:mod:`gridv2g.model.v2a`) with the objective of
Mao, Zhang & Zhou 2018 (Appl. Sci. 8(7) 1048, eqs. 9-10), built once with the prices, the base
load, :math:`\rho` and :math:`\lambda` as CVXPY Parameters, so that sweeps re-solve without
rebuilding (:func:`lambda_sweep`). :func:`compare_discharge` solves a case with and without
the discharge modes (Sect. 4.2's household comparison).

Money (:math:`h` the period length [h], :math:`\vartheta^L` the load price and
:math:`\vartheta^{V2G}` the V2G price, both per kWh; the site's import and export as in the
block):

- **bill** (eq. 9, the "power consumption cost" the paper reports, 101.09 vs 105.71 p.u. for
  its household): :math:`h \sum_t (\vartheta^L_t P^{imp}_t - \vartheta^{V2G}_t P^{exp}_t)`,
  base load included, penalties excluded;
- **objective** (eq. 10): bill :math:`+ \rho \sum_i s_i + \lambda h \sum_{i,t} p^{dis}_{i,t}`.
  The paper penalises the deviation of the final SOC from the desired one and the battery's
  charging/discharging cycles. Here the first is the shortfall below the target [kWh], so
  :math:`\rho` is per kWh: set above every price (as in seed 002's cases), it leaves a target
  missed only if it cannot be reached or, with rated power, if the rest is less than one
  slot's energy and cheaper to miss than another slot bought. The second is every kWh
  discharged, in any mode (a kWh the battery must cycle again), so :math:`\lambda` is per
  kWh discharged; with rated power this is the count of discharging slots of eqs. 6-7 times
  the energy of one slot.

With variable power a tie-break of :data:`TIE_BREAK` per status binary and period keeps a
status off when its power is zero (it does not change the schedule's money beyond 1e-6 per
slot). Result tables: ``res_ev`` (time, ev), ``res_site`` (time), ``res_ev_summary`` (ev),
``summary`` (dict); see :class:`V2AResult`.
"""

from __future__ import annotations

import dataclasses
import time

import cvxpy as cp
import numpy as np
import pandas as pd

from gridv2g.errors import InfeasibleError, V2AError
from gridv2g.horizon import Horizon
from gridv2g.inputs import DISCHARGE_MODES, OWN_LOAD_SITE, SITE_MODES, V2AData
from gridv2g.model.arrays import ev_arrays
from gridv2g.model.station import EVArrays
from gridv2g.model.v2a import v2a_block
from gridv2g.problems.base import Problem
from gridv2g.result.v2a import V2AResult, build_v2a_result

__all__ = [
    "OWN_LOAD_SITE",
    "SITE_MODES",
    "V2AData",
    "V2AResult",
    "V2ASchedule",
    "compare_discharge",
    "lambda_sweep",
    "parameter_sweep",
    "v2a_ev_arrays",
    "with_and_without_discharge",
]

#: money per status binary and period that keeps a status off when its power is zero
TIE_BREAK = 1e-6


def _series(data: V2AData, name: str, nonneg: bool) -> np.ndarray:
    """A Series of ``data`` on the horizon as floats; V2AError on gaps or bad values."""
    series = getattr(data, name)
    idx = data.horizon.index
    values = pd.Series(series).reindex(idx).to_numpy(float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise V2AError(
            f"{name} has no finite value at {idx[np.flatnonzero(bad)[0]]} "
            f"({int(bad.sum())} of {len(idx)} periods of the horizon missing or not finite)"
        )
    if nonneg and (values < 0).any():
        t = np.flatnonzero(values < 0)[0]
        raise V2AError(f"{name} is negative at {idx[t]}: {values[t]}")
    return values


def _scalar(value: float, name: str) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise V2AError(f"{name} must be a finite number >= 0; got {value}")
    return value


def v2a_ev_arrays(sessions: pd.DataFrame, horizon: Horizon) -> EVArrays:
    """Per-EV arrays of a session table on ``horizon``, every EV at this one site (discharge
    rating 0 without ``v2g``)."""
    return ev_arrays(sessions, horizon)


class V2ASchedule(Problem):
    """Build once, update Parameters, solve: the V2A schedule of one site (MILP)."""

    kind = "V2A"
    integer_why = "status binaries"

    def __init__(self, data: V2AData, dpp: bool = False):
        t0 = time.perf_counter()
        self.data, self.dpp = data, dpp
        self.modes = data.allowed_modes()
        self.ev = v2a_ev_arrays(data.sessions, data.horizon)
        h, T = data.horizon.hours, data.horizon.periods
        self.block = b = v2a_block(self.ev, h, self.modes, rated_power=data.rated_power)
        self.params = {
            "load_price": cp.Parameter(T, name="price-load"),
            "v2g_price": cp.Parameter(T, name="price-v2g"),
            "rho": cp.Parameter(nonneg=True, name="rho"),
            "lambda_": cp.Parameter(nonneg=True, name="lambda"),
            "base_load_kw": b.params["base_load_kw"],
        }
        p = self.params
        # the base load's own cost is a constant (and a product of two Parameters, not DPP):
        # it is left out of the objective and added back in the result
        terms = {
            "ev_energy_cost": h * (p["load_price"] @ b.ev_import_kw),
            "v2g_revenue": h * (p["v2g_price"] @ b.grid_export_kw),
            "shortfall_penalty": p["rho"] * cp.sum(b.shortfall),
            "cycle_penalty": p["lambda_"] * h * cp.sum(b.discharge_kw),
        }
        objective = (
            terms["ev_energy_cost"]
            - terms["v2g_revenue"]
            + terms["shortfall_penalty"]
            + terms["cycle_penalty"]
        )
        if b.integer and not data.rated_power:
            objective = objective + TIE_BREAK * b.status_count()
        self.terms = terms
        self.problem = cp.Problem(cp.Minimize(objective), b.all_constraints())
        self.integer = b.integer
        self.timings: dict[str, float | None] = {"build_s": time.perf_counter() - t0}
        self.update()

    def update(self, **changes) -> None:
        """Set the Parameters from the data (fields in ``changes`` replaced first, e.g.
        ``lambda_=0.3``); the caller's V2AData is not modified."""
        structural = {"horizon", "sessions", "site_kind", "modes", "rated_power"} & set(changes)
        if structural:
            raise V2AError(f"{sorted(structural)} change the problem's structure: build anew")
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(V2AData)})
        if unknown:
            raise V2AError(f"update: unknown field(s) {unknown}")
        if changes:
            self.data = dataclasses.replace(self.data, **changes)
        d, p = self.data, self.params
        p["load_price"].value = _series(d, "load_price", nonneg=False)
        p["v2g_price"].value = _series(d, "v2g_price", nonneg=False)
        p["base_load_kw"].value = _series(d, "base_load_kw", nonneg=True)
        p["rho"].value = _scalar(d.rho, "rho")
        p["lambda_"].value = _scalar(d.lambda_, "lambda_")

    def default_solver(self) -> str:
        return "HIGHS"

    def result(self, solver: str) -> V2AResult:
        return build_v2a_result(self, solver)

    def diagnose(self, solver: str) -> None:
        raise InfeasibleError(
            f"{solver}: V2A problem infeasible; targets are soft, so check the energy limits "
            "against the arrival energies and the base load"
        )


# ---------------------------------------------------------------------------- studies
#: summary figures of a study row
STUDY_COLUMNS = (
    "bill",
    "energy_cost",
    "v2g_revenue",
    "objective",
    "cycle_penalty",
    "shortfall_kwh",
    "charged_kwh",
    "discharge_kwh",
    *(f"discharge_{m.lower()}_kwh" for m in DISCHARGE_MODES),
    "status",
    "mip_gap",
    "solve_s",
)


def parameter_sweep(
    data: V2AData, name: str, values, solver: str | None = None, **options
) -> dict[float, V2AResult]:
    """Solve ``data`` for each value of the Parameter field ``name`` (``lambda_``, ``rho``):
    one problem built once, only the Parameter changes between solves. Returns the results
    by value, in order."""
    sched = V2ASchedule(dataclasses.replace(data), dpp=True)
    results = {}
    for value in values:
        sched.update(**{name: float(value)})
        results[float(value)] = sched.solve(solver, **options)
    return results


def study_table(results: dict, index_name: str | None = None) -> pd.DataFrame:
    """One row per result (index: the dict's keys) with the columns of :data:`STUDY_COLUMNS`."""
    rows = {key: {c: r.summary[c] for c in STUDY_COLUMNS} for key, r in results.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = index_name
    return table


def lambda_sweep(data: V2AData, lambdas, solver: str | None = None, **options) -> pd.DataFrame:
    r"""Discharge, bill and penalties for each cycle penalty :math:`\lambda` (Sect. 4.5).

    One row per :math:`\lambda` (index ``lambda``), columns of :data:`STUDY_COLUMNS`; the
    schedules themselves come from :func:`parameter_sweep` (Figs. 14-15's profiles).

    At an optimum, discharge cannot rise with :math:`\lambda`: for :math:`\lambda_1 <
    \lambda_2` with optima :math:`x_1, x_2` and discharge :math:`g`, adding the two
    optimality inequalities gives :math:`(\lambda_2 - \lambda_1)(g(x_2) - g(x_1)) \le 0`
    (hence the tight default MIP gap).
    """
    return study_table(parameter_sweep(data, "lambda_", lambdas, solver, **options), "lambda")


def with_and_without_discharge(
    data: V2AData, solver: str | None = None, **options
) -> dict[str, V2AResult]:
    """Results ``with discharge`` (the allowed modes of ``data``) and ``without discharge``
    (``modes=("G2V",)``: charging only), Sect. 4.2."""
    return {
        "with discharge": V2ASchedule(data).solve(solver, **options),
        "without discharge": V2ASchedule(dataclasses.replace(data, modes=("G2V",))).solve(
            solver, **options
        ),
    }


def compare_discharge(
    data: V2AData,
    solver: str | None = None,
    reference: dict[str, float] | None = None,
    results: dict[str, V2AResult] | None = None,
    **options,
) -> pd.DataFrame:
    """The site's bill with its discharge modes and without them (Sect. 4.2's comparison).

    Rows ``with discharge`` and ``without discharge`` (:func:`with_and_without_discharge`, or
    ``results`` already solved), columns of :data:`STUDY_COLUMNS` plus
    ``bill_change_percent`` (against the row without discharge). ``reference``: the paper's
    bills by row name (:data:`gridv2g.case_v2a.SEED002_HOUSEHOLD_BILL_PU`), added as
    ``paper_bill`` and ``paper_bill_change_percent``.
    """
    if results is None:
        results = with_and_without_discharge(data, solver, **options)
    table = study_table(results)
    without = float(table.loc["without discharge", "bill"])
    table["bill_change_percent"] = 100.0 * (table.bill - without) / abs(without)
    if reference is not None:
        paper = pd.Series(reference, dtype=float).reindex(table.index)
        table["paper_bill"] = paper
        table["paper_bill_change_percent"] = (
            100.0 * (paper - paper["without discharge"]) / abs(paper["without discharge"])
        )
    return table
