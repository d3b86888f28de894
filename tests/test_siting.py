"""Station siting: the particle swarm against the exact enumeration, and its inputs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import gridv2g as g
from gridv2g.case import grid_data
from gridv2g.errors import GridV2GError
from gridv2g.siting import (
    INFEASIBLE_COST,
    SitingProblem,
    SitingSpec,
    enumerate_sites,
    pso,
)

CASE = Path(__file__).resolve().parent.parent / "cases" / "ieee33_ev_siting.yaml"


def test_pso_finds_the_enumerated_optimum():
    case = g.load_case(CASE)
    s = case.siting
    problem = SitingProblem(
        grid_data(case), SitingSpec(s.candidates, s.sizes_kva, s.cost_per_kva_day)
    )
    swarm = pso(problem, s.particles, s.iterations, s.seed, progress=False)
    solved_by_swarm = len(problem.cache)
    exact = enumerate_sites(problem)  # the same cache: every combination now solved
    assert len(exact.evaluations) == 16
    assert swarm.best.equals(exact.best)
    assert swarm.cost["total"] == pytest.approx(exact.cost["total"])
    assert solved_by_swarm < 16  # the swarm did not need every combination
    assert swarm.history.is_monotonic_decreasing
    # a 20 kVA converter cannot carry the lot: recorded as infeasible, with the reason
    small = exact.evaluations[exact.evaluations.lot18_s_kva == 20.0]
    assert (~small.feasible).all() and (small.operating == INFEASIBLE_COST).all()
    assert small.why_infeasible.str.contains("converter").all()
    # investment is priced per kVA: the optimum balances it against operating cost
    assert exact.cost["investment"] == pytest.approx(0.05 * exact.best.s_kva.sum())


def test_siting_inputs_are_checked():
    data = grid_data(g.load_case(CASE))
    with pytest.raises(GridV2GError, match="unknown buses \\['99'\\]"):
        SitingProblem(data, SitingSpec({"lot18": ["18", "99"]}, {"lot18": [100.0]}))
    with pytest.raises(GridV2GError, match="missing \\['lot18'\\], unknown \\['lot9'\\]"):
        SitingProblem(data, SitingSpec({"lot9": ["18"]}, {"lot18": [100.0]}))
    with pytest.raises(GridV2GError, match="needs a grid case with a fleet"):
        SitingProblem(dataclasses.replace(data, fleet=None), SitingSpec({}, {}))


def test_site_command(tmp_path):
    from typer.testing import CliRunner

    from gridv2g.cli import app

    text = CASE.read_text().replace('["18", "6", "25", "30"]', '["18", "30"]')
    text = text.replace("[20, 150, 250, 350]", "[150, 250]").replace(
        "method: pso", "method: enumerate"
    )
    path = tmp_path / "small.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["site", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "lot18        bus     30  250 kVA" in result.output
    assert "4 distinct decisions solved" in result.output
    for name in ("best.csv", "evaluations.csv", "history.csv"):
        assert (out / name).is_file()
