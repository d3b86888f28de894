"""``gridv2g run --compare``: the plan against the station-first and uncontrolled plans, with
the table printed with units, compare_plans.csv, figures and report.html; a plan that cannot
be compared as such says why, naming the cause."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ieee13_ev_case
from typer.testing import CliRunner

from gridv2g.cli import app

CASES = Path(__file__).resolve().parent.parent / "cases"


def run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["-q", "run", *map(str, args)])
    return result.exit_code, result.output


def case_file(tmp_path, name: str, edit) -> Path:
    """A shipped case, edited by ``edit(raw)``, written in ``tmp_path``."""
    raw = yaml.safe_load((CASES / f"{name}.yaml").read_text())
    edit(raw)
    path = tmp_path / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_compare_on_the_ev_case_writes_the_plans_and_the_report(tmp_path):
    out = tmp_path / "out"
    code, output = run(CASES / "ieee33_ev.yaml", "--out", out, "--compare")
    assert code == 0, output
    table = pd.read_csv(out / "compare_plans.csv", index_col="plan")
    assert list(table.index) == ["joint", "sequential", "uncontrolled"]
    summary = json.loads((out / "summary.json").read_text())
    # the joint row is the run's own plan
    assert table.loc["joint", "objective"] == pytest.approx(summary["objective"], rel=1e-9)
    assert table.loc["joint", "losses_kwh"] == pytest.approx(summary["losses_kwh"], rel=1e-9)
    assert table.loc["joint", "objective"] <= table.loc["sequential", "objective"] + 1e-6
    assert table.loc["uncontrolled", "vmin_pu"] < table.loc["joint", "vmin_pu"]
    # printed with units
    assert "losses_kwh [kWh]" in output and "objective [currency units]" in output
    assert "uncontrolled: station lot18 imports 290.3 kW" in output  # its import limit: 250
    for png in ("compare_plans.png", "compare_plans_summary.png", "substation_voltage.png"):
        assert (out / png).is_file()
    report = (out / "report.html").read_text()
    # both the replay and the comparison, in one report
    assert "AC replay in pandapower" in report and "Plans compared" in report
    assert report.count("<img") >= 4


def test_an_uncontrolled_peak_above_the_converter_is_named(tmp_path):
    def shrink(raw):
        raw["name"] = "ieee33_ev_small_converter"
        raw["stations"][0]["s_kva"] = 260

    path = case_file(tmp_path, "ieee33_ev", shrink)
    out = tmp_path / "out"
    code, output = run(path, "--out", out, "--compare", "--no-check")
    assert code == 0, output
    text = " ".join(output.split())
    assert (
        "uncontrolled: peak 290.3 kW at 2024-06-21 20:00 exceeds station lot18's converter "
        "rating 260 kVA (3 period(s) over)" in text
    )
    assert "the loads cannot be served" not in text
    table = pd.read_csv(out / "compare_plans.csv", index_col="plan")
    assert table.loc["uncontrolled", "converter_overload_kw"] == pytest.approx(30.3, abs=0.05)
    assert table.loc["joint", "converter_overload_kw"] == 0


def test_a_case_without_evs_says_why_nothing_is_compared(tmp_path):
    def short(raw):
        raw["name"] = "ieee33_der_short"
        raw["horizon"]["periods"] = 4

    path = case_file(tmp_path, "ieee33_der", short)
    code, output = run(path, "--out", tmp_path / "out", "--compare", "--no-check")
    assert code == 0, output
    assert "Nothing compared: the case has no EV fleet" in " ".join(output.split())
    assert not (tmp_path / "out" / "compare_plans.csv").exists()
    assert "Plans compared" in (tmp_path / "out" / "report.html").read_text()


def test_station_case_compares_its_baseline(tmp_path):
    out = tmp_path / "out"
    code, output = run(CASES / "lot20_seed001.yaml", "--out", out, "--compare")
    assert code == 0, output
    table = pd.read_csv(out / "compare_plans.csv", index_col="plan")
    summary = json.loads((out / "summary.json").read_text())
    assert table.loc["optimized", "cost"] == pytest.approx(summary["cost"])
    assert table.loc["uncontrolled", "cost"] == pytest.approx(summary["uncontrolled_cost"])
    assert "station-first plan is the optimized station plan itself" in " ".join(output.split())
    assert "Plans compared" in (out / "report.html").read_text()


def test_unbalanced_case_compares_uncontrolled_in_opendss(tmp_path):
    raw = ieee13_ev_case("ieee13_ev_compare", n_ev=10, periods=24)
    raw["formulation"] = "unbalanced"
    path = tmp_path / "ieee13_ev_compare.yaml"
    base = Path(raw.pop("base_dir"))
    for f in base.iterdir():  # a case reads files from its own folder
        (tmp_path / f.name).write_bytes(f.read_bytes())
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    code, output = run(path, "--out", out, "--compare")
    assert code == 0, output
    table = pd.read_csv(out / "compare_plans.csv", index_col="plan")
    assert list(table.index) == ["uncontrolled", "optimized"]
    assert table.loc["optimized", "voltage_violations"] == 0
    assert "station-first (sequential) plan is not compared here" in " ".join(output.split())
    report = (out / "report.html").read_text()
    assert "AC replay in OpenDSS" in report and "Plans compared" in report
