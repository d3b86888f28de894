"""The typed result of a solve: pandapower-style ``res_*`` tables on a time index, and a summary.

Tables are long, indexed by ``(time, element)`` so that ``res_bus.vm_pu.unstack()`` is a
(time x bus) frame. Sign conventions follow pandapower: ``res_bus.p_kw`` is the net demand at
the bus (load minus DER plus stations; negative = the bus exports), ``res_line.p_from_kw`` the
flow leaving the from-bus (toward the feeder end).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g.model.distflow import relaxation_gap, squared_current


@dataclass
class Result:
    """A solved case. Never holds a ``None`` value: a failed solve raises instead."""

    name: str
    status: str
    objective: float
    res_bus: pd.DataFrame
    res_line: pd.DataFrame
    res_ext_grid: pd.DataFrame
    res_der: pd.DataFrame
    res_station: pd.DataFrame
    summary: dict
    timings: dict
    problem: object = field(default=None, repr=False)  # the CoOptimization, for re-solves
    #: with an EV fleet: per EV and period (p_charge_kw, p_discharge_kw, e_kwh, soc, plugged,
    #: port), per EV (arrival/departure/target energy, shortfall, charged, discharged) and per
    #: fleet station and period (net import, charge, discharge, storage); empty otherwise
    res_ev: pd.DataFrame = field(default_factory=pd.DataFrame)
    res_ev_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    res_site: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dir(self, directory: str | Path, fmt: str = "parquet") -> Path:
        """Write every table (Parquet or CSV), ``summary.json`` and PNG plots."""
        from gridv2g import plots

        names = ["res_bus", "res_line", "res_ext_grid", "res_der", "res_station"]
        names += [n for n in ("res_ev", "res_ev_summary", "res_site") if len(getattr(self, n))]
        directory = write_tables(directory, {n: getattr(self, n) for n in names}, self.summary, fmt)
        plots.result_figures(self, directory)
        return directory


def write_tables(directory, tables: dict[str, pd.DataFrame], summary: dict, fmt: str) -> Path:
    """Write result tables (Parquet or CSV) and ``summary.json`` into ``directory``."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', got '{fmt}'")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if fmt == "parquet":
            df.to_parquet(directory / f"{name}.parquet")
        else:
            df.to_csv(directory / f"{name}.csv")
    text = json.dumps(_jsonable(summary), indent=2, default=str)
    (directory / "summary.json").write_text(text + "\n")
    return directory


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.generic):
            v = v.item()
        elif isinstance(v, pd.Timestamp):
            v = v.isoformat()
        elif isinstance(v, dict):
            v = _jsonable(v)
        out[k] = v
    return out


def _long(values: np.ndarray, times: pd.DatetimeIndex, names, level: str) -> pd.Series:
    """(element x time) array -> Series indexed by (time, element)."""
    index = pd.MultiIndex.from_product([times, list(names)], names=["time", level])
    return pd.Series(np.asarray(values).T.ravel(), index=index)


