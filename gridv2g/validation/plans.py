"""The plans a run is compared with (``gridv2g run --compare``), for any result kind: what
can be compared, the table, its figures and notes that say what was not compared and why.

- grid result with an EV fleet, balanced SOCP: the joint plan, the station-first plan
  ("sequential") and uncontrolled charging, each on the same feeder
  (:func:`gridv2g.problems.fleet_grid.measure_plans`);
- grid result with an EV fleet on the unbalanced formulation: uncontrolled charging against
  the plan, both replayed in OpenDSS on the full feeder
  (:func:`gridv2g.validation.uncontrolled.compare_uncontrolled`);
- station result: the plan against its uncontrolled baseline (in the result already) and, for
  a rolling horizon, the perfect-foresight optimum; the station-first plan is the station
  plan itself (there is no feeder);
- anything else (a grid case without EVs, stochastic, V2A): nothing, with a note saying why.
"""

from __future__ import annotations

import pandas as pd

from gridv2g.errors import GridV2GError

#: columns of a station comparison (the station result's summary figures)
STATION_COLUMNS = ("cost", "peak_kw", "charged_kwh", "discharge_kwh", "shortfall_kwh")


def compare_result(result, solver: str | None = None) -> dict:
    """The comparison of ``result`` with the plans that can be compared to it:
    ``{"table": DataFrame (one row per plan) or None, "figures": {stem: Figure},
    "notes": [str], "units": {column: unit} where a column's name does not carry it}`` (the
    ``comparison`` argument of :func:`gridv2g.report.write_html`).
    ``solver``: for the plans solved here (default: the result's)."""
    solver = solver or getattr(result, "solver", None) or "CLARABEL"
    if hasattr(result, "res_ext_grid"):
        return _grid(result, solver)
    if hasattr(result, "baseline") and hasattr(result, "res_station"):
        return _station(result)
    kind = type(result).__name__
    why = {
        "StochasticResult": "a stochastic result compares its own decisions (RP, EEV, WS: "
        "see its measures); it has no uncontrolled or station-first plan",
        "V2AResult": "a V2A site schedule has no feeder and no uncontrolled baseline in "
        "gridv2g (its bill is compared with discharge off by running the case again)",
    }.get(kind, f"no plans to compare for a {kind}")
    return {"table": None, "figures": {}, "notes": [f"Nothing compared: {why}."]}


def _grid(result, solver: str) -> dict:
    from gridv2g.plots.common import case_name

    data = result.data if getattr(result, "data", None) is not None else result.problem.data
    if data.fleet is None:
        return {
            "table": None,
            "figures": {},
            "notes": [
                "Nothing compared: the case has no EV fleet, so there is no uncontrolled or "
                "station-first plan of its EVs to place on the feeder."
            ],
        }
    if result.summary.get("formulation") == "unbalanced":
        return _unbalanced(result, data)
    from gridv2g.plots.compare import plans_over_time, plans_summary
    from gridv2g.problems.fleet_grid import measure_plans

    compared = measure_plans(result, solver)
    name = case_name(result)
    currency = result.summary.get("currency") or "currency units"
    fleet = set(data.fleet.stations.stations.index)
    slots = data.stations.slots
    rating = float(slots.loc[slots.index.isin(fleet), "s_kva"].sum())
    limits = data.fleet.stations.p_import_max_kw
    limit = limits.sum(axis=1).max() if len(limits.columns) and limits.notna().all(None) else None
    figures = {
        "compare_plans": plans_over_time(
            compared.series, data.vmin_pu, rating, None if limit is None else float(limit), name
        ),
        "compare_plans_summary": plans_summary(compared.table, currency, name),
    }
    notes = [
        "Plans: joint = the run's own plan (fleet and feeder in one problem); sequential = "
        "station-first (the station-only optimum at the substation price, then placed on the "
        "feeder); uncontrolled = every EV at full power from arrival. The fixed plans are "
        "solved on the feeder with the voltage and ampacity limits lifted, so what they break "
        "is measured (vmin_pu), not refused.",
        *compared.notes,
    ]
    # the objective is money when every weighted term is (energy cost; the fleet's terms are)
    money = set(data.objective) <= {"energy_cost", "ev_degradation", "ev_shortfall"}
    units = {"objective": currency} if money else {}
    return {"table": compared.table, "figures": figures, "notes": notes, "units": units}


