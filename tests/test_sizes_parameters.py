"""Sizes as Parameters: converter and inverter ratings and site limits change through
``CoOptimization.resize`` and re-solve the same compiled problem (DPP); every re-solve equals
an independent fresh build with the new sizes."""

from __future__ import annotations

import copy
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from conftest import ieee13_ev_case

from gridv2g.case import case_from_dict, grid_data
from gridv2g.errors import GridDataError, GridV2GError
from gridv2g.inputs import check_grid_data, fixed_fleet
from gridv2g.model import der as der_block
from gridv2g.problems.co_optimize import CoOptimization

CASES = Path(__file__).resolve().parent.parent / "cases"
IEEE13 = Path(__file__).resolve().parent / "data" / "dss" / "ieee13"


def raw_case(name: str) -> dict:
    return yaml.safe_load((CASES / f"{name}.yaml").read_text())


def data_of(raw: dict, root=None):
    return grid_data(case_from_dict(copy.deepcopy(raw), raw["name"], root=root))


def compiled(co: CoOptimization):
    """CVXPY's compiled parametric program of the last DPP solve (1.9: ``_cache``)."""
    return co.problem._cache.param_prog


# ---------------------------------------------------------------------------- DER
def test_der_ratings_resize_the_compiled_problem_like_a_fresh_build():
    """IEEE 33 with 2 PV + 2 wind, losses, no curtailment: the DER inject availability x
    rating, so their sizes move the optimum; the re-solve reuses the compiled program."""
    raw = raw_case("ieee33_der")
    data = data_of(raw)
    co = CoOptimization(data, dpp=True)
    assert co.problem.is_dpp()
    first = co.solve()
    problem, program = co.problem, compiled(co)
    assert program is not None

    sizes = {"pv18": 750.0, "pv33": 650.0, "wt22": 600.0}  # wt25 keeps its 400 kVA
    co.resize(der_s_kva=sizes)
    again = co.solve()
    assert co.problem is problem and compiled(co) is program  # no rebuild, no recompile

    edited = copy.deepcopy(raw)
    for unit in edited["der"]:
        unit["s_kva"] = sizes.get(unit["name"], unit["s_kva"])
    fresh = CoOptimization(data_of(edited), dpp=False).solve()
    assert again.objective == pytest.approx(fresh.objective, rel=1e-6)
    assert again.objective != pytest.approx(first.objective, rel=1e-3)  # the sizes bind
    for column in ("p_kw", "p_available_kw"):
        np.testing.assert_allclose(again.res_der[column], fresh.res_der[column], atol=1e-4)
    # the table's available power is availability x the new rating
    avail = data.der.availability.stack().reorder_levels([1, 0])
    rating = pd.Series({**data.der.units.s_kva.to_dict(), **sizes})
    expected = (avail * rating.reindex(avail.index.get_level_values(0)).to_numpy()).to_numpy()
    got = again.res_der.p_available_kw.reorder_levels(["der", "time"]).loc[avail.index]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12)
    # the capability cone holds at the new ratings
    s = again.res_der.eval("sqrt(p_kw ** 2 + q_kvar ** 2)").groupby("der").max()
    assert (s <= rating[s.index] * (1 + 1e-6)).all()
    assert s["pv18"] > 500.0 + 1.0  # above the old rating: the cone moved with it
    # the caller's data is untouched; the problem holds a copy with the new sizes
    assert data.der.units.s_kva.tolist() == [500.0, 500.0, 400.0, 400.0]
    assert co.data.der.units.s_kva.to_dict() == rating.to_dict()


def test_curtailment_term_uses_the_available_power_at_the_new_rating():
    """Curtailment allowed and priced below the losses: the far PV units are curtailed in
    proportion to their size, and the objective's curtailment term (available power minus
    output) follows the rating exactly as a fresh build's does."""
    raw = raw_case("ieee33_der")
    raw["options"] = {**raw["options"], "curtailment": True, "curtailment_cost_per_kwh": 0.05}
    raw["objective"] = {"losses": 1.0, "curtailment": 1.0}
    co = CoOptimization(data_of(raw), dpp=True)
    first = co.solve()
    program = compiled(co)
    co.resize(der_s_kva={"pv18": 400.0, "pv33": 400.0})
    again = co.solve()
    assert compiled(co) is program
    for unit in raw["der"]:
        if unit["kind"] == "pv":
            unit["s_kva"] = 400.0
    fresh_co = CoOptimization(data_of(raw), dpp=False)
    fresh = fresh_co.solve()
    assert again.objective == pytest.approx(fresh.objective, rel=1e-6)
    assert again.summary["curtailed_kwh"] == pytest.approx(fresh.summary["curtailed_kwh"], rel=1e-5)
    assert again.summary["curtailed_kwh"] < first.summary["curtailed_kwh"] - 10.0
    assert co.terms["curtailment"].value == pytest.approx(
        fresh_co.terms["curtailment"].value, rel=1e-5
    )


