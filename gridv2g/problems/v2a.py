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
from dataclasses import dataclass, field
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd

from gridv2g.errors import InfeasibleError, V2AError
from gridv2g.model.station import EVArrays
from gridv2g.model.v2a import DISCHARGE_MODES, IDLE, MODES, STATUS, v2a_block
from gridv2g.profiles import Horizon

#: modes of each site kind, Sect. 2: "G2V, V2H, and V2G at home; G2V, V2B, and V2G in building
#: garages; G2V, V2V, and V2G at a commercial charging station"
SITE_MODES: dict[str, tuple[str, ...]] = {
    "home": ("G2V", "V2H", "V2G"),
    "building": ("G2V", "V2B", "V2G"),
    "station": ("G2V", "V2V", "V2G"),
}
#: the only site kind at which each own-load mode exists (V2H serves a home, V2B a building)
OWN_LOAD_SITE = {"V2H": "home", "V2B": "building"}
#: money per status binary and period that keeps a status off when its power is zero
TIE_BREAK = 1e-6
#: default solver options: a tight MIP gap, so that sweeps compare optimal schedules
DEFAULT_OPTIONS = {"HIGHS": {"mip_rel_gap": 1e-7}}
#: powers below this are solver noise [kW]
POWER_TOL_KW = 1e-7


@dataclass
class V2AData:
    """Inputs of a V2A site.

    ``sessions``: the EV session table (:mod:`gridv2g.fleet`; its ``station`` column is not
    used, every EV is at this site; ``v2g`` False forbids every discharge mode).
    ``base_load_kw``, ``load_price``, ``v2g_price``: Series on ``horizon.index`` [kW],
    [money/kWh], [money/kWh]. ``rho`` [money/kWh short of the target], ``lambda_`` [money/kWh
    discharged]. ``modes``: allowed modes (default: the site kind's, :data:`SITE_MODES`).
    ``rated_power``: a status runs at the EV's rated power (the paper's assumption 4).
    """

    horizon: Horizon
    sessions: pd.DataFrame
    site_kind: str
    base_load_kw: pd.Series
    load_price: pd.Series
    v2g_price: pd.Series
    rho: float = 1.5
    lambda_: float = 0.15
    modes: tuple[str, ...] | None = None
    rated_power: bool = False

    def allowed_modes(self) -> tuple[str, ...]:
        """The allowed modes, checked against the site kind (raises V2AError)."""
        if self.site_kind not in SITE_MODES:
            raise V2AError(
                f"site kind {self.site_kind!r} is unknown; valid: {', '.join(SITE_MODES)}"
            )
        modes = SITE_MODES[self.site_kind] if self.modes is None else tuple(self.modes)
        unknown = [m for m in modes if m not in MODES]
        if unknown:
            raise V2AError(f"unknown V2A mode(s) {unknown}; valid: {list(MODES)}")
        for mode, kind in OWN_LOAD_SITE.items():
            if mode in modes and self.site_kind != kind:
                raise V2AError(
                    f"mode {mode} serves the own load of a {kind}, not of a {self.site_kind}; "
                    f"the modes of each site kind (Sect. 2): {SITE_MODES}"
                )
        return tuple(m for m in MODES if m in modes)


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
    """Per-EV arrays of a session table on ``horizon`` (discharge rating 0 without ``v2g``)."""
    from gridv2g.fleet import plug_mask, plug_windows

    n = len(sessions)
    _, dep = plug_windows(sessions, horizon)
    v2g = sessions.v2g.to_numpy(bool)
    return EVArrays(
        station=np.zeros(n, dtype=int),
        charger=np.full(n, -1),
        e_arrival_kwh=sessions.e_arrival_kwh.to_numpy(float),
        e_target_kwh=sessions.e_target_kwh.to_numpy(float),
        e_min_kwh=sessions.e_min_kwh.to_numpy(float),
        e_max_kwh=sessions.e_max_kwh.to_numpy(float),
        p_charge_max_kw=sessions.p_charge_max_kw.to_numpy(float),
        p_discharge_max_kw=np.where(v2g, sessions.p_discharge_max_kw.to_numpy(float), 0.0),
        eta_charge=sessions.eta_charge.to_numpy(float),
        eta_discharge=sessions.eta_discharge.to_numpy(float),
        departure_index=dep,
        mask=plug_mask(sessions, horizon),
    )


