"""What coordinating an EV fleet with its feeder is worth: the joint solve against two plans
that ignore the grid, each placed on the same feeder.

- ``uncontrolled``: every EV charges at full power from arrival (the station baseline of
  :func:`gridv2g.problems.station.uncontrolled`);
- ``sequential``: the station-only optimum at the substation price
  (:class:`~gridv2g.problems.station.StationSchedule`), blind to voltages and losses.

Each fixed plan is solved on the feeder (DER and reactive dispatch still optimized around it)
with the voltage and ampacity limits lifted, so a plan that breaks them is measured rather
than reported infeasible: its minimum voltage, losses and energy cost sit beside the joint
solution's. A plan above a fleet converter's rating (the uncontrolled one, whose peak is the
sum of its EVs' ratings) is measured with that rating raised to its peak, and the comparison
notes name the station, the peak, its time and the rating (:func:`measure_plans`). The SOCP
with fixed station power is a power flow (tested against pandapower).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pandas as pd

from gridv2g.errors import GridV2GError
from gridv2g.inputs import fleet_slots
from gridv2g.problems.co_optimize import CoOptimization, GridData, fixed_fleet


def converter_overloads(data: GridData, net_kw: pd.DataFrame) -> pd.DataFrame:
    """The fleet slots whose plan ``net_kw`` (time x station, kW) exceeds their converter
    rating: one row per such slot with ``peak_kw`` (largest |net import|), ``time`` (its
    period), ``s_kva`` (the rating) and ``periods_over`` (how many periods exceed it)."""
    slots = data.stations.slots
    rows = []
    for name in fleet_slots(data.stations):
        p = net_kw[name].reindex(data.horizon.index).astype(float)
        rating = float(slots.at[name, "s_kva"])
        over = p.abs() > rating * (1.0 + 1e-9)
        if over.any():
            rows.append(
                {
                    "station": name,
                    "peak_kw": float(p.abs().max()),
                    "time": p.abs().idxmax(),
                    "s_kva": rating,
                    "periods_over": int(over.sum()),
                }
            )
    columns = ["peak_kw", "time", "s_kva", "periods_over"]
    return pd.DataFrame(rows, columns=["station", *columns]).set_index("station")


def site_limit_excess(data: GridData, net_kw: pd.DataFrame) -> pd.DataFrame:
    """The fleet sites whose plan ``net_kw`` (time x station, kW) imports more than the site's
    import limit (the uncontrolled baseline ignores it by definition): ``peak_kw``,
    ``time``, ``limit_kw`` (the limit in that period) and ``periods_over``."""
    spec = data.fleet.stations
    idx = data.horizon.index
    rows = []
    for name in spec.stations.index:
        if name not in net_kw or name not in spec.p_import_max_kw:
            continue
        p = net_kw[name].reindex(idx).astype(float)
        limit = spec.p_import_max_kw[name].reindex(idx).astype(float)
        over = (p > limit * (1.0 + 1e-9)) & limit.notna()
        if over.any():
            t = (p - limit).where(over).idxmax()
            rows.append(
                {
                    "station": name,
                    "peak_kw": float(p[t]),
                    "time": t,
                    "limit_kw": float(limit[t]),
                    "periods_over": int(over.sum()),
                }
            )
    columns = ["peak_kw", "time", "limit_kw", "periods_over"]
    return pd.DataFrame(rows, columns=["station", *columns]).set_index("station")


def _on_grid(data: GridData, net_kw: pd.DataFrame, solver: str):
    """The fixed fleet plan ``net_kw`` solved on the feeder with the voltage and ampacity
    limits lifted, and each fleet converter's rating raised to the plan's peak where the plan
    exceeds it (:func:`converter_overloads` names those), so the plan is measured, not
    refused."""
    fixed = fixed_fleet(data, net_kw)
    over = converter_overloads(data, net_kw)
    if len(over):
        slots = fixed.stations.slots.copy()
        # a hair above the peak: at exactly the peak the cone is degenerate at that period
        # (q forced to 0 on its boundary) and Clarabel reports an inaccurate solution
        slots.loc[over.index, "s_kva"] = over.peak_kw.to_numpy() * (1.0 + 1e-3)
        fixed = dataclasses.replace(
            fixed, stations=dataclasses.replace(fixed.stations, slots=slots)
        )
    lifted = dataclasses.replace(fixed, vmin_pu=0.0, vmax_pu=2.0, bus_v_limits={}, ampacity=False)
    return CoOptimization(lifted, dpp=False).solve(solver)


def fleet_plan(data: GridData, plan: str, solver: str = "CLARABEL"):
    """The fleet's net import under ``plan`` ("uncontrolled" or "sequential"): a (time x
    station) DataFrame [kW] and the plan's V2G degradation cost [money]."""
    from gridv2g.problems.station import StationSchedule, baseline

    fleet = data.fleet
    if fleet is None:
        raise GridV2GError("the case has no fleet")
    stations = list(fleet.stations.stations.index)
    if plan == "uncontrolled":  # no V2G: no degradation
        net = baseline(fleet)["net"]
        return pd.DataFrame(net.T, index=data.horizon.index, columns=stations), 0.0
    if plan == "sequential":
        price = data.price_per_kwh
        priced = dataclasses.replace(
            fleet, prices=dataclasses.replace(fleet.prices, buy=price, sell=price)
        )
        res = StationSchedule(priced).solve(solver)
        net = res.res_station.p_kw.unstack("station").reindex(data.horizon.index)[stations]
        return net, float(res.summary["degradation_cost"])
    raise GridV2GError(f"plan must be 'uncontrolled' or 'sequential', got '{plan}'")


