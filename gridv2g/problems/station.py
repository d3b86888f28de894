r"""Station scheduling without a feeder: EVs, chargers, ports, storage, prices.

``StationSchedule`` assembles the station block (:mod:`gridv2g.model.station`) with an
objective; ``uncontrolled`` is the baseline every saving is measured against.

Objectives (money per the price columns; :math:`h` the period length in hours; import and
export are the station's net grid exchange, :math:`imp - exp = net`, both :math:`\ge 0`):

- ``cost`` (seed 001 eq. 1): :math:`h \sum_t (\pi^{buy}_t imp_t - \pi^{sell}_t exp_t) +
  \gamma h \sum d` - energy cost minus V2G revenue plus degradation.
- ``profit`` (seed 000, Wu): maximise :math:`h \sum_t (p^{CS}_t \sum c - r^{CS}_t \sum d)`
  (tariff charged to EV owners minus what the station pays them for discharge) minus the
  cost above.

Soft targets add :math:`\rho \sum_n s_n` (shortfall penalty per kWh, seed 002's rho).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import pandas as pd

from gridv2g.errors import GridV2GError
from gridv2g.model.station import ESSArrays, EVArrays, assign_ports, station_block
from gridv2g.profiles import Horizon

#: stands for "no limit" in a Parameter (CVXPY Parameters cannot hold inf) [kW]
NO_LIMIT_KW = 1e9


@dataclass
class StationSpec:
    """Stations (index = name): ``ports`` (NaN or inf = unlimited), ``p_import_max_kw`` and
    ``p_export_max_kw`` as (time x station) frames; ``chargers`` (index = name) with
    ``station``, ``p_max_kw``; ``ess`` (index = station) with ``e_kwh``, ``p_kw``,
    ``eta_charge``, ``eta_discharge``, ``soc_min``, ``soc_max``, ``soc_initial``,
    ``end_rule``."""

    stations: pd.DataFrame
    p_import_max_kw: pd.DataFrame
    p_export_max_kw: pd.DataFrame
    chargers: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["station", "p_max_kw"])
    )
    ess: pd.DataFrame | None = None


@dataclass
class Prices:
    """Per period [money/kWh]: ``buy`` from the grid, ``sell`` to it (V2G), ``tariff``
    charged to EV owners, ``v2g_pay`` paid to them per kWh discharged."""

    buy: pd.Series
    sell: pd.Series
    tariff: pd.Series
    v2g_pay: pd.Series


@dataclass
class StationData:
    horizon: Horizon
    sessions: pd.DataFrame
    stations: StationSpec
    prices: Prices
    objective: str = "cost"  # or "profit"
    degradation_per_kwh: float = 0.0
    soft_target: bool = False
    shortfall_penalty_per_kwh: float = 1.0
    exclusive: bool = False
    v2g: bool = True
    ess_exclusive: bool = False


def ev_arrays(data: StationData) -> EVArrays:
    """Per-EV arrays from the session table (V2G off where the session or the case says so)."""
    from gridv2g.fleet import plug_mask, plug_windows

    s = data.sessions
    st_index = {name: k for k, name in enumerate(data.stations.stations.index)}
    ch_index = {name: k for k, name in enumerate(data.stations.chargers.index)}
    v2g = s.v2g.to_numpy(bool) & data.v2g
    _, dep = plug_windows(s, data.horizon)
    charger = s.charger.map(lambda c: ch_index.get(c, -1) if c else -1) if "charger" in s else None
    return EVArrays(
        station=s.station.map(st_index).to_numpy(int),
        charger=(charger.to_numpy(int) if charger is not None else np.full(len(s), -1)),
        e_arrival_kwh=s.e_arrival_kwh.to_numpy(float),
        e_target_kwh=s.e_target_kwh.to_numpy(float),
        e_min_kwh=s.e_min_kwh.to_numpy(float),
        e_max_kwh=s.e_max_kwh.to_numpy(float),
        p_charge_max_kw=s.p_charge_max_kw.to_numpy(float),
        p_discharge_max_kw=np.where(v2g, s.p_discharge_max_kw.to_numpy(float), 0.0),
        eta_charge=s.eta_charge.to_numpy(float),
        eta_discharge=s.eta_discharge.to_numpy(float),
        departure_index=dep,
        mask=plug_mask(s, data.horizon),
    )


def ess_arrays(data: StationData) -> ESSArrays | None:
    ess = data.stations.ess
    if ess is None or ess.empty:
        return None
    st_index = {name: k for k, name in enumerate(data.stations.stations.index)}
    return ESSArrays(
        station=np.array([st_index[s] for s in ess.index]),
        e_kwh=ess.e_kwh.to_numpy(float),
        p_kw=ess.p_kw.to_numpy(float),
        eta_charge=ess.eta_charge.to_numpy(float),
        eta_discharge=ess.eta_discharge.to_numpy(float),
        soc_min=ess.soc_min.to_numpy(float),
        soc_max=ess.soc_max.to_numpy(float),
        soc_initial=ess.soc_initial.to_numpy(float),
        end_rule=list(ess.end_rule),
        exclusive=data.ess_exclusive,
    )


@dataclass
class FleetModel:
    """A station block with the arrays it was built from (see :func:`fleet_block`)."""

    ev: EVArrays
    ess: ESSArrays | None
    ports: np.ndarray
    block: object  # StationBlock


def fleet_block(data: StationData):
    """The station block of ``data``: ``(ev, ess, ports, block)`` with per-EV arrays, storage
    arrays (or None), ports per station (inf = one per EV) and the
    :class:`~gridv2g.model.station.StationBlock`. Shared by the station-only problem and the
    grid co-optimization, which connects ``block.net_kw`` to the stations' feeder buses."""
    st = data.stations
    ev = ev_arrays(data)
    ess = ess_arrays(data)
    ports = st.stations.ports.astype(float).fillna(np.inf).to_numpy()
    charger_station = np.array(
        [list(st.stations.index).index(s) for s in st.chargers.station], dtype=int
    )
    block = station_block(
        ev,
        len(st.stations),
        data.horizon.hours,
        ports,
        st.chargers.p_max_kw.to_numpy(float),
        charger_station,
        soft_target=data.soft_target,
        exclusive=data.exclusive,
        ess=ess,
    )
    return ev, ess, ports, block


