"""Rolling-horizon control: Parameters re-solved, EVs revealed on arrival, near the optimum."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import gridv2g as g
from gridv2g.case import station_data
from gridv2g.fleet import plug_mask, plug_windows
from gridv2g.problems.mpc import RollingHorizon, compare_with_perfect_foresight

CASES = Path(__file__).resolve().parent.parent / "cases"


@pytest.fixture(scope="module")
def lot():
    data = station_data(g.load_case(CASES / "lot20_seed001_v2g.yaml"))
    return data, compare_with_perfect_foresight(data, progress=False)


def test_mpc_is_close_to_perfect_foresight_and_beats_uncontrolled(lot):
    _, cmp = lot
    t = cmp.table
    assert t.shortfall_kwh["mpc"] == pytest.approx(0.0, abs=1e-4)
    # less information can only cost more, but not much more on this lot
    assert t.cost["mpc"] >= t.cost["perfect_foresight"] - 1e-6
    assert t.cost_vs_perfect_foresight_percent["mpc"] < 10.0
    assert t.cost["mpc"] < t.cost["uncontrolled"]


def test_mpc_schedule_respects_windows_and_energy(lot):
    data, cmp = lot
    s = data.sessions
    res = cmp.mpc.res_ev
    c = res.p_charge_kw.unstack("ev")[s.index].to_numpy().T
    d = res.p_discharge_kw.unstack("ev")[s.index].to_numpy().T
    mask = plug_mask(s, data.horizon)
    assert np.all(c[~mask] == 0) and np.all(d[~mask] == 0)
    e = cmp.mpc.res_ev_summary
    assert (e.e_departure_kwh >= e.e_target_kwh - 1e-4).all()
    net = cmp.mpc.res_station.p_kw
    assert net.max() <= 100.0 + 1e-5 and net.min() >= -100.0 - 1e-5


def test_parameters_are_re_solved_without_recompiling():
    data = station_data(g.load_case(CASES / "lot20_seed001.yaml"))
    mpc = RollingHorizon(data)
    assert mpc.problem.is_dpp()
    energy = mpc.ev.e_arrival_kwh.copy()
    mpc._a, _ = plug_windows(data.sessions, data.horizon)
    mpc.set_step(0, energy)
    mpc.problem.solve(solver="CLARABEL")
    program = mpc.problem._cache.param_prog
    mpc.set_step(6, energy)
    mpc.problem.solve(solver="CLARABEL")
    assert mpc.problem._cache.param_prog is program


def test_evs_are_invisible_before_they_arrive():
    data = station_data(g.load_case(CASES / "lot20_seed001.yaml"))
    mpc = RollingHorizon(data)
    a, _ = plug_windows(data.sessions, data.horizon)
    k = int(np.min(a))  # the first arrival period
    mpc.set_step(k, mpc.ev.e_arrival_kwh.copy())
    hidden = a > k
    assert hidden.any()
    assert np.all(mpc.visible.value[hidden] == 0) and np.all(mpc.target.value[hidden] == 0)
    assert np.all(mpc.visible.value[~hidden] == 1)
    mpc.problem.solve(solver="CLARABEL")
    assert np.all(np.abs(mpc.c.value[hidden]) < 1e-6)  # no plan for EVs not yet seen
    assert np.all(np.abs(mpc.c.value[:, :k]) < 1e-6)  # nor for the past


def test_window_shorter_than_the_stay_still_meets_targets():
    data = station_data(g.load_case(CASES / "lot20_seed001.yaml"))
    data = dataclasses.replace(data)
    result = RollingHorizon(data, window=6).run(progress=False)
    assert result.summary["shortfall_kwh"] == pytest.approx(0.0, abs=1e-4)


def test_run_command_on_an_mpc_case(tmp_path):
    from typer.testing import CliRunner

    from gridv2g.cli import app

    text = (CASES / "lot20_seed001.yaml").read_text() + "mpc: {window: 12}\n"
    case = tmp_path / "lot20_mpc.yaml"
    case.write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(case), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "cost_vs_perfect_foresight_percent" in result.output
    assert (out / "station_power.png").is_file() and (out / "res_ev.parquet").is_file()


def test_partial_station_sums_give_the_same_control(lot, monkeypatch):
    """The partial-sum form of the dense form's station rows (blocks of 4 EVs here) is exact:
    the same rolling-horizon cost as the default form."""
    data, cmp = lot
    monkeypatch.setattr(RollingHorizon, "partial_sum_block", 4)
    mpc = RollingHorizon(data, form="dense")
    assert any(v.name() == "mpc-partial_sum" for v in mpc.problem.variables())
    blocked = mpc.run(progress=False)
    assert blocked.summary["cost"] == pytest.approx(cmp.table.cost["mpc"], rel=1e-6)


@pytest.mark.parametrize("window", [None, 6])
def test_plugged_entries_form_is_the_dense_problem(lot, window):
    """Variables only where EVs are plugged in (the default) against the earlier full (EV x
    period) arrays: fewer variables, the same rolling-horizon cost and shortfall."""
    data, _ = lot
    plugged = RollingHorizon(data, window=window)
    dense = RollingHorizon(data, window=window, form="dense")
    n_vars = [sum(v.size for v in m.problem.variables()) for m in (plugged, dense)]
    assert n_vars[0] < 0.8 * n_vars[1]
    a = plugged.run(progress=False)
    b = dense.run(progress=False)
    assert a.summary["cost"] == pytest.approx(b.summary["cost"], rel=1e-6, abs=1e-6)
    assert a.summary["shortfall_kwh"] == pytest.approx(b.summary["shortfall_kwh"], abs=1e-4)
    # (schedules may differ where prices tie: the same cost, other optima)


def test_unknown_form_is_refused(lot):
    with pytest.raises(g.GridV2GError, match="form must be"):
        RollingHorizon(lot[0], form="sparse")