@dataclass
class PlanComparison:
    """The plans compared on one feeder (:func:`measure_plans`).

    ``table``: one row per plan compared (:func:`compare_plans`' columns); ``series``: {plan:
    (time) DataFrame of ``substation_kw``, ``vmin_pu`` (lowest bus voltage) and ``fleet_kw``
    (the fleet's net import)}; ``notes``: why a plan is not compared, and what a plan breaks
    that the table alone does not say (a converter rating, a site import limit), each naming
    the station, the peak, its time and the limit; ``fleet_kw``: {plan: (time x station)
    fleet net import [kW]}."""

    table: pd.DataFrame
    series: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    fleet_kw: dict = field(default_factory=dict)


def _series(result, fleet_kw: pd.Series) -> pd.DataFrame:
    vm = result.res_bus.vm_pu.unstack("bus")
    return pd.DataFrame(
        {
            "substation_kw": result.res_ext_grid.p_kw.to_numpy(float),
            "vmin_pu": vm.min(axis=1).to_numpy(float),
            "fleet_kw": fleet_kw.reindex(vm.index).to_numpy(float),
        },
        index=vm.index,
    )


def measure_plans(
    joint, solver: str = "CLARABEL", plans=("sequential", "uncontrolled")
) -> PlanComparison:
    """The joint plan against ``plans`` ("sequential": station-first, "uncontrolled"), each
    fixed on the same feeder with limits lifted (module docstring).

    A plan that cannot be compared (its station schedule is infeasible, the feeder cannot
    carry it even with limits lifted) is left out of the table with a note naming the cause.
    A plan above a fleet converter's rating is measured with that rating raised to the plan's
    peak, and a note says so: "uncontrolled: peak 290 kW at 2024-06-21 19:30 exceeds station
    lot18's converter rating 260 kVA (3 periods)". This measures what the planner needs (what
    the plan does to the feeder, and by how much the converter is too small) rather than
    stopping at the overload; the overload is in the table too (``converter_overload_kw``)."""
    data = joint.problem.data
    if data.fleet is None:
        raise GridV2GError("the case has no fleet: there are no plans to compare")
    w_deg = joint.problem.weights.get("ev_degradation", 1.0)
    fleet_names = list(data.fleet.stations.stations.index)
    joint_fleet = joint.res_station.p_kw.unstack("station").reindex(data.horizon.index)
    joint_fleet = joint_fleet[[n for n in fleet_names if n in joint_fleet]]
    rows = {"joint": _row(joint, joint.summary["term_ev_degradation"], joint.summary["objective"])}
    rows["joint"]["converter_overload_kw"] = 0.0
    out = PlanComparison(table=pd.DataFrame(), notes=[])
    out.series["joint"] = _series(joint, joint_fleet.sum(axis=1))
    out.fleet_kw["joint"] = joint_fleet
    for plan in plans:
        try:
            net, degradation = fleet_plan(data, plan, solver)
        except GridV2GError as err:
            out.notes.append(f"{plan}: not compared: its station schedule failed: {_first(err)}")
            continue
        over = converter_overloads(data, net)
        for name, o in over.iterrows():
            out.notes.append(
                f"{plan}: peak {o.peak_kw:.4g} kW at {_when(o.time)} exceeds station {name}'s "
                f"converter rating {o.s_kva:.4g} kVA ({o.periods_over} period(s) over); "
                "measured with that rating raised to the peak"
            )
        for name, o in site_limit_excess(data, net).iterrows():
            out.notes.append(
                f"{plan}: station {name} imports {o.peak_kw:.4g} kW at {_when(o.time)}, above "
                f"its import limit {o.limit_kw:.4g} kW ({o.periods_over} period(s) over)"
            )
        try:
            res = _on_grid(data, net, solver)
        except GridV2GError as err:
            out.notes.append(
                f"{plan}: not compared: the feeder cannot carry it even with the voltage, "
                f"ampacity and converter limits lifted: {_first(err)}"
            )
            continue
        objective = res.summary["objective"] + w_deg * degradation
        rows[plan] = _row(res, degradation, objective, float(net.sum(axis=1).max()))
        excess = (over.peak_kw - over.s_kva).max() if len(over) else 0.0
        rows[plan]["converter_overload_kw"] = float(excess)
        out.series[plan] = _series(res, net.sum(axis=1))
        out.fleet_kw[plan] = net
    out.table = pd.DataFrame(rows).T
    out.table.index.name = "plan"
    return out


