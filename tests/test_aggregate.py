"""Scale mode (issue 11): flexibility groups + per-EV disaggregation against the per-EV model,
vertex solutions, a profile that cannot be disaggregated, refusals; the site-limit rewrite."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from gridv2g.bench import fleet_grid_case, station_case
from gridv2g.errors import AggregationError, GridV2GError
from gridv2g.model.aggregate import ev_violations, flexibility_groups
from gridv2g.model.station import EVArrays
from gridv2g.problems.co_optimize import CoOptimization
from gridv2g.problems.disaggregate import disaggregate
from gridv2g.problems.station import StationSchedule


def schedules(result, data):
    s = data.sessions.index
    c = result.res_ev.p_charge_kw.unstack("ev")[s].to_numpy().T
    d = result.res_ev.p_discharge_kw.unstack("ev")[s].to_numpy().T
    return c, d


def check_every_ev(sched_or_co, result, data, soft=False):
    """Every EV's own limits and target, recomputed from its schedule in res_ev."""
    (
        c,
        d,
    ) = schedules(result, data)
    ev = sched_or_co.ev if hasattr(sched_or_co, "ev") else sched_or_co.fleet.ev
    short = result.res_ev_summary.shortfall_kwh.to_numpy() if soft else None
    bad = ev_violations(ev, c, d, data.horizon.hours, short)
    assert bad.empty, bad.head()


@pytest.mark.parametrize("solver", ["CLARABEL", "HIGHS", "HIGHS-simplex"])
def test_station_aggregate_matches_per_ev_model(solver):
    # Clarabel and HiGHS's interior point (the scale mode's HiGHS default) end inside the
    # optimal face and every group disaggregates at once. HiGHS's simplex returns a vertex:
    # group profiles that the group model allows but the members cannot share; the failed
    # groups are found and solved again as single EVs. The answer is the per-EV optimum either
    # way, with every EV inside its own limits.
    data = station_case(60, seed=3)
    full = StationSchedule(data).solve("HIGHS")
    sched = StationSchedule(dataclasses.replace(data, aggregate=True))
    options = {"highs_options": {"solver": "simplex"}} if solver == "HIGHS-simplex" else {}
    agg = sched.solve(solver.split("-")[0], **options)
    first = sched.groups.count
    if solver == "HIGHS-simplex":
        assert agg.summary["aggregation_rounds"] > 1
        # the repaired groups are single EVs: more groups than the first round's
        assert sched.groups.count > len(np.unique(flexibility_groups(sched.ev).label))
    else:
        assert first < 50 and agg.summary["aggregation_rounds"] == 1
    assert agg.summary["cost"] == pytest.approx(full.summary["cost"], rel=1e-6)
    assert agg.summary["objective"] == pytest.approx(full.summary["objective"], rel=1e-6)
    check_every_ev(sched, agg, data)
    # the schedules reproduce the group profiles of the last round
    C = np.zeros_like(sched.block.c.value)
    np.add.at(C, sched.groups.label, schedules(agg, data)[0])
    assert np.abs(C - sched.block.c.value).max() < 1e-5


def test_soft_targets_aggregate():
    data = station_case(40, seed=5)
    # a site limit too tight for every target: shortfalls, penalized
    limit = data.stations.p_import_max_kw * 0.12
    spec = dataclasses.replace(data.stations, p_import_max_kw=limit)
    data = dataclasses.replace(data, stations=spec, soft_target=True, shortfall_penalty_per_kwh=2.0)
    full = StationSchedule(data).solve()
    assert full.summary["shortfall_kwh"] > 1.0
    sched = StationSchedule(dataclasses.replace(data, aggregate=True))
    agg = sched.solve()
    assert agg.summary["objective"] == pytest.approx(full.summary["objective"], rel=1e-6)
    check_every_ev(sched, agg, data, soft=True)
    assert agg.summary["shortfall_kwh"] <= full.summary["shortfall_kwh"] + 1e-4


def two_evs(e_arrival, p_kw=10.0):
    """Two EVs on one two-period window, capacity 10 kWh, hours 1, eta 1, no V2G."""
    n, T = len(e_arrival), 2
    return EVArrays(
        station=np.zeros(n, dtype=int),
        charger=np.full(n, -1),
        e_arrival_kwh=np.asarray(e_arrival, dtype=float),
        e_target_kwh=np.asarray(e_arrival, dtype=float),
        e_min_kwh=np.zeros(n),
        e_max_kwh=np.full(n, 10.0),
        p_charge_max_kw=np.full(n, p_kw),
        p_discharge_max_kw=np.zeros(n),
        eta_charge=np.ones(n),
        eta_discharge=np.ones(n),
        departure_index=np.full(n, T),
        mask=np.ones((n, T), dtype=bool),
    )


def test_non_disaggregable_profile_is_detected():
    # one EV full, one empty: the group (20 kW, 10 of 20 kWh) may take 20 kW in period 0,
    # which only the empty EV could absorb at 10 kW
    ev = two_evs([10.0, 0.0])
    groups = flexibility_groups(ev)
    assert groups.count == 1
    bad = disaggregate(ev, groups, np.array([[20.0, 0.0]]), np.zeros((1, 2)), 1.0)
    assert bad.failed == [0]
    assert not bad.c.any()  # no schedule for a failed group
    good = disaggregate(ev, groups, np.array([[10.0, 0.0]]), np.zeros((1, 2)), 1.0)
    assert good.failed == []
    np.testing.assert_allclose(good.c, [[0.0, 0.0], [10.0, 0.0]], atol=1e-9)


