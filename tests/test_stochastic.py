"""Two-stage stochastic station scheduling: VSS and EVPI on the shipped case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gridv2g as g
from gridv2g.case import stochastic_data
from gridv2g.problems.stochastic import solve_stochastic, solve_two_stage

CASE = Path(__file__).resolve().parent.parent / "cases" / "station_stochastic_seed000.yaml"


@pytest.fixture(scope="module", params=[10, 100])
def solved(request):
    case = g.load_case(CASE)
    case.scenarios.count = request.param
    data = stochastic_data(case)
    return data, solve_stochastic(data)


def test_vss_and_evpi_are_non_negative(solved):
    data, result = solved
    s = result.summary
    assert s["scenarios"] == len(data.scenarios)
    tol = 1e-6 * abs(s["rp"])
    assert s["vss"] >= -tol and s["evpi"] >= -tol
    assert s["ws"] >= s["rp"] - tol >= s["eev"] - 2 * tol
    # the first stage matters on this case: both measures are strictly positive
    assert s["vss"] > 0.1 and s["evpi"] > 0.1
    cap = data.base.stations.ess.e_kwh.iloc[0]
    assert 0.1 * cap - 1e-6 <= s["e0_kwh"] <= 0.9 * cap + 1e-6


def test_scenarios_vary_and_profits_add_up(solved):
    _, result = solved
    evs = result.res_scenario.evs
    assert evs.nunique() > 1  # Poisson counts differ
    assert np.mean(evs) == pytest.approx(8.0, rel=0.35)
    assert result.res_scenario.profit_rp.mean() == pytest.approx(result.summary["rp"], rel=1e-6)


def test_fixed_first_stage_is_evaluated_not_optimized():
    data = stochastic_data(g.load_case(CASE))
    best = solve_two_stage(data)
    worse = solve_two_stage(data, e0_kwh=float(best.e0_kwh[0]) + 60.0)
    assert worse.expected_profit < best.expected_profit
    assert worse.e0_kwh[0] == pytest.approx(best.e0_kwh[0] + 60.0)


def test_run_command_on_the_stochastic_case(tmp_path):
    from typer.testing import CliRunner

    from gridv2g.cli import app

    result = CliRunner().invoke(app, ["run", str(CASE), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "vss" in result.output and (tmp_path / "summary.json").is_file()
