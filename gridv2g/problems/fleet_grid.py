"""What coordinating an EV fleet with its feeder is worth: the joint solve against two plans
that ignore the grid, each placed on the same feeder.

- ``uncontrolled``: every EV charges at full power from arrival (the station baseline of
  :func:`gridv2g.problems.station.uncontrolled`);
- ``sequential``: the station-only optimum at the substation price
  (:class:`~gridv2g.problems.station.StationSchedule`), blind to voltages and losses.

Each fixed plan is solved on the feeder (DER and reactive dispatch still optimized around it)
with the voltage and ampacity limits lifted, so a plan that breaks them is measured rather
than reported infeasible: its minimum voltage, losses and energy cost sit beside the joint
solution's. The SOCP with fixed station power is a power flow (tested against pandapower).
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from gridv2g.errors import GridV2GError
from gridv2g.problems.co_optimize import CoOptimization, GridData, fixed_fleet


def _on_grid(data: GridData, net_kw: pd.DataFrame, solver: str):
    lifted = dataclasses.replace(
        fixed_fleet(data, net_kw), vmin_pu=0.0, vmax_pu=2.0, bus_v_limits={}, ampacity=False
    )
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


def compare_plans(joint, solver: str = "CLARABEL") -> pd.DataFrame:
    """One row per plan (joint, sequential, uncontrolled): the grid objective with the fleet
    terms, energy cost at the substation, V2G degradation, losses, substation and fleet peaks,
    minimum voltage and where. ``joint``: a solved grid :class:`~gridv2g.result.Result` with
    a fleet. The fixed plans are solved with limits lifted (module docstring)."""
    data = joint.problem.data
    w_deg = joint.problem.weights.get("ev_degradation", 1.0)
    rows = {"joint": _row(joint, joint.summary["term_ev_degradation"], joint.summary["objective"])}
    for plan in ("sequential", "uncontrolled"):
        net, degradation = fleet_plan(data, plan, solver)
        res = _on_grid(data, net, solver)
        objective = res.summary["objective"] + w_deg * degradation
        rows[plan] = _row(res, degradation, objective, float(net.sum(axis=1).max()))
    return pd.DataFrame(rows).T


def _row(result, degradation: float, objective: float, fleet_peak: float | None = None) -> dict:
    s = result.summary
    return {
        "objective": objective,
        "energy_cost": s["term_energy_cost"],
        "ev_degradation": degradation,
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