def build_result(co, solver: str) -> Result:
    """Map the solved per-unit values of a CoOptimization back to engineering tables."""
    net, data, T = co.net, co.data, co.T
    sb, hours = data.s_base_kva, co.hours
    times = data.horizon.index
    grid = co.grid
    P, Q, L, V = grid.P.value, grid.Q.value, grid.l.value, grid.v.value

    # ---- buses: every feeder bus, from its math bus; demand from the feeder bus's own parts
    feeder_buses = list(data.feeder.bus.index)
    midx = np.array([net.bus_map[b] for b in feeder_buses])
    vm = np.sqrt(np.maximum(V[midx, :], 0.0))
    p_kw, q_kvar = _bus_demand_kw(co, feeder_buses)
    res_bus = pd.DataFrame(
        {
            "vm_pu": _long(vm, times, feeder_buses, "bus"),
            "p_kw": _long(p_kw, times, feeder_buses, "bus"),
            "q_kvar": _long(q_kvar, times, feeder_buses, "bus"),
        }
    )

    # ---- branches
    i_base = net.i_base_ka(net.t)[:, None]
    i_pu = np.sqrt(squared_current(P, Q, L, V, net))
    i_ka = i_pu * i_base
    with np.errstate(divide="ignore", invalid="ignore"):
        loading = 100.0 * i_pu / net.i_max[:, None]
    gap = relaxation_gap(P, Q, L, V, net)
    names = net.branch_names
    res_line = pd.DataFrame(
        {
            "from_bus": _long(
                np.repeat(np.array(net.bus_names)[net.f][:, None], T, 1), times, names, "line"
            ),
            "to_bus": _long(
                np.repeat(np.array(net.bus_names)[net.t][:, None], T, 1), times, names, "line"
            ),
            "p_from_kw": _long(P * sb, times, names, "line"),
            "q_from_kvar": _long(Q * sb, times, names, "line"),
            "i_ka": _long(i_ka, times, names, "line"),
            "loss_kw": _long(net.r[:, None] * L * sb, times, names, "line"),
            "loading_percent": _long(
                np.where(np.isfinite(loading), loading, np.nan), times, names, "line"
            ),
            "relaxation_gap": _long(gap, times, names, "line"),
        }
    )
    res_ext_grid = pd.DataFrame(
        {"p_kw": grid.p_sub.value * sb, "q_kvar": grid.q_sub.value * sb},
        index=pd.Index(times, name="time"),
    )

    # ---- DER and stations
    res_der = pd.DataFrame(
        columns=["bus", "kind", "p_kw", "q_kvar", "p_available_kw", "curtailed_kw"],
        index=pd.MultiIndex.from_arrays([[], []], names=["time", "der"]),
    )
    if co.der is not None:
        units = data.der.units
        avail = co.der.params["availability"].value * units.s_kva.to_numpy(float)[:, None]
        p = co.der.p.value * sb
        res_der = pd.DataFrame(
            {
                "bus": _long(
                    np.repeat(units.bus.to_numpy()[:, None], T, 1), times, units.index, "der"
                ),
                "kind": _long(
                    np.repeat(units.kind.to_numpy()[:, None], T, 1), times, units.index, "der"
                ),
                "p_kw": _long(p, times, units.index, "der"),
                "q_kvar": _long(co.der.q.value * sb, times, units.index, "der"),
                "p_available_kw": _long(avail, times, units.index, "der"),
                "curtailed_kw": _long(np.maximum(avail - p, 0.0), times, units.index, "der"),
            }
        )
    res_station = pd.DataFrame(
        columns=["bus", "p_kw", "q_kvar"],
        index=pd.MultiIndex.from_arrays([[], []], names=["time", "station"]),
    )
    if co.stations is not None:
        slots = data.stations.slots
        res_station = pd.DataFrame(
            {
                "bus": _long(
                    np.repeat(slots.bus.to_numpy()[:, None], T, 1), times, slots.index, "station"
                ),
                "p_kw": _long(co.stations.p.value * sb, times, slots.index, "station"),
                "q_kvar": _long(co.stations.q.value * sb, times, slots.index, "station"),
            }
        )

    # ---- summary
    p_sub = res_ext_grid.p_kw
    vm_t = res_bus.vm_pu.unstack("bus").drop(columns=data.feeder.source_bus, errors="ignore")
    vmin_at = vm_t.stack().idxmin()
    vmax_at = vm_t.stack().idxmax()
    losses_kw = res_line.loss_kw.groupby("time").sum()
    summary = {
        "case": co.data.feeder.name,
        "status": co.problem.status,
        "objective": float(co.problem.value),
        "solver": solver,
        "periods": T,
        "minutes_per_period": data.horizon.minutes,
        "losses_kwh": float(losses_kw.sum() * hours),
        "substation_kwh": float(p_sub.sum() * hours),
        "peak_kw": float(p_sub.max()),
        "valley_kw": float(p_sub.min()),
        "peak_valley_kw": float(p_sub.max() - p_sub.min()),
        "voltage_deviation": float((vm_t - 1.0).abs().to_numpy().sum()),
        "vmin_pu": float(vm_t.stack().min()),
        "vmin_bus": str(vmin_at[1]),
        "vmin_time": vmin_at[0],
        "vmax_pu": float(vm_t.stack().max()),
        "vmax_bus": str(vmax_at[1]),
        "vmax_time": vmax_at[0],
        "max_relaxation_gap": float(np.max(gap)) if gap.size else 0.0,
        "der_kwh": float(res_der.p_kw.sum() * hours) if len(res_der) else 0.0,
        "curtailed_kwh": float(res_der.curtailed_kw.sum() * hours) if len(res_der) else 0.0,
        **{f"{k}": float(v) for k, v in co.timings.items()},
    }
    fleet_tables = {}
    if co.fleet is not None:
        fleet_tables = _fleet_tables(co)
        ev_sum = fleet_tables["res_ev_summary"]
        summary.update(
            evs=len(ev_sum),
            ev_charged_kwh=float(ev_sum.charged_kwh.sum()),
            ev_discharged_kwh=float(ev_sum.discharged_kwh.sum()),
            ev_shortfall_kwh=float(ev_sum.shortfall_kwh.sum()),
            fleet_peak_kw=float(fleet_tables["res_site"].p_kw.groupby("time").sum().max()),
        )
    for term, expr in co.terms.items():
        value = expr.value
        summary[f"term_{term}"] = (
            float(value) if value is not None and not math.isnan(float(value)) else 0.0
        )
    return Result(
        name=data.feeder.name,
        status=co.problem.status,
        objective=float(co.problem.value),
        res_bus=res_bus,
        res_line=res_line,
        res_ext_grid=res_ext_grid,
        res_der=res_der,
        res_station=res_station,
        summary=summary,
        timings=dict(co.timings),
        problem=co,
        **fleet_tables,
    )


