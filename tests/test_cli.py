"""The command line: `gridv2g feeders`, `gridv2g powerflow`."""

from __future__ import annotations

from typer.testing import CliRunner

from gridv2g.cli import app

runner = CliRunner()


def test_feeders_lists_the_shipped_feeders():
    result = runner.invoke(app, ["feeders"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines()[2:]}
    assert lines["ieee33"][1:3] == ["33", "32"]
    assert lines["ieee123"][1:3] == ["132", "126"]
    assert "3/2/1" in lines["ieee123"]
    assert "3715.0" in lines["ieee33"] and "2300.0" in lines["ieee33"]
    assert "3490.0" in lines["ieee123"] and "1920.0" in lines["ieee123"]


def test_powerflow_prints_balanced_and_opendss_figures():
    result = runner.invoke(app, ["powerflow", "ieee33"])
    assert result.exit_code == 0, result.output
    losses = next(line for line in result.output.splitlines() if line.startswith("losses_kw"))
    opendss, balanced = (float(v) for v in losses.split()[1:3])
    assert abs(balanced - 202.68) < 0.1 and abs(opendss - 202.68) < 0.1


def test_unknown_feeder_is_a_clear_error():
    result = runner.invoke(app, ["powerflow", "ieee999", "--no-opendss"])
    assert result.exit_code == 2
    assert "unknown feeder 'ieee999'" in result.output
    assert "ieee123" in result.output  # lists the valid names
