"""An EV fleet inside the grid co-optimization: one SOCP for EV schedules and feeder flows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from test_station import check_invariants

import gridv2g as g
from gridv2g.case import CaseError, grid_data
from gridv2g.errors import GridV2GError
from gridv2g.problems.co_optimize import CoOptimization, fixed_fleet
from gridv2g.problems.fleet_grid import compare_plans, fleet_plan

CASE = Path(__file__).resolve().parent.parent / "cases" / "ieee33_ev.yaml"


@pytest.fixture(scope="module")
def joint():
    return g.solve(g.load_case(CASE))


def test_ev_physics_and_ac_replay(joint):
    fleet = joint.problem.data.fleet
    assert len(joint.res_ev_summary) == 30
    check_invariants(joint, fleet, hard=True)  # res_station holds the fleet sites' rows
    assert joint.summary["ev_charged_kwh"] > 300  # the lot really charges
    assert joint.summary["ev_discharged_kwh"] > 0  # and uses V2G
    report = g.validate(joint)
    assert report.ok, report.flagged
    assert report.summary["max_dv_pu"] < 1e-6


def test_slot_power_is_the_fleet_net_import(joint):
    slot = joint.res_station.p_kw.xs("lot18", level="station")
    site = joint.res_site.p_kw.xs("lot18", level="station")
    ev = joint.res_ev
    by_evs = (ev.p_charge_kw - ev.p_discharge_kw).groupby("time").sum()
    assert np.abs(slot - site).max() < 1e-6
    assert np.abs(site - by_evs).max() < 1e-6  # no storage at this site
    # the slot's converter rating holds: p^2 + q^2 <= s^2
    q = joint.res_station.q_kvar.xs("lot18", level="station")
    assert ((slot**2 + q**2) <= 300.0**2 * (1 + 1e-6)).all()


def test_joint_is_never_worse_than_planning_the_fleet_first(joint):
    """The station-only optimum placed on the feeder is a feasible point of the joint problem
    (its voltages stay within limits here), so the joint objective cannot be higher; the
    uncontrolled plan costs more and drags the voltage at the lot's bus down."""
    table = compare_plans(joint)
    assert table.loc["joint", "objective"] <= table.loc["sequential", "objective"] + 1e-6
    assert table.loc["joint", "objective"] < table.loc["uncontrolled", "objective"]
    assert table.loc["uncontrolled", "vmin_pu"] < table.loc["joint", "vmin_pu"]
    assert table.loc["uncontrolled", "vmin_bus"] == "18"


def test_a_grid_limit_reshapes_the_ev_schedule():
    """Bus 18 held at 0.96 pu: the price-only station schedule breaks it in AC power flow
    (pandapower), the joint schedule keeps it, and every EV still reaches its target."""
    data = grid_data(g.load_case(CASE))
    data = dataclasses.replace(data, bus_v_limits={"18": (0.96, 1.05)})
    joint = CoOptimization(data, dpp=False).solve()
    v18 = g.validate(joint).res_bus_ac.vm_pu.xs("18", level="bus")
    assert v18.min() >= 0.96 - 1e-6
    assert joint.summary["ev_shortfall_kwh"] < 1e-6
    net, _ = fleet_plan(data, "sequential")
    lifted = dataclasses.replace(fixed_fleet(data, net), bus_v_limits={}, vmin_pu=0.0)
    sequential = CoOptimization(lifted, dpp=False).solve()
    v18_seq = g.validate(sequential).res_bus_ac.vm_pu.xs("18", level="bus")
    assert v18_seq.min() < 0.96 - 1e-3


def test_fleet_problem_is_dpp_and_re_solves_with_new_prices():
    data = grid_data(g.load_case(CASE))
    co = CoOptimization(data, dpp=True)
    assert co.problem.is_dpp()
    first = co.solve()
    new_price = data.price_per_kwh * 0.0 + data.price_per_kwh.mean()  # flat price
    co.update(price_per_kwh=new_price)
    again = co.solve()
    fresh = CoOptimization(dataclasses.replace(data, price_per_kwh=new_price), dpp=False).solve()
    assert again.objective == pytest.approx(fresh.objective, rel=1e-6)
    assert again.objective != pytest.approx(first.objective, rel=1e-3)


def test_ports_need_a_mixed_integer_conic_solver(tmp_path):
    text = CASE.read_text().replace("    - name: lot18\n", "    - name: lot18\n      ports: 10\n")
    path = tmp_path / "ports.yaml"
    path.write_text(text)
    case = g.load_case(path)
    with pytest.raises(GridV2GError, match="mixed-integer SOCP"):
        g.solve(case)