def set_station_limits(block, data: StationData) -> None:
    """Set the block's import/export limit Parameters [kW] from ``data`` (NaN: no limit)."""
    idx = data.horizon.index
    st = data.stations
    for key in ("p_import_max_kw", "p_export_max_kw"):
        frame = getattr(st, key).reindex(idx)[st.stations.index]
        values = frame.to_numpy(float).T
        block.params[key].value = np.nan_to_num(np.minimum(values, NO_LIMIT_KW), nan=NO_LIMIT_KW)


class StationSchedule:
    """Build once, update Parameters, solve: scheduling of one or more stations."""

    def __init__(self, data: StationData, dpp: bool = False):
        t0 = time.perf_counter()
        self.data, self.dpp = data, dpp
        if data.objective not in ("cost", "profit"):
            raise GridV2GError(f"objective must be 'cost' or 'profit', got '{data.objective}'")
        h = data.horizon.hours
        T = data.horizon.periods
        st = data.stations
        self.ev, self.ess, self.ports, self.block = fleet_block(data)
        b = self.block
        ns = len(st.stations)
        self.price = {
            k: cp.Parameter(T, name=f"price-{k}") for k in ("buy", "sell", "tariff", "v2g_pay")
        }
        imp = cp.Variable((ns, T), nonneg=True, name="station-import")
        exp = cp.Variable((ns, T), nonneg=True, name="station-export")
        self.imp, self.exp = imp, exp
        cons = [*b.all_constraints(), imp - exp == b.net_kw]
        ones = np.ones(ns)
        terms = {
            "energy_cost": h * (ones @ imp) @ self.price["buy"],
            "v2g_revenue": h * (ones @ exp) @ self.price["sell"],
            "degradation_cost": data.degradation_per_kwh * h * cp.sum(b.d),
            "ev_revenue": h * cp.sum(b.c, axis=0) @ self.price["tariff"],
            "ev_payments": h * cp.sum(b.d, axis=0) @ self.price["v2g_pay"],
            "shortfall_penalty": data.shortfall_penalty_per_kwh * cp.sum(b.shortfall),
        }
        self.terms = terms
        cost = terms["energy_cost"] - terms["v2g_revenue"] + terms["degradation_cost"]
        if data.objective == "cost":
            objective = cost + terms["shortfall_penalty"]
        else:
            objective = cost - terms["ev_revenue"] + terms["ev_payments"]
            objective = objective + terms["shortfall_penalty"]
        self.problem = cp.Problem(cp.Minimize(objective), cons)
        self.integer = b.integer
        self.timings = {"build_s": time.perf_counter() - t0}
        self.update()

    def update(self, **changes) -> None:
        """Set Parameters from ``self.data`` (fields in ``changes`` replaced first)."""
        for key, value in changes.items():
            if not hasattr(self.data, key):
                raise GridV2GError(f"update: unknown field '{key}'")
            setattr(self.data, key, value)
        idx = self.data.horizon.index
        for k, p in self.price.items():
            p.value = getattr(self.data.prices, k).reindex(idx).to_numpy(float)
        set_station_limits(self.block, self.data)

    def default_solver(self) -> str:
        return "HIGHS" if self.integer else "CLARABEL"

    def solve(self, solver: str | None = None, **options):
        """Solve and return a :class:`StationResult`."""
        from gridv2g.solvers import run_station_solver

        name = solver or self.default_solver()
        run_station_solver(self, name, **options)
        return build_station_result(self, name)


