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


def test_power_factor_limit_holds():
    data = grid_case("ieee33", 24)
    data.der.units["pf_min"] = 0.95
    result = CoOptimization(data, dpp=False).solve()
    der = result.res_der
    k = (1 - 0.95**2) ** 0.5 / 0.95  # tan(acos(0.95))
    assert (der.q_kvar.abs() <= k * der.p_kw + 1e-4).all()
    assert (der.q_kvar.abs() > 0.5 * k * der.p_kw).any()  # the limit binds somewhere


def test_voltage_deviation_objective_flattens_voltages():
    losses = CoOptimization(grid_case("ieee33", 24), dpp=False).solve()
    data = dataclasses.replace(grid_case("ieee33", 24), objective={"voltage_deviation": 1.0})
    flat = CoOptimization(data, dpp=False).solve()
    assert flat.summary["voltage_deviation"] < 0.9 * losses.summary["voltage_deviation"]
    assert flat.summary["losses_kwh"] >= losses.summary["losses_kwh"] - 1e-6


def test_curtailment_cost_trades_against_losses():
    """With curtailment allowed and free, a losses objective curtails; priced, it curtails less."""
    free = dataclasses.replace(grid_case("ieee33", 24), curtailment=True)
    priced = dataclasses.replace(
        grid_case("ieee33", 24),
        curtailment=True,
        curtailment_cost_per_kwh=1.0,
        objective={"losses": 1.0, "curtailment": 1.0},
    )
    a = CoOptimization(free, dpp=False).solve().summary["curtailed_kwh"]
    b = CoOptimization(priced, dpp=False).solve().summary["curtailed_kwh"]
    assert a > 1.0 and b < 0.5 * a


def test_replay_with_and_without_numba_agree():
    """The replay picks pandapower's numba or plain-Python path by size: both give one answer."""
    result = CoOptimization(grid_case("ieee33", 24), dpp=False).solve()
    plain = validate(result, numba=False)
    fast = validate(result, numba=True)
    assert plain.summary["replay_numba"] is False
    assert fast.summary["replay_numba"] is True
    diff = (plain.res_bus_ac.vm_pu - fast.res_bus_ac.vm_pu).abs().max()
    assert diff < 1e-9
    assert (plain.periods.losses_ac_kw - fast.periods.losses_ac_kw).abs().max() < 1e-6