def _fleet_tables(co) -> dict[str, pd.DataFrame]:
    """res_ev, res_ev_summary, res_site of the fleet, as the station-only problem writes them."""
    from gridv2g.problems.station import solved_tables

    f = co.fleet
    _, _, res_ev, res_site, res_ev_summary, _ = solved_tables(
        co.data.fleet, f.ev, f.ess, f.ports, f.block
    )
    return {"res_ev": res_ev, "res_ev_summary": res_ev_summary, "res_site": res_site}


def _bus_demand_kw(co, feeder_buses: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Net demand [kW, kvar] per feeder bus and period: profiled load - DER + stations."""
    data, sb = co.data, co.data.s_base_kva
    load = co.balanced.load
    pos = {b: i for i, b in enumerate(feeder_buses)}
    n = len(feeder_buses)
    # (feeder bus x profile) nominal loads, the same profiles the problem used
    columns = co.load_columns
    col_of = {c: k for k, c in enumerate(columns)}
    rest = col_of.get("1", 0)
    rows = np.array([pos[b] for b in load.index], dtype=int)
    cols = np.array([col_of.get(b, col_of.get("*", rest)) for b in load.index], dtype=int)
    m_p = np.zeros((n, len(columns)))
    m_q = np.zeros((n, len(columns)))
    np.add.at(m_p, (rows, cols), load.p_kw.to_numpy())
    np.add.at(m_q, (rows, cols), load.q_kvar.to_numpy())
    profile = co.load_profile.value
    p = m_p @ profile
    q = m_q @ profile
    if co.der is not None:
        idx = np.array([pos[b] for b in data.der.units.bus])
        np.add.at(p, idx, -co.der.p.value * sb)
        np.add.at(q, idx, -co.der.q.value * sb)
    if co.stations is not None:
        idx = np.array([pos[b] for b in data.stations.slots.bus])
        np.add.at(p, idx, co.stations.p.value * sb)
        np.add.at(q, idx, co.stations.q.value * sb)
    return p, q
