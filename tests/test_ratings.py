"""Thermal ratings of the shipped feeders: the published figures, loading, enforcement."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

import gridv2g as g
from gridv2g.case import Case, load_case
from gridv2g.feeders import ieee123

CASES = Path(__file__).resolve().parent.parent / "cases"

#: Normal ampacity [A] of each IEEE 123-bus line configuration, typed from the sources:
#: configurations 1-8 336,400 26/7 ACSR (530 A), 9-11 1/0 ACSR (230 A) from Table 3 of
#: W. H. Kersting, "Radial distribution test feeders" (IEEE PES 2001); configuration 12, 1/0 AA
#: concentric-neutral cable, 175 A in a 4 inch duct from Table 5 of the same report.
PUBLISHED_AMPS = {
    "1": 530.0,
    "2": 530.0,
    "3": 530.0,
    "4": 530.0,
    "5": 530.0,
    "6": 530.0,
    "7": 530.0,
    "8": 530.0,
    "9": 230.0,
    "10": 230.0,
    "11": 230.0,
    "12": 175.0,
}


def test_ieee123_lines_carry_the_published_ampacity(ieee123):
    line = ieee123.line
    lines = line[~line.is_switch]
    assert len(lines) == 118
    expected = lines.linecode.map(PUBLISHED_AMPS)
    assert expected.notna().all()  # every non-switch line is one of configurations 1-12
    pd.testing.assert_series_equal(lines.max_i_a, expected, check_names=False)
    # switches are unrated, emergency ratings unknown
    assert line[line.is_switch].max_i_a.isna().all() and len(line[line.is_switch]) == 8
    assert line.emerg_i_a.isna().all()


def test_ieee123_ratings_reach_the_balanced_model(ieee123):
    """1- and 2-phase lines: the equivalent three-phase branch carries n/3 of the current."""
    branch = ieee123.balanced().branch
    assert branch.at["l115", "max_i_ka"] == pytest.approx(0.530)
    assert branch.at["l1", "max_i_ka"] == pytest.approx(0.230 / 3)  # 1-phase, config 10
    assert branch.at["l61", "max_i_ka"] == pytest.approx(0.175)  # underground, config 12
    assert np.isnan(branch.at["sw1", "max_i_ka"])


def test_ieee123_loading_at_nominal_load_from_opendss():
    """OpenDSS's own currents (fixed taps) against the ratings: the trunk is overloaded."""
    ref = pd.read_csv(DATA / "ieee123" / "line_currents_fixed_taps.csv")
    line = ieee123().line
    merged = ref.merge(line, left_on="line", right_index=True, validate="1:1")
    assert len(merged) == len(line) == 126
    loading = (100.0 * merged.i_max_amps / merged.max_i_a).set_axis(merged.line)
    # L115 (149-1), first section of the trunk: 628.55 A on its most loaded phase
    assert loading.idxmax() == "l115"
    assert loading.max() == pytest.approx(100.0 * 628.553770847788 / 530.0)  # 118.6 %
    over = loading[loading > 100.0].sort_values(ascending=False)
    assert list(over.index) == ["l115", "l3", "l7", "l10"]
    assert loading.drop(over.index).max() < 63.0
    print(f"\nIEEE 123 at nominal load (OpenDSS): max loading {loading.max():.1f} % on l115;")
    print(over.round(1).to_string())


def test_ieee33_ships_no_rating(ieee33):
    """Baran & Wu give no ratings and no published one could be verified: all unknown."""
    assert ieee33.line.max_i_a.isna().all()


def test_shipped_ieee123_case_is_not_limited_by_the_ratings():
    """cases/ieee123_der.yaml: peak loading below 100 %, same optimum as without ampacity."""
    case = load_case(CASES / "ieee123_der.yaml")
    on = g.solve(case)
    off = g.solve(
        case.model_copy(update={"options": case.options.model_copy(update={"ampacity": False})})
    )
    assert on.status == off.status == "optimal"
    peak = on.res_line.loading_percent.max()
    assert 85.0 < peak < 95.0  # l115 at 18:45: 89.9 %
    assert on.summary["losses_kwh"] == pytest.approx(off.summary["losses_kwh"], rel=1e-6)


def _export_case(ampacity: bool) -> Case:
    """ieee123_der at midday with a 1 MW PV at bus 4, on the single-phase lateral 1-3-4."""
    data = load_case(CASES / "ieee123_der.yaml").model_dump()
    data["horizon"] = {"start": "2024-06-21T11:00", "periods": 4, "minutes": 60}
    data["load"] = {"constant": 0.5}
    data["prices"] = {"constant": 0.1}
    data["der"].append(
        {
            "name": "pv4",
            "kind": "pv",
            "bus": "4",
            "s_kva": 1000.0,
            "availability": {"constant": 1.0},
        }
    )
    data["objective"] = {"energy_cost": 1.0}  # every kWh of PV is worth taking
    data["options"].update(curtailment=True, vmax_pu=1.1, ampacity=ampacity)
    return Case.model_validate(data)


def test_ampacity_enforces_where_it_binds():
    """1 MW PV behind 1/0 ACSR (230 A single-phase): the line limits the export."""
    result = g.solve(_export_case(ampacity=True))
    assert result.status == "optimal"
    res_line = result.res_line
    branch = ieee123().balanced().branch
    i_max = res_line.i_ka.groupby(level="line").max()
    cap = branch.max_i_ka.reindex(i_max.index)
    rated = cap.notna()
    assert (i_max[rated] <= cap[rated] * (1 + 1e-6)).all()
    assert res_line.loading_percent.max() <= 100.0 + 1e-4
    # it binds: L4 (3-4) at its rating in every period, the PV curtailed although energy is paid
    l4 = res_line.loading_percent.xs("l4", level="line")
    assert (l4 > 99.9).all()
    pv4 = result.res_der.xs("pv4", level="der")
    assert (pv4.curtailed_kw > 300.0).all()
    assert result.res_bus.vm_pu.max() < 1.09  # not the voltage limit
    # without the limit the same PV drives the lateral far above its rating
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # this solve may end 'optimal_inaccurate'
        free = g.solve(_export_case(ampacity=False))
    assert free.status.startswith("optimal")
    assert free.res_line.loading_percent.xs("l4", level="line").min() > 150.0
    assert free.res_der.xs("pv4", level="der").curtailed_kw.max() < 1.0