def test_checker_finds_each_breach():
    ev = two_evs([2.0, 0.0], p_kw=5.0)
    ev.e_target_kwh[:] = [4.0, 1.0]
    c = np.array([[2.0, 0.0], [6.0, 0.0]])  # EV 1 above its 5 kW rating
    d = np.zeros((2, 2))
    bad = ev_violations(ev, c, d, 1.0)
    assert set(bad.check) == {"p_charge_above_rating"}
    c[0, :] = [0.0, 1.0]  # EV 0 ends at 3 kWh, 1 short of its target
    bad = ev_violations(ev, c, d, 1.0)
    row = bad[bad.check == "e_below_target"]
    assert list(row.ev) == [0] and row.excess.iloc[0] == pytest.approx(1.0)


def test_refuses_coupled_fleets():
    data = dataclasses.replace(station_case(10), aggregate=True)
    with pytest.raises(AggregationError, match="exclusiveness"):
        StationSchedule(dataclasses.replace(data, exclusive=True))
    ports = dataclasses.replace(
        data.stations, stations=pd.DataFrame({"ports": [3.0]}, index=data.stations.stations.index)
    )
    with pytest.raises(AggregationError, match="ports"):
        StationSchedule(dataclasses.replace(data, stations=ports))
    sessions = data.sessions.copy()
    sessions["charger"] = ["c1"] * 2 + [""] * 8
    chargers = pd.DataFrame({"station": ["lot"], "p_max_kw": [11.0]}, index=["c1"])
    spec = dataclasses.replace(data.stations, chargers=chargers)
    with pytest.raises(AggregationError, match="share a charger"):
        StationSchedule(dataclasses.replace(data, sessions=sessions, stations=spec))


def test_grid_aggregate_matches_per_ev_model():
    data = fleet_grid_case("ieee33", 80)
    full = CoOptimization(data, dpp=False)
    rf = full.solve()
    co = CoOptimization(fleet_grid_case("ieee33", 80, aggregate=True), dpp=False)
    ra = co.solve()
    assert co.problem.value == pytest.approx(full.problem.value, rel=1e-6)
    assert ra.summary["ev_charged_kwh"] == pytest.approx(rf.summary["ev_charged_kwh"], rel=1e-5)
    check_every_ev(co, ra, data.fleet)


def test_site_limit_forms_agree():
    data = station_case(40, seed=2)
    data.stations.p_import_max_kw.iloc[:] = 150.0  # binding
    split = StationSchedule(data)
    assert split.limits_on == "split"
    a = split.solve()
    b = StationSchedule(data, limits_on="net").solve()
    assert a.summary["objective"] == pytest.approx(b.summary["objective"], rel=1e-6)
    assert a.res_station.p_import_kw.max() == pytest.approx(150.0, abs=1e-3)
    # a sell price above the buy price: the split form is not exact and says so
    with pytest.raises(GridV2GError, match="sell price exceeds"):
        split.update(prices=dataclasses.replace(data.prices, sell=data.prices.buy + 0.01))
    assert (
        StationSchedule(
            dataclasses.replace(
                data, prices=dataclasses.replace(data.prices, sell=data.prices.buy + 0.01)
            )
        ).limits_on
        == "net"
    )


def _case(tmp_path, base, edit):
    """A shipped case (these name no data files) edited and loaded from ``tmp_path``."""
    from pathlib import Path

    import yaml

    from gridv2g.case import load_case

    cases = Path(__file__).resolve().parent.parent / "cases"
    raw = yaml.safe_load((cases / base).read_text())
    edit(raw)
    path = tmp_path / base
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_case(path)


def test_case_files_switch_the_scale_mode_on(tmp_path):
    """`options.aggregate: true` in a station case and `fleet.options.aggregate: true` in a
    grid case give the per-EV model's optimum with fewer groups than EVs (each EV's own limits
    are checked by the disaggregation itself, tests above)."""
    import gridv2g as g

    for base, where in (
        ("lot20_seed001_v2g.yaml", ("options",)),
        ("ieee33_ev.yaml", ("fleet", "options")),
    ):

        def edit(raw, on, where=where):
            node = raw
            for key in where:
                node = node.setdefault(key, {})
            node["aggregate"] = on

        per_ev = g.solve(_case(tmp_path, base, lambda r: edit(r, False)))
        scaled = g.solve(_case(tmp_path, base, lambda r: edit(r, True)))
        assert scaled.summary["objective"] == pytest.approx(per_ev.summary["objective"], rel=1e-6)
        assert scaled.problem.timings["groups"] < len(scaled.res_ev_summary)


def test_scale_mode_is_refused_where_it_does_not_apply(tmp_path):
    from gridv2g.case import CaseError
    from gridv2g.case.build import stochastic_data

    case = _case(
        tmp_path,
        "station_stochastic_seed000.yaml",
        lambda r: r.setdefault("options", {}).update(aggregate=True),
    )
    with pytest.raises(CaseError, match=r"aggregate .* stochastic"):
        stochastic_data(case)
