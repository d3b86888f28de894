"""IEEE 123-bus: shipped tables, OpenDSS round trip, balanced equivalent."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from gridv2g.errors import FeederError
from gridv2g.feeders import IEEE123_FIXED_TAPS, from_opendss, ieee123
from gridv2g.feeders.compare import balanced_error, opendss_solution
from gridv2g.feeders.library import ieee123_line_ratings, ieee123_tap_commands

REF = DATA / "ieee123"


@pytest.fixture(scope="module")
def reference():
    nodes = pd.read_csv(REF / "reference_fixed_taps.csv", dtype={"bus": str})
    summary = json.loads((REF / "reference_summary.json").read_text())
    return nodes, summary


def test_counts_match_opendss(ieee123, reference):
    s = ieee123.summary()
    assert (s["buses"], s["lines"], s["loads"], s["capacitors"]) == (132, 126, 91, 4)
    assert (s["transformers"], s["regulators"], s["switches"]) == (8, 7, 8)
    assert s["p_kw"] == pytest.approx(3490.0)
    assert s["q_kvar"] == pytest.approx(1920.0)


def test_default_taps_are_kersting_fixed_taps(ieee123, reference):
    _, summary = reference
    taps = ieee123.transformer.to_tap
    for name, info in summary["regulator_taps"].items():
        assert taps[name] == pytest.approx(info["tap_pu"], abs=1e-12)
        assert IEEE123_FIXED_TAPS[name] == info["tap_step"]


def test_taps_can_be_overridden_and_are_checked():
    feeder = ieee123(taps={"reg1a": 0})
    assert feeder.transformer.at["reg1a", "to_tap"] == 1.0
    assert feeder.transformer.at["reg4a", "to_tap"] == pytest.approx(1.05)
    with pytest.raises(FeederError, match="unknown regulator"):
        ieee123(taps={"reg9z": 1})


def test_opendss_round_trip_reproduces_opendss_solution(ieee123, reference, tmp_path):
    """tables -> to_opendss -> OpenDSS: every node within 1e-4 pu, losses within 0.1 %."""
    nodes, summary = reference
    sol = opendss_solution(ieee123, tmp_path)
    assert sol.summary["converged"]
    merged = nodes.merge(
        sol.res_node, left_on=["bus", "phase"], right_on=["bus", "node"], validate="1:1"
    )
    assert len(merged) == len(nodes) == len(sol.res_node) == 278
    volts = merged.v_mag_volts / (1000.0 * merged.kv_base_ln)
    assert np.max(np.abs(volts - merged.vm_pu)) < 1e-4
    assert sol.summary["losses_kw"] == pytest.approx(summary["total_losses_kW"], rel=1e-3)
    assert sol.summary["substation_kw"] == pytest.approx(summary["substation_power_kW"], rel=1e-4)


def test_shipped_tables_are_what_the_importer_makes_of_the_input():
    """Regenerating from the OpenDSS input files gives the shipped tables (no stale data)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the 123-bus input has nothing unrepresentable
        fresh = from_opendss(
            DATA / "ieee123" / "dss" / "IEEE123Master.dss",
            commands=[*ieee123_tap_commands(), "Buscoords BusCoords.dat"],
            name="ieee123",
        )
    # the line ratings are the one addition to what the importer reads (the input has none)
    fresh = fresh.replace(line=ieee123_line_ratings(fresh.line))
    shipped = ieee123()
    for table in ("bus", "line", "load", "capacitor", "transformer", "source", "linecode"):
        pd.testing.assert_frame_equal(getattr(fresh, table), getattr(shipped, table))
    pd.testing.assert_frame_equal(
        fresh.linecode_matrix.reset_index(drop=True), shipped.linecode_matrix
    )


def test_balanced_equivalent_keeps_total_load(ieee123):
    balanced = ieee123.balanced()
    assert balanced.total_load_kw == pytest.approx(ieee123.load.p_kw.sum(), rel=1e-3)
    assert balanced.total_load_kvar == pytest.approx(ieee123.load.q_kvar.sum(), rel=1e-3)
    # only the rated-vs-base voltage ratios of constant Z / I loads may differ
    assert balanced.total_load_kw != ieee123.load.p_kw.sum()


def test_balanced_error_is_measured_against_opendss(ieee123):
    """The error is a reported figure (README); here: it is computed and of sane size."""
    table = balanced_error(ieee123)
    assert set(table.index) >= {"substation_kw", "losses_kw", "vmin_pu", "vmax_pu"}
    assert abs(table.at["substation_kw", "error_percent"]) < 1.0
    assert abs(table.at["losses_kw", "error_percent"]) < 10.0
    assert abs(table.at["vmin_pu", "error"]) < 0.03
