"""Each bad input or failing solve names its actual cause: inputs that contradict physics are
refused before any solve (naming the item, period and numbers), a bounded problem is not called
unbounded, and a relaxation that is not exact says why. References are independent: a second
solver (HiGHS) on the same station problem, and pandapower's AC replay for the relaxation."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import gridv2g as g
from gridv2g.case import CaseError, load_case
from gridv2g.case.build import grid_data
from gridv2g.errors import GridDataError, GridV2GWarning, ProfileError
from gridv2g.problems.co_optimize import CoOptimization

CASES = Path(__file__).resolve().parent.parent / "cases"


def case_with(tmp_path, base: str, edit) -> Path:
    raw = yaml.safe_load((CASES / base).read_text())
    edit(raw)
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.mark.parametrize("penalty", [1e4, 1e6])
def test_a_station_without_import_limit_is_not_called_unbounded(tmp_path, penalty):
    """A 1e9 kW stand-in for "no limit" against a 1e4/kWh shortfall penalty made Clarabel
    report this bounded problem as unbounded; HiGHS solved it. Both must now agree."""

    def edit(raw, solver):
        raw["stations"][0].pop("p_import_max_kw")
        raw["options"].update(target="soft", shortfall_penalty_per_kwh=penalty)
        raw["solver"] = {"name": solver}

    clarabel = g.solve(
        load_case(case_with(tmp_path, "lot20_seed001.yaml", lambda r: edit(r, "CLARABEL")))
    )
    highs = g.solve(
        load_case(case_with(tmp_path, "lot20_seed001.yaml", lambda r: edit(r, "HIGHS")))
    )
    assert clarabel.summary["status"] == "optimal"
    assert clarabel.summary["objective"] == pytest.approx(highs.summary["objective"], rel=1e-6)
    assert clarabel.summary["shortfall_kwh"] == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize(
    ("slot", "message"),
    [
        ({"p_min_kw": 50, "p_max_kw": 10}, "p_min_kw 50 > p_max_kw 10"),
        ({"p_min_kw": 150, "p_max_kw": 200}, "p_min_kw 150 > s_kva 100"),
        ({"p_min_kw": -300, "p_max_kw": -200}, "p_max_kw -200 < -s_kva 100"),
    ],
)
def test_impossible_slot_bounds_are_refused_at_load(tmp_path, slot, message):
    def edit(raw):
        raw["stations"] = [{"name": "s", "bus": "18", "s_kva": 100, **slot}]

    with pytest.raises(CaseError, match=rf"case.yaml:\d+: stations.0: .*{message}"):
        load_case(case_with(tmp_path, "ieee33_der.yaml", edit))


def grid(tmp_path, edit=lambda raw: None):
    return grid_data(load_case(case_with(tmp_path, "ieee33_der.yaml", edit)))


def test_impossible_slot_bounds_from_the_api_name_slot_and_period(tmp_path):
    def edit(raw):
        raw["stations"] = [{"name": "s", "bus": "18", "s_kva": 100, "p_min_kw": 0}]

    data = grid(tmp_path, edit)
    st = data.stations
    p_max = st.p_max_kw.copy()
    p_max.iloc[7:9, 0] = -5.0  # p_min 0 > p_max -5 in two periods
    data.stations = dataclasses.replace(st, p_max_kw=p_max)
    with pytest.raises(
        GridDataError, match=r"slot 's' at 2024-06-21 01:45:00: p_min_kw 0 > p_max_kw -5 \(2 period"
    ):
        CoOptimization(data)


def test_a_fixed_slot_above_its_rating_is_refused(tmp_path):
    def edit(raw):
        raw["stations"] = [{"name": "s", "bus": "18", "s_kva": 100, "p_kw": {"constant": 150}}]

    with pytest.raises(GridDataError, match=r"slot .s. .* fixed p_kw 150 exceeds .* s_kva 100"):
        CoOptimization(grid(tmp_path, edit))


def test_availability_above_one_is_refused(tmp_path):
    def edit(raw):
        raw["der"][0]["availability"] = {"constant": 5.0}

    with pytest.raises(CaseError, match=r"der.0: .*availability 5 is outside \[0, 1\]"):
        load_case(case_with(tmp_path, "ieee33_der.yaml", edit))
    # from a profile (here: through the API) it names the unit, the period and the value
    data = grid(tmp_path)
    avail = data.der.availability.copy()
    avail.iloc[50, 1] = 1.3
    data.der = dataclasses.replace(data.der, availability=avail)
    with pytest.raises(ProfileError, match=r"DER 'pv33': availability 1.3 at 2024-06-21 12:30:00"):
        CoOptimization(data)


def test_an_infinite_load_is_refused_not_blamed_on_the_feeder(tmp_path):
    data = grid(tmp_path)
    scale = data.load_scale.copy()
    scale.iloc[3, 0] = np.inf
    data.load_scale = scale
    with pytest.raises(ProfileError, match=r"load multiplier '\*' is inf at 2024-06-21 00:45:00"):
        CoOptimization(data)


def test_a_voltage_limit_on_the_source_bus_is_not_ignored(tmp_path):
    def edit(raw, limits):
        raw["options"]["bus_v_limits"] = {"1": limits}

    with pytest.raises(GridDataError, match=r"bus '1' is the source bus: .* fixed at 1 pu"):
        CoOptimization(grid(tmp_path, lambda r: edit(r, [0.90, 0.99])))
    CoOptimization(grid(tmp_path, lambda r: edit(r, [0.95, 1.05])))  # met: accepted


def test_an_inexact_relaxation_says_why(tmp_path):
    """Net generation (load x -0.5) with fixed DER output drives the upper voltage limit to
    bind; the SOC relaxation then holds the voltage down with losses that do not exist (Gan,
    Li, Topcu & Low 2015: exactness needs the upper limits not to bind). g.solve itself says
    so, names the buses, and its count of inexact periods is the AC replay's (pandapower)
    count of flagged periods. With curtailment allowed the plan is exact."""

    def edit(raw, curtail):
        raw["load"] = {"constant": -0.5}
        raw["objective"] = {"energy_cost": 1.0}
        raw["options"]["curtailment"] = curtail

    with pytest.warns(
        GridV2GWarning, match=r"upper voltage limit binds there \(bus\(es\) \['18', '33'\]"
    ):
        result = g.solve(
            load_case(case_with(tmp_path, "ieee33_der.yaml", lambda r: edit(r, False)))
        )
    s = result.summary
    assert not s["relaxation_exact"] and s["relaxation_inexact_cause"] == "upper_voltage"
    report = g.validate(result)
    assert report.summary["flagged_periods"] == s["relaxation_inexact_periods"] > 0

    with warnings.catch_warnings():
        warnings.simplefilter("error", GridV2GWarning)
        exact = g.solve(load_case(case_with(tmp_path, "ieee33_der.yaml", lambda r: edit(r, True))))
    assert exact.summary["relaxation_exact"]
    assert g.validate(exact).summary["flagged_periods"] == 0


@pytest.mark.parametrize("scale", [0.5, 0.6, 0.7])
def test_light_load_flags_no_period_that_agrees_in_ac(tmp_path, scale):
    """Light loads once flagged up to 47 of 96 periods whose AC voltages agreed to 1e-10 pu:
    the gap measured solver resolution. No flagged period may agree to 1e-8 pu."""

    def edit(raw):
        raw["load"]["scale"] = scale

    result = g.solve(load_case(case_with(tmp_path, "ieee33_der.yaml", edit)))
    periods = g.validate(result).periods
    agree = periods.max_dv_pu <= 1e-8
    assert not (periods.flagged & agree).any()
    assert result.summary["relaxation_exact"] == (not periods.flagged.any())
    assert isinstance(periods.index, pd.DatetimeIndex)
