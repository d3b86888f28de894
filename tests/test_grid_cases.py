"""24 h and 96-period runs with PV and wind on IEEE 33 and IEEE 123, replayed in AC."""

from __future__ import annotations

import dataclasses

import pytest

from gridv2g.bench import grid_case
from gridv2g.problems.co_optimize import CoOptimization
from gridv2g.validation import validate


@pytest.fixture(
    scope="module", params=[("ieee33", 24), ("ieee33", 96), ("ieee123", 24), ("ieee123", 96)]
)
def solved(request):
    feeder, periods = request.param
    result = CoOptimization(grid_case(feeder, periods), dpp=False).solve()
    return feeder, periods, result, validate(result)


def test_ac_replay_agrees_in_every_period(solved):
    _, periods, result, report = solved
    assert len(report.periods) == periods
    assert report.ok, report.flagged
    assert report.summary["max_losses_error_percent"] < 0.1
    assert report.summary["max_dv_pu"] < 1e-3
    assert report.summary["max_relaxation_gap"] < 1e-5
    # the DER really are there and produce: no trivial case
    assert result.summary["der_kwh"] > 0.1 * result.summary["substation_kwh"]


def test_result_tables_are_consistent(solved):
    _, periods, result, _ = solved
    res_bus = result.res_bus
    assert res_bus.index.names == ["time", "bus"]
    assert res_bus.index.get_level_values("time").nunique() == periods
    # energy balance: substation = net demand + losses, every period
    demand = res_bus.p_kw.groupby("time").sum()
    losses = result.res_line.loss_kw.groupby("time").sum()
    shunt_and_rounding = (result.res_ext_grid.p_kw - demand - losses).abs().max()
    assert shunt_and_rounding < 1e-3
    # DER within availability, curtailment not allowed in these cases
    der = result.res_der
    assert (der.p_kw <= der.p_available_kw + 1e-6).all()
    assert der.curtailed_kw.max() < 1e-3
    # inverter capability p^2 + q^2 <= S^2
    units = result.problem.data.der.units
    s_kva = units.s_kva.reindex(der.index.get_level_values("der")).to_numpy()
    assert ((der.p_kw**2 + der.q_kvar**2) <= s_kva**2 * (1 + 1e-6) + 1e-6).all()


@pytest.mark.parametrize("feeder", ["ieee33", "ieee123"])
def test_reactive_dispatch_lowers_losses(feeder):
    """Reactive dispatch adds freedom to a losses objective: losses can only go down."""
    on = CoOptimization(grid_case(feeder, 24), dpp=False).solve()
    data = grid_case(feeder, 24)
    data = dataclasses.replace(data, reactive={"pv": False, "wind": False, "station": False})
    off = CoOptimization(data, dpp=False).solve()
    assert off.res_der.q_kvar.abs().max() < 1e-6
    assert on.res_der.q_kvar.abs().max() > 1.0
    assert on.summary["losses_kwh"] < off.summary["losses_kwh"] * (1 - 1e-3)