def _first(err: Exception) -> str:
    """An error's first line (typed errors carry tables below it)."""
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _when(t) -> str:
    return pd.Timestamp(t).strftime("%Y-%m-%d %H:%M")


def compare_plans(joint, solver: str = "CLARABEL") -> pd.DataFrame:
    """One row per plan (joint, sequential, uncontrolled): the grid objective with the fleet
    terms, energy cost at the substation, V2G degradation cost, losses, substation and fleet
    peaks, minimum voltage and where, and by how much the plan exceeds a fleet converter's
    rating [kW]. ``joint``: a solved grid :class:`~gridv2g.result.Result` with a fleet. The
    fixed plans are solved with limits lifted (module docstring); a plan that cannot be
    compared is left out, and ``table.attrs["notes"]`` says why
    (:func:`measure_plans` has the notes, time series and plans)."""
    compared = measure_plans(joint, solver)
    table = compared.table
    table.attrs["notes"] = list(compared.notes)
    return table


def _row(result, degradation: float, objective: float, fleet_peak: float | None = None) -> dict:
    s = result.summary
    return {
        "objective": objective,
        "energy_cost": s["term_energy_cost"],
        "degradation_cost": degradation,
        "losses_kwh": s["losses_kwh"],
        "peak_kw": s["peak_kw"],
        "fleet_peak_kw": s.get("fleet_peak_kw", fleet_peak),
        "vmin_pu": s["vmin_pu"],
        "vmin_bus": s["vmin_bus"],
        "vmin_time": s["vmin_time"],
    }


#: Cao et al. (2024)'s reported changes [%]: scenario 2 against 1, and 3 against 2 (seed 003)
CAO2024_PUBLISHED = {
    ("active_only", "base_load", "peak_valley_kw"): -40.60,
    ("active_only", "base_load", "losses_kwh"): -85.19,
    ("active_only", "base_load", "voltage_deviation"): -70.74,
    ("coordinated", "active_only", "losses_kwh"): -57.00,
    ("coordinated", "active_only", "voltage_deviation"): -6.86,
}


def cao_scenarios(data: GridData, solver: str = "CLARABEL") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cao et al. (2024)'s three scenarios on a grid case with a fleet and DER:

    - ``base_load``: the feeder's base load only (no EVs, no DER);
    - ``active_only``: EVs and DER, only active power optimized (no reactive dispatch);
    - ``coordinated``: EVs and DER with P and Q of stations and inverters optimized.

    Returns (``scenarios``: peak-valley difference [kW], daily losses [kWh], voltage deviation
    sum |V - 1| [pu] per scenario; ``changes``: the paper's pairwise changes [%], ours beside
    the published ones).
    """
    base = dataclasses.replace(data, der=None, stations=None, fleet=None)
    off = {k: False for k in ("pv", "wind", "station")}
    runs = {
        "base_load": base,
        "active_only": dataclasses.replace(data, reactive=off),
        "coordinated": dataclasses.replace(data, reactive={k: True for k in off}),
    }
    keys = ["peak_valley_kw", "losses_kwh", "voltage_deviation", "vmin_pu"]
    table = pd.DataFrame(
        {
            name: {k: CoOptimization(d, dpp=False).solve(solver).summary[k] for k in keys}
            for name, d in runs.items()
        }
    ).T
    changes = pd.DataFrame(
        [
            {
                "scenario": new,
                "against": old,
                "metric": metric,
                "gridv2g_percent": 100.0 * (table.at[new, metric] / table.at[old, metric] - 1.0),
                "published_percent": published,
            }
            for (new, old, metric), published in CAO2024_PUBLISHED.items()
        ]
    )
    return table, changes
