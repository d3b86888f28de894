"""DistFlow SOCP against AC power flow (pandapower) and its relaxation gap."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pandas as pd
import pytest

from gridv2g.errors import GridV2GWarning, InfeasibleError
from gridv2g.feeders import ieee33
from gridv2g.feeders.pandapower_bridge import run_powerflow
from gridv2g.problems.co_optimize import CoOptimization, GridData
from gridv2g.profiles import Horizon
from gridv2g.validation import validate


def one_period(feeder, **kw) -> GridData:
    horizon = Horizon(pd.Timestamp("2024-01-01"), 1, 60)
    return GridData(
        feeder=feeder,
        horizon=horizon,
        load_scale=pd.DataFrame({"*": [1.0]}, index=horizon.index),
        price_per_kwh=pd.Series([0.1], index=horizon.index),
        **kw,
    )


def test_single_period_ieee33_matches_ac_power_flow():
    """Fixed base load, losses objective: SOCP = pandapower AC (the issue's first check)."""
    feeder = ieee33()
    result = CoOptimization(one_period(feeder, vmin_pu=0.9), dpp=False).solve()
    net = feeder.to_pandapower()
    pp.runpp(net, tolerance_mva=1e-10)
    ac_losses_kw = 1000.0 * net.res_line.pl_mw.sum()
    socp_losses_kw = result.res_line.loss_kw.sum()
    assert socp_losses_kw == pytest.approx(ac_losses_kw, rel=1e-3)
    assert socp_losses_kw == pytest.approx(202.68, rel=5e-4)  # Baran & Wu
    ac = dict(zip(net.bus.name, net.res_bus.vm_pu, strict=True))
    socp = result.res_bus.vm_pu.droplevel("time")
    assert max(abs(socp[b] - ac[b]) for b in ac) < 1e-3
    assert result.summary["max_relaxation_gap"] < 1e-5
    assert result.summary["vmin_bus"] == "18"


def test_single_period_ieee123_matches_ac_power_flow(ieee123):
    """Regulators, switches, a transformer, capacitors and line charging, constant PQ."""
    result = CoOptimization(one_period(ieee123), dpp=False).solve()
    net = ieee123.to_pandapower()
    zip_cols = ["const_z_p_percent", "const_i_p_percent", "const_z_q_percent"]
    net.load[[*zip_cols, "const_i_q_percent"]] = 0.0  # the SOCP's loads are constant PQ
    run_powerflow(net)
    ac_losses = 1000.0 * (net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum())
    assert result.res_line.loss_kw.sum() == pytest.approx(ac_losses, rel=1e-3)
    ac = dict(zip(net.bus.name, net.res_bus.vm_pu, strict=True))
    socp = result.res_bus.vm_pu.droplevel("time")
    assert max(abs(socp[b] - ac[b]) for b in ac) < 1e-3
    assert result.summary["max_relaxation_gap"] < 1e-5


def test_relaxation_gap_check_flags_an_inexact_solution():
    """An objective that rewards losses makes the relaxation inexact; the check sees it."""
    feeder = ieee33()
    data = one_period(feeder, vmin_pu=0.9, objective={"losses": -1.0})
    with pytest.warns(GridV2GWarning, match="relaxation is not exact"):
        result = CoOptimization(data, dpp=False).solve()
    assert result.summary["max_relaxation_gap"] > 1e-2
    assert result.summary["relaxation_exact"] is False
    report = validate(result)
    assert report.periods.flagged.all()
    assert not report.ok


def test_infeasible_voltage_is_diagnosed_by_bus_and_period():
    """Baran-Wu at full load reaches 0.913 pu: a 0.95 pu floor cannot hold at the far buses."""
    feeder = ieee33()
    horizon = Horizon(pd.Timestamp("2024-01-01"), 3, 60)
    data = GridData(
        feeder=feeder,
        horizon=horizon,
        load_scale=pd.DataFrame({"*": [0.5, 1.0, 0.4]}, index=horizon.index),
        price_per_kwh=pd.Series(0.1, index=horizon.index),
        vmin_pu=0.95,
    )
    with pytest.raises(InfeasibleError) as err:
        CoOptimization(data, dpp=False).solve()
    table = err.value.diagnosis
    assert set(table.limit) == {"vmin"}
    # only the full-load period violates, at the far end of the main feeder
    assert set(table.time) == {horizon.index[1]}
    assert {"18", "17", "16"} <= set(table.element)
    worst = table.loc[table.needed_value.idxmin()]
    assert worst.element == "18"
    assert worst.needed_value == pytest.approx(0.9131, abs=2e-3)
    message = str(err.value)
    assert "vmin" in message and "18" in message and "01:00" in message


def test_constraint_count_does_not_grow_with_periods():
    """Blocks are matrix expressions over (element x period): no per-period constraints."""
    feeder = ieee33()
    counts = []
    for periods in (1, 24):
        horizon = Horizon(pd.Timestamp("2024-01-01"), periods, 60)
        data = GridData(
            feeder=feeder,
            horizon=horizon,
            load_scale=pd.DataFrame({"*": np.ones(periods)}, index=horizon.index),
            price_per_kwh=pd.Series(0.1, index=horizon.index),
        )
        counts.append(len(CoOptimization(data, dpp=False).problem.constraints))
    assert counts[0] == counts[1]
    soc = [c for c in CoOptimization(data, dpp=False).grid.constraints["line-soc"]]
    assert len(soc) == 1


def test_a_second_solver_agrees_with_clarabel():
    """SCS (first-order, independent code) reaches the same optimum within its accuracy."""
    data = one_period(ieee33(), vmin_pu=0.9)
    clarabel = CoOptimization(data, dpp=False).solve()
    scs = CoOptimization(one_period(ieee33(), vmin_pu=0.9), dpp=False).solve(
        "SCS", eps_abs=1e-9, eps_rel=1e-9, max_iters=200_000
    )
    assert scs.objective == pytest.approx(clarabel.objective, rel=1e-4)


def test_unknown_solver_lists_the_installed_ones():
    from gridv2g.errors import GridV2GError

    co = CoOptimization(one_period(ieee33(), vmin_pu=0.9), dpp=False)
    with pytest.raises(GridV2GError, match=r"solver 'NOSUCH' is not installed; installed: \["):
        co.solve("NOSUCH")
