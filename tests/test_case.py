"""Case files: schema, errors that name the file, line and field, the shipped cases, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import gridv2g as g
from gridv2g.case import CaseError, grid_data
from gridv2g.cli import app

CASES = Path(__file__).resolve().parent.parent / "cases"

MINIMAL = """\
name: tiny
feeder: ieee33
horizon: {start: "2024-01-01T00:00", periods: 4, minutes: 60}
load: {constant: 0.5}
"""


def write(tmp_path, text, name="case.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["ieee33_der", "ieee123_der"])
def test_shipped_grid_cases_load(name):
    case = g.load_case(CASES / f"{name}.yaml")
    data = grid_data(case)
    assert data.horizon.periods == 96 and data.horizon.minutes == 15
    assert sorted(data.der.units.kind) == ["pv", "pv", "wind", "wind"]
    assert data.objective == {"losses": 1.0}
    assert all(data.reactive.values())
    assert data.der.availability.shape == (96, 4)


def test_minimal_case_solves(tmp_path):
    result = g.solve(g.load_case(write(tmp_path, MINIMAL)))
    assert result.status == "optimal"
    assert result.res_ext_grid.shape[0] == 4


def test_unknown_top_level_field_lists_valid_fields_and_line(tmp_path):
    path = write(tmp_path, MINIMAL + "optionz: {vmin_pu: 0.9}\n")
    with pytest.raises(CaseError) as err:
        g.load_case(path)
    msg = str(err.value)
    assert "case.yaml:5" in msg and "unknown field 'optionz'" in msg
    assert "'options'" in msg and "'der'" in msg  # the valid ones are listed


def test_unknown_nested_field_names_its_path_and_line(tmp_path):
    text = MINIMAL + (
        "der:\n"
        "  - name: pv1\n"
        "    kind: pv\n"
        "    bus: '18'\n"
        "    s_kva: 100\n"
        "    sizze: 3\n"
        "    availability: {shape: clear_sky_pv}\n"
    )
    with pytest.raises(CaseError) as err:
        g.load_case(write(tmp_path, text))
    msg = str(err.value)
    assert "case.yaml:10" in msg and "der.0.sizze" in msg and "'s_kva'" in msg


def test_bad_value_names_field_and_line(tmp_path):
    text = MINIMAL.replace("periods: 4", "periods: 0")
    with pytest.raises(CaseError, match=r"case.yaml:3: horizon.periods: Input should be"):
        g.load_case(write(tmp_path, text))


def test_der_at_unknown_bus_is_named_before_any_solve(tmp_path):
    text = MINIMAL + (
        "der:\n  - {name: pv1, kind: pv, bus: '99', s_kva: 100, availability: {constant: 1}}\n"
    )
    case = g.load_case(write(tmp_path, text))
    with pytest.raises(CaseError, match=r"der\[0\] 'pv1' is at bus '99'"):
        g.solve(case)


def test_yaml_is_loaded_safely(tmp_path):
    text = MINIMAL + "description: !!python/object/apply:os.system ['echo unsafe']\n"
    with pytest.raises(CaseError, match="not valid YAML"):
        g.load_case(write(tmp_path, text))


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(CaseError, match="case file not found"):
        g.load_case(tmp_path / "nope.yaml")
    with pytest.raises(CaseError, match="YAML mapping"):
        g.load_case(write(tmp_path, "- just\n- a list\n"))


def test_profile_from_csv_relative_to_the_case_file(tmp_path):
    (tmp_path / "data").mkdir()
    rows = "\n".join(f"2024-01-01T{h:02d}:00,{0.4 + 0.1 * h}" for h in range(4))
    (tmp_path / "data" / "load.csv").write_text("time,scale\n" + rows + "\n")
    text = MINIMAL.replace("load: {constant: 0.5}", "load: {csv: data/load.csv, column: scale}")
    data = grid_data(g.load_case(write(tmp_path, text)))
    assert data.load_scale["*"].tolist() == pytest.approx([0.4, 0.5, 0.6, 0.7])


def test_schema_command_prints_json_schema():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    kinds = {ref["$ref"].rsplit("/", 1)[-1] for ref in schema["anyOf"]}
    assert kinds == {"Case", "StationCase", "StochasticCase", "V2ACase"}
    grid, station = schema["$defs"]["Case"], schema["$defs"]["StationCase"]
    assert {"feeder", "horizon", "der", "options", "objective"} <= set(grid["properties"])
    assert {"sessions", "stations", "prices", "objective"} <= set(station["properties"])
    assert grid["additionalProperties"] is False and station["additionalProperties"] is False
    # every field documents itself: units live in the descriptions
    assert "kVA" in json.dumps(schema["$defs"]["DERSpec"])
    undocumented = [
        f"{model}.{field}"
        for model, spec in schema["$defs"].items()
        for field, prop in spec.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert undocumented == []


def test_run_command_writes_tables_and_validates(tmp_path):
    case = write(tmp_path, MINIMAL)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(case), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "flagged periods 0" in result.output
    for name in ("res_bus.parquet", "res_line.parquet", "summary.json", "validation.json"):
        assert (out / name).is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["periods"] == 4


def test_run_command_reports_a_bad_case_cleanly(tmp_path):
    case = write(tmp_path, MINIMAL + "oops: 1\n")
    result = CliRunner().invoke(app, ["run", str(case)])
    assert result.exit_code == 1
    assert "unknown field 'oops'" in result.output


def test_per_bus_load_profiles_from_csv(tmp_path):
    """A load CSV without `column` gives each named bus its own profile; others stay nominal."""
    rows = "\n".join(f"2024-01-01T{h:02d}:00,{0.5 + 0.1 * h},{1.0 - 0.1 * h}" for h in range(4))
    (tmp_path / "load.csv").write_text("time,18,33\n" + rows + "\n")
    text = MINIMAL.replace("load: {constant: 0.5}", "load: {csv: load.csv}")
    text += "options: {vmin_pu: 0.9}\n"  # the other buses stay at full load
    result = g.solve(g.load_case(write(tmp_path, text)))
    p = result.res_bus.p_kw.unstack("bus")
    assert p["18"].tolist() == pytest.approx([90 * (0.5 + 0.1 * h) for h in range(4)])
    assert p["33"].tolist() == pytest.approx([60 * (1.0 - 0.1 * h) for h in range(4)])
    assert p["2"].tolist() == pytest.approx([100.0] * 4)


@pytest.mark.parametrize("fmt", [[], ["--csv"]])
def test_validate_command_replays_a_written_result(tmp_path, fmt):
    case = write(tmp_path, MINIMAL)
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(case), "--out", str(out), "--no-check", *fmt])
    assert result.exit_code == 0, result.output
    assert (out / "case.yaml").is_file() and not (out / "validation.json").exists()
    checked = runner.invoke(app, ["validate", str(out)])
    assert checked.exit_code == 0, checked.output
    assert "flagged periods 0" in checked.output
    report = json.loads((out / "validation.json").read_text())
    assert report["periods"] == 4 and report["max_dv_pu"] < 1e-3


def test_validate_command_refuses_a_station_result(tmp_path):
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(CASES / "lot20_seed001.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    checked = runner.invoke(app, ["validate", str(out)])
    assert checked.exit_code == 2 and "no feeder to replay" in checked.output
