"""The pandapower time-series package of a schedule reproduces gridv2g's own AC replay."""

from __future__ import annotations

import ast
import dataclasses
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gridv2g as g
from gridv2g.validation import pandapower_package_script
from gridv2g.validation.pandapower_export import (
    export_pandapower_timeseries,
    run_pandapower_package,
)

CASES = Path(__file__).resolve().parent.parent / "cases"
TOL_PU = 1e-6


BOTH = ["ieee33_der", "ieee33_ev"]


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """Each case solved, replayed and exported once per module (on first use)."""
    done = {}

    def get(name: str):
        if name not in done:
            result = g.solve(g.load_case(CASES / f"{name}.yaml"))
            replay = g.validate(result).res_bus_ac.vm_pu.unstack("bus")
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # every bus's demand covered: no residual loads
                folder = export_pandapower_timeseries(result, tmp_path_factory.mktemp(name))
            done[name] = (name, result, replay, folder)
        return done[name]

    return get


@pytest.fixture
def exported(packages, request):
    return packages(request.param)


def _max_dv(vm: pd.DataFrame, replay: pd.DataFrame) -> float:
    assert list(vm.index) == list(replay.index)
    assert sorted(vm.columns) == sorted(replay.columns)
    return float(np.abs(vm[replay.columns].to_numpy() - replay.to_numpy()).max())


@pytest.mark.parametrize("exported", BOTH, indirect=True)
def test_package_is_self_contained(exported):
    name, result, _, folder = exported
    files = {p.name for p in folder.iterdir()}
    assert {"net.json", "profiles.csv", "controls.csv", "run_timeseries.py"} <= files
    script = (folder / "run_timeseries.py").read_text()
    assert script == Path(pandapower_package_script.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"__future__", "sys", "pathlib", "pandas", "pandapower"}
    profiles = pd.read_csv(folder / "profiles.csv", float_precision="round_trip")
    controls = pd.read_csv(folder / "controls.csv")
    assert len(profiles) == 96
    assert list(profiles.columns[1:]) == list(controls.column)
    assert not controls.name.str.startswith("residual_").any()
    # every DER unit is an sgen, every station slot (the EV lot's too) a load
    names = set(controls.name)
    assert {f"der_{u}" for u in result.data.der.units.index} <= names
    if name == "ieee33_ev":
        assert "station_lot18" in names
        station = profiles.station_lot18_p_mw.to_numpy()
        slot = result.res_station.p_kw.xs("lot18", level="station").to_numpy() / 1000.0
        assert np.array_equal(station, slot)  # CSV round trip is exact
        assert station.min() < 0 < station.max()  # V2G: the lot exports and imports


@pytest.mark.parametrize("exported", BOTH, indirect=True)
def test_gridv2g_run_of_the_package_matches_the_replay(exported):
    _, _, replay, folder = exported
    vm = run_pandapower_package(folder)
    assert _max_dv(vm, replay) < TOL_PU


@pytest.mark.parametrize("exported", ["ieee33_ev"], indirect=True)
def test_the_script_alone_matches_the_replay(exported):
    """``python run_timeseries.py`` in the folder, pandapower alone (a fresh interpreter costs
    ~10 s: the fleet case only, whose package has every kind of element; the same script
    runs the DER case in-process above)."""
    _, _, replay, folder = exported
    out = subprocess.run(
        [sys.executable, "run_timeseries.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    vm = pd.read_csv(folder / "res_bus_vm_pu.csv", index_col="time", parse_dates=True)
    vm.columns = vm.columns.astype(str)
    assert _max_dv(vm, replay) < TOL_PU


@pytest.mark.parametrize("exported", BOTH, indirect=True)
def test_a_profile_off_by_one_period_breaks_the_agreement(exported, tmp_path):
    """The comparison can fail: one load's profile shifted by one period is seen."""
    _, _, replay, folder = exported
    broken = shutil.copytree(folder, tmp_path / "broken")
    profiles = pd.read_csv(broken / "profiles.csv")
    profiles["load_18_p_mw"] = np.roll(profiles["load_18_p_mw"].to_numpy(), 1)
    profiles.to_csv(broken / "profiles.csv", index=False)
    assert _max_dv(run_pandapower_package(broken), replay) > 1e-5


@pytest.mark.parametrize("exported", ["ieee33_der"], indirect=True)
def test_demand_the_devices_miss_becomes_a_residual_load(exported, tmp_path):
    _, result, _, _ = exported
    res_bus = result.res_bus.copy()
    res_bus.loc[(slice(None), "7"), "p_kw"] += 10.0
    odd = dataclasses.replace(result, res_bus=res_bus)
    with pytest.warns(g.GridV2GWarning, match="residual"):
        folder = export_pandapower_timeseries(odd, tmp_path / "odd")
    profiles = pd.read_csv(folder / "profiles.csv", float_precision="round_trip")
    assert profiles.residual_7_p_mw.to_numpy() == pytest.approx(0.01)
    assert profiles.residual_7_q_mvar.abs().max() < 1e-9