class V2ASchedule:
    """Build once, update Parameters, solve: the V2A schedule of one site (MILP)."""

    #: solver options merged in by :func:`gridv2g.solvers.timed_solve`
    default_options = DEFAULT_OPTIONS

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

    def solve(self, solver: str | None = None, **options) -> V2AResult:
        """Solve (HiGHS by default) and return a :class:`V2AResult`."""
        from gridv2g.solvers import (
            check_milp_solver,
            check_solver,
            check_status,
            mip_gap_of,
            timed_solve,
        )

        name = check_solver(solver or "HIGHS")
        check_milp_solver(name, self.integer, "status binaries")
        status = timed_solve(self, name, "the V2A problem", **options)
        self.timings["mip_gap"] = mip_gap_of(self.problem) if self.integer else None
        if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise InfeasibleError(
                f"{name}: V2A problem infeasible ({status}); targets are soft, so check the "
                "energy limits against the arrival energies and the base load"
            )
        check_status(name, status, self.problem)
        return build_v2a_result(self, name)


# ---------------------------------------------------------------------------- results
@dataclass
class V2AResult:
    """Tables of a solved V2A schedule.

    ``res_ev`` (time, ev): status (idle, charging, V2H, V2B, V2V, V2G), plugged,
    p_charge_kw, p_charge_v2v_kw (part of the charging fed by V2V), p_v2h_kw, p_v2b_kw,
    p_v2v_kw, p_v2g_kw, p_discharge_kw, p_kw (charge minus discharge), e_kwh (end of period),
    soc. ``res_site`` (time): base_load_kw, ev_charge_kw, ev_charge_grid_kw,
    ev_charge_v2v_kw, v2h_kw, v2b_kw, v2v_kw, v2g_kw, grid_import_kw, grid_export_kw, p_kw
    (import minus export: the optimized load profile), load_price, v2g_price and the number of
    EVs in each status (n_charging, n_v2h, ...). ``res_ev_summary`` (ev): energies at arrival,
    departure and target, shortfall, charged and discharged kWh per mode. ``summary``: money
    (module docstring), energies, solver, status, MIP gap, timings.
    """

    res_ev: pd.DataFrame
    res_site: pd.DataFrame
    res_ev_summary: pd.DataFrame
    summary: dict
    problem: object = field(default=None, repr=False)

    def to_dir(self, directory, fmt: str = "parquet") -> Path:
        """Write res_ev, res_site, res_ev_summary (Parquet or CSV), summary.json, a plot."""
        from gridv2g import plots_v2a
        from gridv2g.result import write_tables

        names = ("res_ev", "res_site", "res_ev_summary")
        directory = write_tables(directory, {n: getattr(self, n) for n in names}, self.summary, fmt)
        plots_v2a.write_figures(self, directory)
        return directory


def _long(values, times, names) -> pd.Series:
    index = pd.MultiIndex.from_product([times, list(names)], names=["time", "ev"])
    return pd.Series(np.asarray(values).T.ravel(), index=index)


def _value(expr, shape) -> np.ndarray:
    value = expr.value
    return np.zeros(shape) if value is None else np.asarray(value, dtype=float)


def _tidy(x: np.ndarray) -> np.ndarray:
    """Differences of powers with the rounding noise below POWER_TOL_KW set to 0."""
    return np.where(np.abs(x) < POWER_TOL_KW, 0.0, x)