# ---------------------------------------------------------------------------- fleet slot
def test_fleet_slot_rating_and_site_limits_resize_like_a_fresh_build():
    """IEEE 33 with the 30-EV V2G lot at bus 18 (300 kVA, +-250 kW site limits): shrinking
    the converter, growing it past its old rating (its +-s_kva bounds follow) and moving the
    site limits each re-solve the compiled problem and equal a fresh build of the edited
    case file."""
    raw = raw_case("ieee33_ev")
    data = data_of(raw)
    co = CoOptimization(data, dpp=True)
    first = co.solve()
    problem, program = co.problem, compiled(co)
    plans = (
        (150.0, 250.0, 250.0),  # the converter binds below the site limits
        (400.0, 350.0, 350.0),  # above the old 300 kVA: 30 EVs x 11 kW = 330 kW
        (300.0, 150.0, 100.0),  # the site limits bind
    )
    for s_kva, imp, exp in plans:
        co.resize(
            station_s_kva={"lot18": s_kva},
            import_limit_kw=pd.Series({"lot18": imp}),
            export_limit_kw={"lot18": exp},
        )
        again = co.solve()
        assert co.problem is problem and compiled(co) is program

        edited = copy.deepcopy(raw)
        edited["stations"][0]["s_kva"] = s_kva
        site = edited["fleet"]["sites"][0]
        site["p_import_max_kw"], site["p_export_max_kw"] = {"constant": imp}, {"constant": exp}
        fresh = CoOptimization(data_of(edited), dpp=False).solve()
        assert again.objective == pytest.approx(fresh.objective, rel=1e-6), (s_kva, imp, exp)
        assert again.summary["ev_charged_kwh"] == pytest.approx(
            fresh.summary["ev_charged_kwh"], rel=1e-4
        )
        p = again.res_site.p_kw.xs("lot18", level="station")
        q = again.res_station.q_kvar.xs("lot18", level="station")
        assert p.max() <= min(imp, s_kva) + 1e-4 and -p.min() <= min(exp, s_kva) + 1e-4
        assert ((p**2 + q**2) <= s_kva**2 * (1 + 1e-6)).all()
        assert again.objective != pytest.approx(first.objective, rel=1e-4)  # sizes bind
        if s_kva == 150.0:
            assert p.max() == pytest.approx(150.0, abs=1e-3)  # the converter binds
        if s_kva == 400.0:
            assert p.max() > 300.0 + 1.0  # past the old rating and its old bound
        if imp == 150.0:
            assert p.max() == pytest.approx(150.0, abs=1e-3)  # the import limit binds
    # the caller's tables are untouched
    assert data.stations.slots.at["lot18", "s_kva"] == 300.0
    assert (data.stations.p_max_kw["lot18"] == 300.0).all()
    assert (data.fleet.stations.p_import_max_kw["lot18"] == 250.0).all()


def test_variable_slot_bounds_at_the_rating_follow_it_like_the_case_builder():
    """A variable slot's bounds that a case leaves to the rating move with it; given bounds
    stay: the resized tables equal the case builder's for the edited case."""
    raw = raw_case("ieee33_der")
    raw["stations"] = [
        {"name": "a", "bus": "18", "s_kva": 200, "p_min_kw": 0},  # p_max_kw = s_kva
        {"name": "b", "bus": "33", "s_kva": 200, "p_min_kw": -50, "p_max_kw": 100},
        {"name": "c", "bus": "25", "s_kva": 200, "p_kw": {"constant": 80}},
    ]
    co = CoOptimization(data_of(raw), dpp=True)
    co.resize(station_s_kva={"a": 300, "b": 300, "c": 90})
    for slot, s_kva in (("a", 300), ("b", 300), ("c", 90)):
        next(s for s in raw["stations"] if s["name"] == slot)["s_kva"] = s_kva
    fresh = data_of(raw).stations
    for key in ("slots", "p_kw", "p_min_kw", "p_max_kw"):
        pd.testing.assert_frame_equal(getattr(co.data.stations, key), getattr(fresh, key))
    np.testing.assert_allclose(co.stations.params["rating"].value, [0.3, 0.3, 0.09])


# ---------------------------------------------------------------------------- unbalanced
def test_unbalanced_formulation_resizes_like_a_fresh_build():
    """IEEE 13 (per-phase LinDist3Flow closed against OpenDSS) with 30 V2G EVs at bus 652:
    the resized problem closes to the fresh build's plan."""
    raw = ieee13_ev_case()
    co = CoOptimization(data_of(raw, root=IEEE13), dpp=True)
    assert co.formulation.name == "unbalanced"
    first = co.solve()
    problem = co.problem
    co.resize(station_s_kva={"lot652": 200}, import_limit_kw={"lot652": 120})
    again = co.solve()
    assert co.problem is problem
    raw["stations"][0]["s_kva"] = 200
    raw["fleet"]["sites"][0]["p_import_max_kw"] = {"constant": 120}
    fresh = CoOptimization(data_of(raw, root=IEEE13), dpp=True).solve()
    assert again.summary["closing_converged"]
    assert again.objective == pytest.approx(fresh.objective, rel=1e-6)
    assert again.objective > first.objective + 1.0
    assert again.res_site.p_kw.max() == pytest.approx(120.0, abs=1e-3)


