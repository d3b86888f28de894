"""The result of a V2A schedule (seed 002): per-EV statuses and powers by mode, the site's
load profile, money (see :mod:`gridv2g.problems.v2a` for the formulas)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from gridv2g.horizon import long_table
from gridv2g.inputs import DISCHARGE_MODES, IDLE, MODES, STATUS
from gridv2g.plots import v2a as v2a_plots
from gridv2g.result.base import ResultBase, solved

#: powers below this are solver noise [kW]
POWER_TOL_KW = 1e-7


@dataclass(kw_only=True)
class V2AResult(ResultBase):
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

    TABLES: ClassVar[tuple[str, ...]] = ("res_ev", "res_site", "res_ev_summary")

    res_ev: pd.DataFrame
    res_site: pd.DataFrame
    res_ev_summary: pd.DataFrame

    def figure_set(self, flagged=None) -> dict:  # no feeder: no replay flags
        return v2a_plots.figure_set(self)


def _long(values, times, names) -> pd.Series:
    return long_table(values, times, names, "ev")


def _value(expr, shape) -> np.ndarray:
    value = expr.value
    return np.zeros(shape) if value is None else np.asarray(value, dtype=float)


def _tidy(x: np.ndarray) -> np.ndarray:
    """Differences of powers with the rounding noise below POWER_TOL_KW set to 0."""
    return np.where(np.abs(x) < POWER_TOL_KW, 0.0, x)


def build_v2a_result(sched, solver: str) -> V2AResult:
    """The result of a solved :class:`~gridv2g.problems.v2a.V2ASchedule`."""
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
        **solved(sched, solver, objective=summary["objective"]),
        res_ev=res_ev,
        res_site=res_site,
        res_ev_summary=res_ev_summary,
        summary=summary,
    )
