"""Replay of optimized schedules in OpenDSS on the full feeder (the unbalanced truth)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import DATA

import gridv2g as g
from gridv2g.bench import grid_case
from gridv2g.problems.co_optimize import CoOptimization

CASES = Path(__file__).resolve().parent.parent / "cases"


@pytest.mark.parametrize("name", ["ieee33_der", "ieee33_ev"])
def test_balanced_feeder_replays_exactly_in_opendss(name):
    """IEEE 33 is balanced three-phase: OpenDSS on the exported multi-phase model, with the DER
    as generators and the stations as loads, must give the SOCP's own voltages and losses."""
    result = g.solve(g.load_case(CASES / f"{name}.yaml"))
    report = g.validate(result, engine="opendss")
    s = report.summary
    assert s["periods"] == 96
    assert abs(s["losses_error_percent"]) < 1e-3
    assert s["max_dv_pu"] < 1e-6
    assert s["max_unbalance_pu"] < 1e-9
    assert s["substation_opendss_kwh"] == pytest.approx(s["substation_socp_kwh"], rel=1e-6)


def test_ieee123_at_nominal_load_is_opendss_own_solution():
    """Nominal loads, no DER, the shipped source voltage: every period of the replay is the
    original OpenDSS model's fixed-tap solution (losses from the stored reference)."""
    reference = json.loads((DATA / "ieee123" / "reference_summary.json").read_text())
    data = grid_case("ieee123", 2)
    index = data.horizon.index
    data = dataclasses.replace(
        data,
        der=None,
        load_scale=pd.DataFrame({"*": 1.0}, index=index),
        v_source_pu=None,
        vmin_pu=0.5,
    )
    result = CoOptimization(data, dpp=False).solve()
    report = g.validate(result, engine="opendss")
    losses = report.periods.losses_opendss_kw
    assert losses.to_numpy() == pytest.approx(reference["total_losses_kW"], rel=1e-5)
    # the balanced equivalent's error is real and measured, not hidden
    assert report.summary["losses_error_percent"] < -1.0
    assert report.summary["max_unbalance_pu"] > 0.01


def test_opendss_replay_takes_no_tolerances():
    result = g.solve(g.load_case(CASES / "ieee33_der.yaml"))
    with pytest.raises(g.GridV2GError, match="no tolerances"):
        g.validate(result, engine="opendss", v_tol_pu=1e-3)
    with pytest.raises(g.GridV2GError, match="engine must be"):
        g.validate(result, engine="gridlabd")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_written_result_replays_the_same(tmp_path, fmt):
    """`gridv2g validate OUT_DIR --opendss` on written tables = the in-memory replay."""
    import json as _json

    from typer.testing import CliRunner

    from gridv2g.cli import app

    out = tmp_path / "out"
    args = ["run", str(CASES / "ieee33_ev.yaml"), "--out", str(out), "--no-check"]
    run = CliRunner().invoke(app, args + (["--csv"] if fmt == "csv" else []))
    assert run.exit_code == 0, run.output
    again = CliRunner().invoke(app, ["validate", str(out), "--opendss"])
    assert again.exit_code == 0, again.output
    written = _json.loads((out / "opendss.json").read_text())
    direct = g.validate(g.solve(g.load_case(CASES / "ieee33_ev.yaml")), engine="opendss").summary
    for key in ("losses_opendss_kwh", "vmin_opendss_pu", "substation_opendss_kwh"):
        assert written[key] == pytest.approx(direct[key], rel=1e-7)