# ---------------------------------------------------------------------------- baseline
def uncontrolled(data: StationData) -> dict[str, np.ndarray]:
    """Every EV charges at full power from arrival until its target or its departure.

    No V2G, no storage, no station limit (that is what makes it the baseline). Returns
    arrays ``c``, ``d``, ``e`` like the optimizer's, so results compare one to one.
    """
    ev = ev_arrays(data)
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
    ev = ev_arrays(data)
    base = uncontrolled(data)
    _, res_station, res_ev_summary, net = station_tables(data, ev, base["c"], base["d"], base["e"])
    return {
        "money": money(data, base["c"], base["d"], net),
        "res_station": res_station,
        "res_ev_summary": res_ev_summary,
        "net": net,
    }


# ---------------------------------------------------------------------------- results
@dataclass
class StationResult:
    """``res_ev`` (time, ev): p_charge_kw, p_discharge_kw, e_kwh (end of period), soc,
    plugged, port; ``res_station`` (time, station): p_kw (net import), p_import_kw,
    p_export_kw, p_charge_kw, p_discharge_kw, ess_p_kw, ess_e_kwh, occupied_ports;
    ``res_ev_summary`` (ev): e_departure_kwh, e_target_kwh, shortfall_kwh, charged_kwh,
    discharged_kwh; ``summary``: money and energy figures (module docstring), savings vs
    the uncontrolled baseline, solver, status, MIP gap, timings."""

    res_ev: pd.DataFrame
    res_station: pd.DataFrame
    res_ev_summary: pd.DataFrame
    summary: dict
    baseline: dict | None = None
    problem: object = field(default=None, repr=False)

    def to_dir(self, directory, fmt: str = "parquet"):
        """Write res_ev, res_station, res_ev_summary (Parquet or CSV), summary.json, a plot."""
        from gridv2g import plots
        from gridv2g.result import write_tables

        names = ("res_ev", "res_station", "res_ev_summary")
        directory = write_tables(directory, {n: getattr(self, n) for n in names}, self.summary, fmt)
        plots.station_figures(self, directory)
        return directory