def test_fleet_sites_and_slots_must_match(tmp_path):
    text = CASE.read_text().replace("fleet: true}", "p_min_kw: 0, p_max_kw: 300}")
    path = tmp_path / "unmatched.yaml"
    path.write_text(text)
    with pytest.raises(CaseError, match="sites without a slot \\['lot18'\\]"):
        grid_data(g.load_case(path))


def test_a_fleet_slot_takes_no_profile(tmp_path):
    text = CASE.read_text().replace("fleet: true}", "fleet: true, p_max_kw: 300}")
    path = tmp_path / "both.yaml"
    path.write_text(text)
    with pytest.raises(CaseError, match="fleet slot"):
        g.load_case(path)


def test_site_storage_is_part_of_the_slot_power(tmp_path):
    text = CASE.read_text().replace(
        "      p_export_max_kw: {constant: 250}\n",
        "      p_export_max_kw: {constant: 250}\n"
        "      ess: {e_kwh: 200, p_kw: 100, end_rule: cyclic}\n",
    )
    path = tmp_path / "ess.yaml"
    path.write_text(text)
    result = g.solve(g.load_case(path))
    site = result.res_site.xs("lot18", level="station")
    slot = result.res_station.p_kw.xs("lot18", level="station")
    assert np.abs(slot - site.p_kw).max() < 1e-6
    assert np.abs(site.p_kw - (site.p_charge_kw - site.p_discharge_kw + site.ess_p_kw)).max() < 1e-6
    assert site.ess_p_kw.abs().max() > 1.0  # the storage is used
    assert site.ess_e_kwh.min() >= 0.1 * 200 - 1e-6 and site.ess_e_kwh.max() <= 0.9 * 200 + 1e-6
    assert g.validate(result).ok


def test_fleet_terms_default_to_weight_one(tmp_path):
    """Soft targets under a losses objective: the shortfall penalty (weight 1 by default) makes
    the EVs charge; weighting it 0 leaves them empty, since charging only adds losses."""
    base = CASE.read_text().replace("{target: hard, v2g: true}", "{target: soft, v2g: false}")
    base = base.replace("objective: {energy_cost: 1.0}", "objective: {losses: 1.0}")
    charged = {}
    for label, extra in (("default", ""), ("zero", ", ev_shortfall: 0")):
        path = tmp_path / f"{label}.yaml"
        path.write_text(base.replace("objective: {losses: 1.0", "objective: {losses: 1.0" + extra))
        result = g.solve(g.load_case(path))
        charged[label] = result.summary["ev_charged_kwh"]
        need = (result.res_ev_summary.e_target_kwh - result.res_ev_summary.e_arrival_kwh).sum()
    assert charged["default"] > 0.99 * need
    assert charged["zero"] < 1e-3


def test_infeasible_fleet_is_diagnosed_by_ev(tmp_path):
    """A 20 kW site for 30 EVs with hard targets: the diagnosis names EVs, not the feeder."""
    from gridv2g.errors import InfeasibleError

    text = CASE.read_text().replace(
        "p_import_max_kw: {constant: 250}", "p_import_max_kw: {constant: 20}"
    )
    path = tmp_path / "small_site.yaml"
    path.write_text(text)
    with pytest.raises(InfeasibleError, match=r"EV ev001 at lot18 short by [\d.]+ kWh"):
        g.solve(g.load_case(path))
    text = CASE.read_text().replace("s_kva: 300, fleet: true", "s_kva: 20, fleet: true")
    path.write_text(text)
    with pytest.raises(InfeasibleError, match="converter ratings"):
        g.solve(g.load_case(path))


def test_cao2024_scenarios_move_the_way_the_paper_reports():
    """Seed 003's three scenarios: every change the paper reports has its sign here (the
    magnitudes depend on profiles and sizes the press summary does not give: README)."""
    from gridv2g.problems.fleet_grid import cao_scenarios

    data = grid_data(g.load_case(CASE.parent / "ieee33_cao2024.yaml"))
    table, changes = cao_scenarios(data)
    assert len(changes) == 5
    assert (np.sign(changes.gridv2g_percent) == np.sign(changes.published_percent)).all()
    # coordinated EVs and inverters bring losses below the bare feeder's
    assert table.at["base_load", "losses_kwh"] > table.at["coordinated", "losses_kwh"]