# ---------------------------------------------------------------------------- LP and DPP
def test_slots_without_reactive_dispatch_stay_linear():
    C = sp.csr_matrix(np.eye(3))
    block = der_block.station_slots(
        C, 4, reactive=np.array([False, True, False]), p_variable=np.ones(3, bool)
    )
    caps = block.constraints["station-capability"]
    assert sum(isinstance(c, cp.constraints.SOC) for c in caps) == 1  # the one slot with q
    assert all(c.is_dpp() for c in caps)
    off = der_block.station_slots(C, 4, reactive=np.zeros(3, bool), p_variable=np.ones(3, bool))
    cons = off.all_constraints()
    assert not any(isinstance(c, cp.constraints.SOC) for c in cons)
    # the LP honours the rating Parameter: |p| <= S
    off.params["rating"].value = np.array([0.1, 0.2, 0.3])
    for key in ("p_profile", "p_min", "p_max"):
        off.params[key].value = np.zeros((3, 4))
    off.params["p_min"].value[:] = -1.0
    off.params["p_max"].value[:] = 1.0
    lp = cp.Problem(cp.Maximize(cp.sum(off.p)), cons)
    assert lp.is_dpp()
    lp.solve(solver="HIGHS")
    np.testing.assert_allclose(off.p.value.sum(axis=1), [0.4, 0.8, 1.2], atol=1e-9)


# ---------------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def ev_problem():
    return CoOptimization(data_of(raw_case("ieee33_ev")), dpp=True)


BAD = [
    (
        {"station_s_kva": {"lot99": 100}},
        GridV2GError,
        r"station slot\(s\) \['lot99'\]; valid: \['lot18'\]",
    ),
    (
        {"der_s_kva": {"pv1": 100}},
        GridV2GError,
        r"unit\(s\) \['pv1'\]; valid: \['pv18', 'pv33', 'wt22', 'wt25'\]",
    ),
    (
        {"import_limit_kw": {"lot": 1}},
        GridV2GError,
        r"fleet station\(s\) \['lot'\]; valid: \['lot18'\]",
    ),
    (
        {"station_s_kva": {"lot18": -1}},
        GridDataError,
        "slot 'lot18': s_kva must be finite and >= 0 kVA, got -1",
    ),
    ({"der_s_kva": {"wt22": np.nan}}, GridDataError, "DER unit 'wt22': s_kva must be finite"),
    (
        {"export_limit_kw": {"lot18": np.inf}},
        GridDataError,
        "'lot18': p_export_max_kw must be finite",
    ),
    (
        {"import_limit_kw": {"lot18": -5.0}},
        GridDataError,
        "p_import_max_kw must be finite and >= 0 kW",
    ),
    ({"der_s_kva": {"pv18": "big"}}, GridDataError, "DER unit 'pv18': s_kva 'big' is not a number"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD)
def test_bad_sizes_are_refused_naming_the_item(ev_problem, kwargs, error, match):
    co = ev_problem
    before = co.data
    rating = co.stations.params["rating"].value.copy()
    with pytest.raises(error, match=match):
        co.resize(**kwargs)
    assert co.data is before  # nothing changed
    np.testing.assert_array_equal(co.stations.params["rating"].value, rating)


def test_a_shrunk_rating_below_a_fixed_profile_is_refused():
    data = data_of(raw_case("ieee33_ev"))
    net = pd.DataFrame({"lot18": 120.0}, index=data.horizon.index)
    co = CoOptimization(fixed_fleet(data, net), dpp=True)
    with pytest.raises(
        GridDataError, match="fixed p_kw 120 exceeds its converter rating s_kva 100"
    ):
        co.resize(station_s_kva={"lot18": 100})
    assert co.data.stations.slots.at["lot18", "s_kva"] == 300.0
    with pytest.raises(GridV2GError, match=r"unknown fleet station\(s\) \['lot18'\]; valid: \[\]"):
        co.resize(import_limit_kw={"lot18": 100})  # no fleet in this problem


def test_der_case_without_stations_names_no_valid_slot():
    co = CoOptimization(data_of(raw_case("ieee33_der")), dpp=True)
    with pytest.raises(GridV2GError, match=r"valid: \[\]"):
        co.resize(station_s_kva={"lot18": 100})
    co.resize()  # nothing to change
    check_grid_data(co.data)
