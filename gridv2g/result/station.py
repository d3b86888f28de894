"""Results of station scheduling (EVs, chargers, ports, storage; no feeder): the tables of a
schedule, its money figures, and the uncontrolled baseline every saving is measured against.

One formula each: :func:`money` is the station objective's money (seed 001 eq. 1 cost, seed
000 profit) evaluated on schedule arrays; :func:`station_tables` turns any schedule (the
optimizer's, the MPC's, the baseline's) into ``res_ev``, ``res_station``, ``res_ev_summary``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from gridv2g import plots
from gridv2g.horizon import long_table
from gridv2g.inputs import StationData
from gridv2g.model.aggregate import ev_energy
from gridv2g.model.arrays import station_ev_arrays
from gridv2g.model.objective import station_money
from gridv2g.model.station import ESSArrays, EVArrays, assign_ports
from gridv2g.result.base import ResultBase, solved

#: the price columns of a station problem [money/kWh]
PRICE_KEYS = ("buy", "sell", "tariff", "v2g_pay")


def price_table(data: StationData) -> pd.DataFrame:
    """(time) buy, sell, tariff and V2G pay prices of ``data`` [per kWh]."""
    idx = data.horizon.index
    return pd.DataFrame(
        {
            f"{k}_per_kwh": getattr(data.prices, k).reindex(idx).to_numpy(float)
            for k in ("buy", "sell", "tariff", "v2g_pay")
        },
        index=pd.Index(idx, name="time"),
    )


def limit_table(data: StationData) -> pd.DataFrame:
    """(time, station) the import and export limits [kW] the schedule is held to, as the
    case gives them (NaN: no limit; not the solver's stand-in bound)."""
    st = data.stations
    idx = data.horizon.index
    names = list(st.stations.index)
    return pd.DataFrame(
        {
            key: long_table(
                getattr(st, key).reindex(idx)[names].to_numpy(float).T, idx, names, "station"
            )
            for key in ("p_import_max_kw", "p_export_max_kw")
        }
    )


# ---------------------------------------------------------------------------- baseline
def uncontrolled(data: StationData) -> dict[str, np.ndarray]:
    """Every EV charges at full power from arrival until its target or its departure.

    No V2G, no storage, no station limit (that is what makes it the baseline). Returns
    arrays ``c``, ``d``, ``e`` like the optimizer's, so results compare one to one.
    """
    ev = station_ev_arrays(data)
    h = data.horizon.hours
    n, T = ev.mask.shape
    step = ev.eta_charge[:, None] * ev.p_charge_max_kw[:, None] * h * ev.mask  # kWh per period
    need = np.maximum(ev.e_target_kwh - ev.e_arrival_kwh, 0.0)[:, None]
    before = np.cumsum(step, axis=1) - step
    into_battery = np.clip(need - before, 0.0, step)
    c = into_battery / (ev.eta_charge[:, None] * h)
    e = ev.e_arrival_kwh[:, None] + np.concatenate(
        [np.zeros((n, 1)), np.cumsum(into_battery, axis=1)], axis=1
    )
    return {"c": c, "d": np.zeros((n, T)), "e": e}


def baseline(data: StationData) -> dict:
    """The uncontrolled baseline's money figures (``money``), station table (``res_station``),
    per-EV summary (``res_ev_summary``) and net import (``net``, station x period)."""
    ev = station_ev_arrays(data)
    base = uncontrolled(data)
    _, res_station, res_ev_summary, net = station_tables(data, ev, base["c"], base["d"], base["e"])
    return {
        "money": money(data, base["c"], base["d"], net),
        "res_station": res_station,
        "res_ev_summary": res_ev_summary,
        "net": net,
    }


# ---------------------------------------------------------------------------- results
@dataclass(kw_only=True)
class StationResult(ResultBase):
    """``res_ev`` (time, ev): p_charge_kw, p_discharge_kw, e_kwh (end of period), soc,
    plugged, port; ``res_station`` (time, station): p_kw (net import), p_import_kw,
    p_export_kw, p_charge_kw, p_discharge_kw, ess_p_kw, ess_e_kwh, occupied_ports;
    ``res_ev_summary`` (ev): e_departure_kwh, e_target_kwh, shortfall_kwh, charged_kwh,
    discharged_kwh; ``res_limit`` (time, station): p_import_max_kw, p_export_max_kw (NaN: no
    limit); ``res_station_perfect_foresight`` (time, station): p_kw of the perfect-foresight
    optimum an MPC result is compared with (``mpc.compare``; empty otherwise); ``summary``:
    money and energy figures (module docstring), savings vs the uncontrolled baseline,
    solver, status, MIP gap, timings. ``plan``: what the schedule is, for figures
    ("optimized", "rolling horizon (MPC)")."""

    TABLES: ClassVar[tuple[str, ...]] = (
        "res_ev",
        "res_station",
        "res_ev_summary",
        "res_price",
        "res_limit",
        "res_station_perfect_foresight",
    )

    res_ev: pd.DataFrame
    res_station: pd.DataFrame
    res_ev_summary: pd.DataFrame
    #: (time) the prices the schedule was optimized against [per kWh]
    res_price: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: (time, station) import / export limits [kW] (NaN: none)
    res_limit: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: (time, station) p_kw of the perfect-foresight optimum (MPC results with compare)
    res_station_perfect_foresight: pd.DataFrame = field(default_factory=pd.DataFrame)
    baseline: dict | None = None
    plan: str = "optimized"

    def figure_set(self, flagged=None) -> dict:  # no feeder: no replay flags
        return plots.station_figure_set(self)


def money(data: StationData, c, d, net) -> dict[str, float]:
    """Money figures of a schedule (arrays in kW): the objective's own formula
    (:func:`gridv2g.model.objective.station_money`) on the schedule's totals."""
    idx = data.horizon.index
    prices = {k: getattr(data.prices, k).reindex(idx).to_numpy(float) for k in PRICE_KEYS}
    figures = station_money(
        data.horizon.hours,
        np.maximum(net, 0.0).sum(axis=0),
        np.maximum(-net, 0.0).sum(axis=0),
        c.sum(axis=0),
        d.sum(axis=0),
        prices,
        data.degradation_per_kwh,
    )
    return {k: float(v) for k, v in figures.items()}


def station_tables(data: StationData, ev: EVArrays, c, d, e, ess=None, port=None):
    """res_ev, res_station, res_ev_summary from schedule arrays (optimizer or baseline)."""
    s = data.sessions
    times = data.horizon.index
    names = list(s.index)
    n, T = c.shape
    stations = list(data.stations.stations.index)
    S = np.zeros((len(stations), n))
    S[ev.station, np.arange(n)] = 1.0
    ess_net = np.zeros((len(stations), T))
    ess_e = np.full((len(stations), T), np.nan)
    if ess is not None:
        ess_net[ess["station"]] = ess["c"] - ess["d"]
        ess_e[ess["station"]] = ess["e"][:, 1:]
    net = S @ (c - d) + ess_net
    plugged = ev.mask
    occupied = (c > 1e-6) | (d > 1e-6)
    if port is None:
        port = np.where(occupied, 0, -1)
    res_ev = pd.DataFrame(
        {
            "p_charge_kw": long_table(c, times, names, "ev"),
            "p_discharge_kw": long_table(d, times, names, "ev"),
            "e_kwh": long_table(e[:, 1:], times, names, "ev"),
            "soc": long_table(e[:, 1:] / s.capacity_kwh.to_numpy()[:, None], times, names, "ev"),
            "plugged": long_table(plugged, times, names, "ev"),
            "port": long_table(port, times, names, "ev"),
        }
    )
    res_station = pd.DataFrame(
        {
            "p_kw": long_table(net, times, stations, "station"),
            "p_import_kw": long_table(np.maximum(net, 0), times, stations, "station"),
            "p_export_kw": long_table(np.maximum(-net, 0), times, stations, "station"),
            "p_charge_kw": long_table(S @ c, times, stations, "station"),
            "p_discharge_kw": long_table(S @ d, times, stations, "station"),
            "ess_p_kw": long_table(ess_net, times, stations, "station"),
            "ess_e_kwh": long_table(ess_e, times, stations, "station"),
            "occupied_ports": long_table(S @ occupied, times, stations, "station"),
        }
    )
    e_dep = e[np.arange(n), ev.departure_index]
    h = data.horizon.hours
    res_ev_summary = pd.DataFrame(
        {
            "station": s.station.to_numpy(),
            "e_arrival_kwh": ev.e_arrival_kwh,
            "e_departure_kwh": e_dep,
            "e_target_kwh": ev.e_target_kwh,
            "shortfall_kwh": np.maximum(ev.e_target_kwh - e_dep, 0.0),
            "charged_kwh": c.sum(axis=1) * h,
            "discharged_kwh": d.sum(axis=1) * h,
        },
        index=pd.Index(names, name="ev"),
    )
    return res_ev, res_station, res_ev_summary, net


def solved_tables(
    data: StationData, ev: EVArrays, ess: ESSArrays | None, ports, block, schedule=None
):
    """Tables of a solved station block: ``(c, d, res_ev, res_station, res_ev_summary, net)``
    with ``c``, ``d`` (EV x period, kW) cleaned of solver noise and ports numbered. Shared by
    the station-only problem and the grid co-optimization's fleet. ``schedule``: per-EV
    schedules of the scale mode (with ``c``, ``d`` [kW]; the block's rows are groups then)."""
    if schedule is not None:
        c = np.where(ev.mask, schedule.c, 0.0)
        d = np.where(ev.mask, schedule.d, 0.0)
        e = ev_energy(ev, c, d, data.horizon.hours)
    else:
        # clean solver noise below 1 W so that "no power outside windows" reads exactly
        c = np.where(ev.mask, np.maximum(block.c.value, 0.0), 0.0)
        d = np.where(ev.mask, np.maximum(block.d.value, 0.0), 0.0)
        e = block.e.value
    storage = None
    if ess is not None:
        storage = {
            "station": ess.station,
            "c": block.ess_c.value,
            "d": block.ess_d.value,
            "e": block.ess_e.value,
        }
    port = assign_ports((c > 1e-6) | (d > 1e-6), ev.station, ports)
    tables = station_tables(data, ev, c, d, e, storage, port)
    return (c, d, *tables)


def schedule_summary(data: StationData, c, d, net, res_ev_summary: pd.DataFrame, base: dict):
    """Money, energy and peak figures of a schedule (arrays in kW), with the savings against
    the uncontrolled baseline ``base`` (:func:`baseline`). Shared by every station result."""
    figures = money(data, c, d, net)
    base_money = base["money"]
    h = data.horizon.hours
    return {
        **figures,
        "savings_vs_uncontrolled": base_money["cost"] - figures["cost"],
        "savings_vs_uncontrolled_percent": (
            100.0 * (base_money["cost"] - figures["cost"]) / base_money["cost"]
            if base_money["cost"]
            else float("nan")
        ),
        "uncontrolled_cost": base_money["cost"],
        "uncontrolled_profit": base_money["profit"],
        "profit_gain_vs_uncontrolled": figures["profit"] - base_money["profit"],
        "uncontrolled_peak_kw": float(base["net"].sum(axis=0).max()),
        "peak_kw": float(net.sum(axis=0).max()),
        "charged_kwh": float(c.sum() * h),
        "discharge_kwh": float(d.sum() * h),
        "shortfall_kwh": float(res_ev_summary.shortfall_kwh.sum()),
        "evs": len(data.sessions),
    }


def build_station_result(sched, solver: str) -> StationResult:
    """The result of a solved :class:`~gridv2g.problems.station.StationSchedule`."""
    data = sched.data
    c, d, res_ev, res_station, res_ev_summary, net = solved_tables(
        data, sched.ev, sched.ess, sched.ports, sched.block, sched.schedule
    )
    base = baseline(data)
    status, objective = sched.problem.status, float(sched.problem.value)
    summary = {
        "status": status,
        "solver": solver,
        "objective": objective,
        **schedule_summary(data, c, d, net, res_ev_summary, base),
        "integer": sched.integer,
        "mip_gap": sched.timings.get("mip_gap"),
        **{k: v for k, v in sched.timings.items() if k.endswith("_s")},
        **{k: sched.timings[k] for k in ("groups", "aggregation_rounds") if k in sched.timings},
    }
    return StationResult(
        **solved(sched, solver),
        res_ev=res_ev,
        res_station=res_station,
        res_ev_summary=res_ev_summary,
        res_price=price_table(data),
        res_limit=limit_table(data),
        summary=summary,
        baseline=base,
    )