def _unbalanced(result, data) -> dict:
    """Uncontrolled vs the plan, both in OpenDSS; the station-first plan is not compared."""
    from gridv2g.plots.common import case_name
    from gridv2g.plots.compare import uncontrolled_on_feeder
    from gridv2g.problems.fleet_grid import converter_overloads, fleet_plan
    from gridv2g.validation.uncontrolled import compare_uncontrolled

    slots = data.stations.slots
    fleet = list(data.fleet.stations.stations.index)
    nodes = []
    for name in fleet:
        phases = str(slots.at[name, "phases"]) if "phases" in slots else ""
        first = next((int(c) for c in phases if c.isdigit()), None)
        if first is None:
            first = int(str(data.feeder.bus.at[str(slots.at[name, "bus"]), "nodes"])[0])
        nodes.append((str(slots.at[name, "bus"]), first))
    nodes = list(dict.fromkeys(nodes))[:3]  # a few station buses: one panel each
    notes = [
        "Unbalanced feeder: uncontrolled charging and the plan are both replayed in OpenDSS "
        "(compare_uncontrolled). The station-first (sequential) plan is not compared here: "
        "placing a fixed plan on the feeder uses the balanced SOCP (compare_plans), which on "
        "this feeder is not the model the plan was solved with."
    ]
    try:
        net, _ = fleet_plan(data, "uncontrolled")
        for name, o in converter_overloads(data, net).iterrows():
            notes.append(
                f"uncontrolled: peak {o.peak_kw:.4g} kW at {o.time:%Y-%m-%d %H:%M} exceeds "
                f"station {name}'s converter rating {o.s_kva:.4g} kVA ({o.periods_over} "
                "period(s) over); OpenDSS replays it at that power"
            )
        compared = compare_uncontrolled(result, nodes)
    except (GridV2GError, ValueError, KeyError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        notes.append(f"uncontrolled: not compared: {first_line}")
        return {"table": None, "figures": {}, "notes": notes}
    table = compared["summary"].T
    table.index.name = "plan"
    lo, hi = data.vmin_pu, data.vmax_pu
    figure = uncontrolled_on_feeder(compared, lo, hi, case_name(result))
    return {"table": table, "figures": {"compare_plans": figure}, "notes": notes}


def _station(result) -> dict:
    """The station plan, the uncontrolled baseline and (MPC) the perfect-foresight optimum."""
    s = result.summary
    plan = getattr(result, "plan", "optimized")
    rows = {plan: {k: s.get(k) for k in STATION_COLUMNS}}
    base = result.baseline or {}
    money = base.get("money", {})
    if base:
        net = base["net"].sum(axis=0)
        summary = base["res_ev_summary"]
        rows["uncontrolled"] = {
            "cost": money.get("cost"),
            "peak_kw": float(net.max()),
            "charged_kwh": float(summary.charged_kwh.sum()),
            "discharge_kwh": 0.0,
            "shortfall_kwh": float(summary.shortfall_kwh.sum()),
        }
    notes = [
        "Station case (no feeder): the station-first plan is the optimized station plan "
        "itself, and the uncontrolled baseline (every EV at full power from arrival, no "
        "station limit) is part of the result; both are drawn in station_power.png."
    ]
    if s.get("perfect_foresight_cost") is not None:
        pf = getattr(result, "res_station_perfect_foresight", None)
        peak = float(pf.p_kw.groupby("time").sum().max()) if pf is not None and len(pf) else None
        rows["perfect_foresight"] = {"cost": s["perfect_foresight_cost"], "peak_kw": peak}
        notes.append(
            "perfect_foresight: the station optimum with every EV known in advance (soft "
            "targets at the MPC's penalty), the bound the rolling horizon is measured against."
        )
    elif plan != "optimized":
        notes.append("perfect_foresight: not compared: the case's mpc.compare is off.")
    table = pd.DataFrame(rows).T
    table.index.name = "plan"
    return {"table": table, "figures": {}, "notes": notes}
