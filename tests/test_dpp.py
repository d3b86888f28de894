"""Re-solve without rebuilding: Parameters (DPP) give the same answer as a fresh build."""

from __future__ import annotations

import dataclasses

import pytest

from gridv2g.bench import grid_case
from gridv2g.problems.co_optimize import CoOptimization


def energy_cost_case(feeder="ieee33", periods=24):
    data = grid_case(feeder, periods)
    return dataclasses.replace(data, objective={"energy_cost": 1.0, "losses": 0.05})


def test_problem_is_dpp():
    co = CoOptimization(energy_cost_case(), dpp=True)
    assert co.problem.is_dpp()
    names = {p.name() for p in co.problem.parameters()}
    assert {"load-profile", "source-price", "der-p_available", "der-rating"} <= names


def test_resolve_with_new_data_matches_a_fresh_build_and_skips_compilation():
    co = CoOptimization(energy_cost_case(), dpp=True)
    first = co.solve()
    program = co.problem._cache.param_prog  # the compiled parametric program
    assert program is not None

    base = energy_cost_case()
    new_prices = base.price_per_kwh[::-1].set_axis(base.price_per_kwh.index) * 1.3
    new_load = base.load_scale * 0.8
    new_avail = base.der.availability * 0.5
    co.update(price_per_kwh=new_prices, load_scale=new_load, availability=new_avail)
    again = co.solve()
    assert co.problem._cache.param_prog is program  # not recompiled

    fresh_data = dataclasses.replace(
        energy_cost_case(),
        price_per_kwh=new_prices,
        load_scale=new_load,
        der=dataclasses.replace(base.der, availability=new_avail),
    )
    fresh = CoOptimization(fresh_data, dpp=False).solve()
    assert again.objective == pytest.approx(fresh.objective, rel=1e-6)
    assert again.objective != pytest.approx(first.objective, rel=1e-3)
    energy = fresh.summary["substation_kwh"]
    assert again.summary["substation_kwh"] == pytest.approx(energy, rel=1e-6)


def test_update_rejects_unknown_fields():
    co = CoOptimization(energy_cost_case(periods=4), dpp=True)
    with pytest.raises(Exception, match="unknown field 'prices'"):
        co.update(prices=None)
