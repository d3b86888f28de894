"""Result folders travel (issue 12, part 3): ``case.yaml`` with relative paths and its inputs
copied, ``to_dir`` and ``gridv2g run`` write the same folder, and ``gridv2g validate`` works on
a folder moved elsewhere (its replay equal to the one in place)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import gridv2g as g
from gridv2g.cli import app

DATA = Path(__file__).resolve().parent / "data"
CASES = Path(__file__).resolve().parent.parent / "cases"


def layout(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def ieee13_case(tmp_path) -> Path:
    """An IEEE 13 case in its own folder: the OpenDSS feeder (master + line codes) in a
    subfolder and the energy price from a CSV file."""
    folder = tmp_path / "study"
    shutil.copytree(DATA / "dss" / "ieee13", folder / "feeder")
    (folder / "prices").mkdir()
    hours = pd.date_range("2024-06-21T00:00", periods=24, freq="h")
    price = pd.DataFrame({"time": hours.strftime("%Y-%m-%dT%H:%M"), "price": 0.1})
    price.loc[17:20, "price"] = 0.3
    price.to_csv(folder / "prices" / "price.csv", index=False)
    raw = {
        "name": "ieee13_portable",
        "currency": "USD",
        "feeder": {"opendss": "feeder/IEEE13Nodeckt.dss"},
        "horizon": {"start": "2024-06-21T00:00", "periods": 24, "minutes": 60},
        "load": {"shape": "residential"},
        "prices": {"csv": "prices/price.csv", "column": "price"},
        "stations": [{"name": "lot652", "bus": "652", "s_kva": 100, "p_kw": {"constant": 20}}],
        "options": {"vmin_pu": 0.9, "vmax_pu": 1.1, "v_source_pu": 0.99},
        "objective": {"energy_cost": 1.0},
    }
    path = folder / "case.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_folder_is_self_contained_and_validates_after_a_move(ieee13_case, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(ieee13_case), "--out", str(out), "--opendss"])
    assert result.exit_code == 0, result.output
    files = layout(out)
    assert "inputs/prices/price.csv" in files
    assert "inputs/feeder/IEEE13Nodeckt.dss" in files and "inputs/feeder/IEEELineCodes.DSS" in files
    written = yaml.safe_load((out / "case.yaml").read_text())
    assert "base_dir" not in written
    assert written["feeder"]["opendss"] == "inputs/feeder/IEEE13Nodeckt.dss"
    assert written["prices"]["csv"] == "inputs/prices/price.csv"
    # the original study folder goes away; the result folder moves
    shutil.rmtree(ieee13_case.parent)
    moved = tmp_path / "elsewhere" / "moved"
    moved.parent.mkdir()
    shutil.move(str(out), moved)
    before = json.loads((moved / "opendss.json").read_text())
    check = CliRunner().invoke(app, ["validate", str(moved), "--opendss"])
    assert check.exit_code == 0, check.output
    after = json.loads((moved / "opendss.json").read_text())
    assert after["max_dv_pu"] == pytest.approx(before["max_dv_pu"], abs=1e-9)
    assert after["losses_opendss_kwh"] == pytest.approx(before["losses_opendss_kwh"], rel=1e-9)


def test_to_dir_and_run_write_the_same_folder(tmp_path):
    case = CASES / "ieee33_der.yaml"
    cli = tmp_path / "cli"
    result = CliRunner().invoke(app, ["run", str(case), "--out", str(cli)])
    assert result.exit_code == 0, result.output
    py = tmp_path / "python"
    solved = g.solve(g.load_case(case))
    solved.to_dir(py)
    g.validate(solved).to_dir(py)
    assert layout(cli) == layout(py)
    assert "case.yaml" in layout(py)
    # the Python folder validates too
    check = CliRunner().invoke(app, ["validate", str(py)])
    assert check.exit_code == 0, check.output
    summary = json.loads((py / "summary.json").read_text())
    assert summary["case"] == "ieee33_der" and summary["feeder"] == "ieee33"


def test_printed_summary_carries_units_and_currency(ieee13_case, tmp_path):
    result = CliRunner().invoke(app, ["run", str(ieee13_case), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert lines["losses_kwh"].endswith(" kWh")
    assert lines["vmin_pu"].endswith(" pu")
    assert lines["peak_kw"].endswith(" kW")
    assert lines["solve_s"].endswith(" s")


def test_currency_is_printed_with_money(tmp_path):
    text = (CASES / "lot20_seed001.yaml").read_text() + "currency: EUR\n"
    case = tmp_path / "lot.yaml"
    case.write_text(text)
    result = CliRunner().invoke(app, ["run", str(case), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    cost = next(line for line in result.output.splitlines() if line.split()[:1] == ["cost"])
    assert cost.endswith(" EUR")


def test_version_and_quiet_and_help_examples(ieee13_case, tmp_path):
    from importlib.metadata import version

    out = CliRunner().invoke(app, ["--version"])
    assert out.exit_code == 0 and out.output.strip() == f"gridv2g {version('gridv2g')}"
    verbs = ("run", "validate", "site", "batch", "hosting", "bench", "feeders", "powerflow")
    for verb in (*verbs, "schema"):
        help_text = CliRunner().invoke(app, [verb, "--help"]).output
        assert f"gridv2g {verb}" in help_text, verb
    # progress lines by default, none with -q, the library's details with -v
    args = ["run", str(ieee13_case), "--out", str(tmp_path / "o"), "--no-check"]
    default = CliRunner().invoke(app, args).output
    quiet = CliRunner().invoke(app, ["-q", *args]).output
    verbose = CliRunner().invoke(app, ["-v", *args]).output
    assert "solving 'ieee13_portable'" in default and "done in" in default
    assert "solving" not in quiet and "losses_kwh" in quiet
    assert "variables, solving with CLARABEL" in verbose
    assert "variables, solving with" not in default


def test_input_copy_leaves_out_the_result_folder_itself(ieee13_case):
    """A result written inside the study folder does not copy itself into its inputs."""
    out = ieee13_case.parent / "feeder" / "out"
    result = CliRunner().invoke(app, ["run", str(ieee13_case), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not any(p.startswith("inputs/feeder/out") for p in layout(out))


def test_run_exports_the_schedule_for_opendss_and_pandapower(tmp_path):
    out = tmp_path / "o"
    args = ["run", str(CASES / "ieee33_der.yaml"), "--out", str(out), "--no-check"]
    result = CliRunner().invoke(app, [*args, "--export", "opendss", "--export", "pandapower"])
    assert result.exit_code == 0, result.output
    assert "Set mode=daily" in (out / "opendss_daily" / "master_daily.dss").read_text()
    assert (out / "pandapower_timeseries" / "run_timeseries.py").is_file()
    bad = CliRunner().invoke(app, [*args, "--export", "excel"])
    assert bad.exit_code == 2 and "valid: ['opendss', 'pandapower']" in bad.output
    station = CliRunner().invoke(
        app,
        [
            "run",
            str(CASES / "lot20_seed001.yaml"),
            "--out",
            str(tmp_path / "s"),
            "--export",
            "opendss",
        ],
    )
    assert station.exit_code == 2 and "needs a grid case" in station.output