def build_v2a_result(sched: V2ASchedule, solver: str) -> V2AResult:
    data, b, ev = sched.data, sched.block, sched.ev
    n, T = ev.mask.shape
    h = data.horizon.hours
    times, names = data.horizon.index, list(data.sessions.index)

    def clean(x):
        x = np.where(ev.mask, np.asarray(x, dtype=float), 0.0)
        return np.where(np.abs(x) < POWER_TOL_KW, 0.0, np.maximum(x, 0.0))

    p = {m: clean(_value(b.p[m], (n, T))) for m in MODES}
    received = np.minimum(clean(_value(b.v2v_received, (n, T))), p["G2V"])
    e = _value(b.e, (n, T + 1))
    status = np.full((n, T), IDLE, dtype=object)
    if b.u:
        for m, u in b.u.items():
            status[_value(u, (n, T)) > 0.5] = STATUS[m]
    else:
        for m in b.modes:
            status[p[m] > 0] = STATUS[m]
    discharge = sum(p[m] for m in DISCHARGE_MODES)
    soc = e[:, 1:] / data.sessions.capacity_kwh.to_numpy(float)[:, None]
    res_ev = pd.DataFrame(
        {
            "status": _long(status, times, names),
            "plugged": _long(ev.mask, times, names),
            "p_charge_kw": _long(p["G2V"], times, names),
            "p_charge_v2v_kw": _long(received, times, names),
            "p_v2h_kw": _long(p["V2H"], times, names),
            "p_v2b_kw": _long(p["V2B"], times, names),
            "p_v2v_kw": _long(p["V2V"], times, names),
            "p_v2g_kw": _long(p["V2G"], times, names),
            "p_discharge_kw": _long(discharge, times, names),
            "p_kw": _long(p["G2V"] - discharge, times, names),
            "e_kwh": _long(e[:, 1:], times, names),
            "soc": _long(soc, times, names),
        }
    )
    base = sched.params["base_load_kw"].value
    load_price = sched.params["load_price"].value
    v2g_price = sched.params["v2g_price"].value
    site = {m: p[m].sum(axis=0) for m in MODES}
    v2v_in = received.sum(axis=0)
    charge_grid = _tidy(site["G2V"] - v2v_in)
    grid_import = _tidy(base + charge_grid - site["V2H"] - site["V2B"])
    grid_export = site["V2G"]
    res_site = pd.DataFrame(
        {
            "base_load_kw": base,
            "ev_charge_kw": site["G2V"],
            "ev_charge_grid_kw": charge_grid,
            "ev_charge_v2v_kw": v2v_in,
            "v2h_kw": site["V2H"],
            "v2b_kw": site["V2B"],
            "v2v_kw": site["V2V"],
            "v2g_kw": site["V2G"],
            "grid_import_kw": grid_import,
            "grid_export_kw": grid_export,
            "p_kw": grid_import - grid_export,
            "load_price": load_price,
            "v2g_price": v2g_price,
            **{f"n_{STATUS[m].lower()}": (status == STATUS[m]).sum(axis=0) for m in MODES},
        },
        index=times,
    )
    e_dep = e[np.arange(n), ev.departure_index]
    shortfall = np.maximum(ev.e_target_kwh - e_dep, 0.0)
    res_ev_summary = pd.DataFrame(
        {
            "e_arrival_kwh": ev.e_arrival_kwh,
            "e_departure_kwh": e_dep,
            "e_target_kwh": ev.e_target_kwh,
            "shortfall_kwh": shortfall,
            "charged_kwh": p["G2V"].sum(axis=1) * h,
            **{f"{m.lower()}_kwh": p[m].sum(axis=1) * h for m in DISCHARGE_MODES},
            "discharged_kwh": discharge.sum(axis=1) * h,
        },
        index=pd.Index(names, name="ev"),
    )
    energy_cost = float(h * load_price @ grid_import)
    v2g_revenue = float(h * v2g_price @ grid_export)
    bill = energy_cost - v2g_revenue
    discharge_kwh = float(discharge.sum() * h)
    shortfall_kwh = float(shortfall.sum())
    shortfall_penalty = float(data.rho * shortfall_kwh)
    cycle_penalty = float(data.lambda_ * discharge_kwh)
    summary = {
        "status": sched.problem.status,
        "solver": solver,
        "site_kind": data.site_kind,
        "modes": list(sched.modes),
        "rated_power": data.rated_power,
        "objective": bill + shortfall_penalty + cycle_penalty,
        "bill": bill,
        "energy_cost": energy_cost,
        "v2g_revenue": v2g_revenue,
        "base_load_cost": float(h * load_price @ base),
        "shortfall_penalty": shortfall_penalty,
        "cycle_penalty": cycle_penalty,
        "rho": float(data.rho),
        "lambda": float(data.lambda_),
        "charged_kwh": float(p["G2V"].sum() * h),
        "v2v_charged_kwh": float(received.sum() * h),
        "discharge_kwh": discharge_kwh,
        **{f"discharge_{m.lower()}_kwh": float(p[m].sum() * h) for m in DISCHARGE_MODES},
        "shortfall_kwh": shortfall_kwh,
        "peak_import_kw": float(grid_import.max()),
        "evs": n,
        "integer": sched.integer,
        "mip_gap": sched.timings.get("mip_gap"),
        **{k: v for k, v in sched.timings.items() if k.endswith("_s")},
    }
    return V2AResult(
        res_ev=res_ev,
        res_site=res_site,
        res_ev_summary=res_ev_summary,
        summary=summary,
        problem=sched,
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
