"""Issue 12: every standard figure of every non-grid result kind is drawn to one standard
(a title, x and y labels, units in brackets on y, a legend where lines are several), and
where it draws numbers they are the result's (the station power is res_station's sum, the
perfect-foresight trace the stored one, the stochastic bars RP, EEV and WS)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh

import gridv2g as g
from gridv2g.batch import SweepSpec, write_report
from gridv2g.plots.batch import figure_set as batch_figures
from gridv2g.plots.siting import per_site_figures, shared_figures
from gridv2g.siting import SitingResult
from gridv2g.siting.swarm import SharedSitingResult

CASES = Path(__file__).resolve().parent.parent / "cases"
UNIT = re.compile(r"\[[^\]]+\]")


def _suptitle(fig) -> str:
    sup = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    return sup or ""


def _is_colorbar(ax) -> bool:
    return ax.get_label() == "<colorbar>"


def _is_map_or_heat(ax) -> bool:
    no_ticks = not len(ax.get_xticks()) and not len(ax.get_yticks())
    return no_ticks or any(isinstance(c, QuadMesh) for c in ax.collections)


def _categorical_y(ax) -> bool:
    """Horizontal bars: y holds named categories, the value (and its unit) is on x."""
    texts = [t.get_text().replace("\u2212", "-") for t in ax.get_yticklabels()]

    def number(text: str) -> bool:
        try:
            float(text)
        except ValueError:
            return False
        return True

    return any(t and not number(t) for t in texts)


def _twins(ax, fig) -> list:
    """Axes drawn over ``ax`` (twinx): same position, sharing its x axis."""
    siblings = ax.get_shared_x_axes().get_siblings(ax)
    box = ax.get_position().bounds
    return [o for o in fig.axes if o is not ax and o in siblings and o.get_position().bounds == box]


def assert_standard(fig, name: str) -> None:
    """The figure standard of issue 12 (module docstring), with what failed named. The unit
    is on the value axis: y, or x for horizontal bars; colour bars carry theirs."""
    sup = _suptitle(fig)
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        where = f"{name}, axes {k}"
        if _is_colorbar(ax):
            label = ax.get_ylabel() or ax.get_xlabel()
            assert UNIT.search(label), f"{where}: colour bar label '{label}' has no [unit]"
            continue
        twins = _twins(ax, fig)
        assert ax.get_title() or sup or any(t.get_title() for t in twins), f"{where}: no title"
        shared = ax.get_shared_x_axes().get_siblings(ax)
        if not _is_map_or_heat(ax):
            assert ax.get_xlabel() or any(o.get_xlabel() for o in shared), f"{where}: no x label"
            assert ax.get_ylabel(), f"{where}: no y label"
            value = ax.get_xlabel() if _categorical_y(ax) else ax.get_ylabel()
            assert UNIT.search(value), f"{where}: value axis label '{value}' has no [unit]"
        lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        if len(lines) > 1:
            legends = [ax.get_legend(), *(t.get_legend() for t in twins)]
            assert any(lg is not None for lg in legends), f"{where}: several lines, no legend"


def assert_set_standard(figures: dict) -> None:
    assert figures, "no figure"
    for stem, fig in figures.items():
        assert_standard(fig, stem)


def _line(fig, gid: str):
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_gid() == gid:
                return line
    raise AssertionError(f"no line '{gid}'")


# ---------------------------------------------------------------------------- station
@pytest.fixture(scope="module")
def station():
    return g.solve(g.load_case(CASES / "lot20_seed001_v2g.yaml"))


def test_station_figures_meet_the_standard_and_draw_the_result(station):
    figures = station.figure_set()
    assert set(figures) == {"station_power", "ev_energy"}
    assert_set_standard(figures)
    fig = figures["station_power"]
    drawn = _line(fig, "plan").get_ydata()
    total = station.res_station.p_kw.groupby("time").sum().to_numpy()
    np.testing.assert_allclose(drawn, total)
    base = station.baseline["res_station"].p_kw.groupby("time").sum().to_numpy()
    np.testing.assert_allclose(_line(fig, "uncontrolled").get_ydata(), base)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    # the price on the twin axis is in the one legend, the limits are drawn
    assert "buy price (right axis)" in labels
    assert "import limit" in labels and "export limit (below zero)" in labels
    limit = next(ln for ln in ax.get_lines() if ln.get_label() == "import limit")
    np.testing.assert_allclose(limit.get_ydata(), 100.0)
    assert "lot20_seed001_v2g" in ax.get_title()
    assert fig.axes[1].get_ylabel() == "buy price [currency units/kWh]"


def test_mpc_figure_labels_the_rolling_horizon_and_draws_perfect_foresight(tmp_path):
    text = (CASES / "lot20_seed001.yaml").read_text() + "mpc: {window: 12}\n"
    path = tmp_path / "lot20_mpc.yaml"
    path.write_text(text)
    result = g.solve(g.load_case(path))
    assert result.plan == "rolling horizon (MPC)"
    figures = result.figure_set()
    assert_set_standard(figures)
    fig = figures["station_power"]
    assert _line(fig, "plan").get_label() == "rolling horizon (MPC) plan"
    pf = result.res_station_perfect_foresight.p_kw.groupby("time").sum().to_numpy()
    np.testing.assert_allclose(_line(fig, "perfect_foresight").get_ydata(), pf)
    # the stored trace is the perfect-foresight optimum whose cost the summary holds
    assert result.summary["perfect_foresight_cost"] < result.summary["cost"] + 1e-6
    out = result.to_dir(tmp_path / "out")
    assert (out / "res_station_perfect_foresight.parquet").is_file()
    assert (out / "ev_energy.png").is_file() and (out / "report.html").is_file()


# ---------------------------------------------------------------------------- stochastic
def test_stochastic_figures_meet_the_standard_and_draw_the_measures(tmp_path):
    result = g.solve(g.load_case(CASES / "station_stochastic_seed000.yaml"))
    figures = result.figure_set()
    assert set(figures) == {"stochastic_power", "stochastic_measures"}
    assert_set_standard(figures)
    bars = figures["stochastic_measures"].axes[0].patches
    heights = [b.get_height() for b in bars]
    s = result.summary
    np.testing.assert_allclose(heights, [s["rp"], s["eev"], s["ws"]])
    # the second stage starts from the first stage's storage energy
    power = result.res_power
    assert power.index.get_level_values("scenario").nunique() == s["scenarios"]
    table = result.report_tables()["Stochastic measures (expected profit)"]
    assert table.loc["VSS", "value"] == pytest.approx(s["vss"])
    out = result.to_dir(tmp_path)
    assert (out / "stochastic_measures.png").is_file() and (out / "report.html").is_file()
    assert "Stochastic measures" in (out / "report.html").read_text()


# ---------------------------------------------------------------------------- V2A
def test_v2a_figure_meets_the_standard():
    result = g.solve(g.load_case(CASES / "v2a_household_seed002.yaml"))
    figures = result.figure_set()
    assert_set_standard(figures)
    assert "v2a_household_seed002" in _suptitle(figures["v2a_schedule"])


# ---------------------------------------------------------------------------- siting
def test_per_site_siting_figures_meet_the_standard(ieee33):
    evaluations = pd.DataFrame(
        {
            "lot18_bus": ["18", "30", "30", "6"],
            "lot18_s_kva": [250.0, 250.0, 20.0, 150.0],
            "operating": [2735.0, 2728.6, 1e12, 2740.0],
            "investment": [12.5, 12.5, 1.0, 7.5],
            "feasible": [True, True, False, True],
        }
    )
    evaluations["total"] = evaluations.operating + evaluations.investment
    result = SitingResult(
        best=pd.DataFrame({"bus": ["30"], "s_kva": [250.0]}, index=pd.Index(["lot18"])),
        cost={"total": 2741.1, "operating": 2728.6, "investment": 12.5, "feasible": True},
        evaluations=evaluations,
        history=pd.Series([2747.5, 2741.1, 2741.1]),
    )
    figures = per_site_figures(result, ieee33, "EUR", "siting_test")
    assert set(figures) == {"siting_convergence", "siting_map", "siting_costs"}
    assert_set_standard(figures)
    line = figures["siting_convergence"].axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), [2747.5, 2741.1, 2741.1])
    assert "[EUR]" in figures["siting_convergence"].axes[0].get_ylabel()
    # the infeasible decision is not among the costs drawn
    assert len(figures["siting_costs"].axes[0].get_yticks()) == 3


def test_shared_siting_figures_meet_the_standard(ieee33):
    lots = pd.DataFrame({"bus": ["18", "30", "25"]}, index=pd.Index(["a", "b", "c"], name="lot"))
    best = pd.DataFrame({"bus": ["18", "30"], "capacity_kw": [300.0, 450.0]}, index=["a", "b"])
    verified = pd.DataFrame(
        {
            "decision": ["(('a', 1, 1), ('b', 2, 2))", "(('a', 2, 2), ('c', 1, 1))"],
            "cost": [100.0, 104.0],
            "energy_cost": [90.0, 94.0],
            "station_cost": [10.0, 10.0],
            "feasible": [True, True],
        }
    )
    result = SharedSitingResult(
        best=best,
        best_decision=(("a", 1, 1), ("b", 2, 2)),
        screening=pd.DataFrame(),
        verified=verified,
        history=pd.Series([110.0, 101.0, 99.5]),
        figures={"milp_cost": 99.0},
    )
    figures = shared_figures(result, ieee33, lots, "CNY", "shared_test")
    assert_set_standard(figures)
    assert "MILP reference 99" in figures["siting_costs"].axes[0].get_title()


# ---------------------------------------------------------------------------- batch
def _batch_table() -> pd.DataFrame:
    rows = []
    for n in (10, 20, 30):
        for seed in (1, 2):
            rows.append(
                {
                    "fleet.sessions.n": n,
                    "fleet.sessions.seed": seed,
                    "status": "ok" if (n, seed) != (30, 2) else "error",
                    "error": None if (n, seed) != (30, 2) else "InfeasibleError: too many",
                    "losses_kwh": 1000.0 + n + seed,
                    "vmin_pu": 0.95 - n / 1000,
                    "term_energy_cost": 2700.0 + 2 * n,
                    "seconds": 1.0,
                }
            )
    table = pd.DataFrame(rows)
    table.index = [f"n={r['fleet.sessions.n']},seed={r['fleet.sessions.seed']}" for r in rows]
    table.loc[table.status != "ok", ["losses_kwh", "vmin_pu", "term_energy_cost"]] = np.nan
    return table


def test_batch_figures_meet_the_standard_and_list_failures(tmp_path):
    table = _batch_table()
    varied = ["fleet.sessions.n", "fleet.sessions.seed"]
    figures = batch_figures(table, varied, "EUR", "sweep_test")
    assert_set_standard(figures)
    ax = figures["batch_sweep"].axes[0]
    assert ax.get_ylabel() == "term_energy_cost [EUR]"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "failed (1)" in labels and "fleet.sessions.seed = 1" in labels
    seed1 = next(ln for ln in ax.get_lines() if ln.get_label() == "fleet.sessions.seed = 1")
    np.testing.assert_allclose(seed1.get_xdata(), [10, 20, 30])
    np.testing.assert_allclose(seed1.get_ydata(), [2720.0, 2740.0, 2760.0])
    spec = SweepSpec(name="sweep_test", base="b.yaml", vary={v: [1] for v in varied})
    path = write_report(tmp_path, table, spec, "EUR")
    text = path.read_text()
    assert "1 of 6 scenarios failed" in text and "InfeasibleError: too many" in text
    assert (tmp_path / "batch_sweep.png").is_file()