def money(data: StationData, c, d, net) -> dict[str, float]:
    """Money figures of a schedule (arrays in kW): the same formulas as the objective."""
    h = data.horizon.hours
    idx = data.horizon.index
    p = {k: getattr(data.prices, k).reindex(idx).to_numpy(float) for k in ("buy", "sell")}
    q = {k: getattr(data.prices, k).reindex(idx).to_numpy(float) for k in ("tariff", "v2g_pay")}
    imp = np.maximum(net, 0.0).sum(axis=0)
    exp = np.maximum(-net, 0.0).sum(axis=0)
    energy_cost = float(h * imp @ p["buy"])
    v2g_revenue = float(h * exp @ p["sell"])
    degradation = float(data.degradation_per_kwh * h * d.sum())
    cost = energy_cost - v2g_revenue + degradation
    revenue = float(h * (c.sum(axis=0) @ q["tariff"] - d.sum(axis=0) @ q["v2g_pay"]))
    return {
        "energy_cost": energy_cost,
        "v2g_revenue": v2g_revenue,
        "degradation_cost": degradation,
        "cost": cost,
        "revenue": revenue,
        "profit": revenue - cost,
    }


def _long(values, times, names, level):
    index = pd.MultiIndex.from_product([times, list(names)], names=["time", level])
    return pd.Series(np.asarray(values).T.ravel(), index=index)


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
            "p_charge_kw": _long(c, times, names, "ev"),
            "p_discharge_kw": _long(d, times, names, "ev"),
            "e_kwh": _long(e[:, 1:], times, names, "ev"),
            "soc": _long(e[:, 1:] / s.capacity_kwh.to_numpy()[:, None], times, names, "ev"),
            "plugged": _long(plugged, times, names, "ev"),
            "port": _long(port, times, names, "ev"),
        }
    )
    res_station = pd.DataFrame(
        {
            "p_kw": _long(net, times, stations, "station"),
            "p_import_kw": _long(np.maximum(net, 0), times, stations, "station"),
            "p_export_kw": _long(np.maximum(-net, 0), times, stations, "station"),
            "p_charge_kw": _long(S @ c, times, stations, "station"),
            "p_discharge_kw": _long(S @ d, times, stations, "station"),
            "ess_p_kw": _long(ess_net, times, stations, "station"),
            "ess_e_kwh": _long(ess_e, times, stations, "station"),
            "occupied_ports": _long(S @ occupied, times, stations, "station"),
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


def solved_tables(data: StationData, ev: EVArrays, ess: ESSArrays | None, ports, block):
    """Tables of a solved station block: ``(c, d, res_ev, res_station, res_ev_summary, net)``
    with ``c``, ``d`` (EV x period, kW) cleaned of solver noise and ports numbered. Shared by
    the station-only problem and the grid co-optimization's fleet."""
    # clean solver noise below 1 W so that "no power outside windows" reads exactly
    c = np.where(ev.mask, np.maximum(block.c.value, 0.0), 0.0)
    d = np.where(ev.mask, np.maximum(block.d.value, 0.0), 0.0)
    storage = None
    if ess is not None:
        storage = {
            "station": ess.station,
            "c": block.ess_c.value,
            "d": block.ess_d.value,
            "e": block.ess_e.value,
        }
    port = assign_ports((c > 1e-6) | (d > 1e-6), ev.station, ports)
    tables = station_tables(data, ev, c, d, block.e.value, storage, port)
    return (c, d, *tables)


def build_station_result(sched: StationSchedule, solver: str) -> StationResult:
    data = sched.data
    c, d, res_ev, res_station, res_ev_summary, net = solved_tables(
        data, sched.ev, sched.ess, sched.ports, sched.block
    )
    base = baseline(data)
    base_money = base["money"]
    figures = money(data, c, d, net)
    h = data.horizon.hours
    summary = {
        "status": sched.problem.status,
        "solver": solver,
        "objective": float(sched.problem.value),
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
        "integer": sched.integer,
        "mip_gap": sched.timings.get("mip_gap"),
        **{k: v for k, v in sched.timings.items() if k.endswith("_s")},
    }
    return StationResult(
        res_ev=res_ev,
        res_station=res_station,
        res_ev_summary=res_ev_summary,
        summary=summary,
        baseline=base,
        problem=sched,
    )
