"""The optimized schedule exported as OpenDSS LoadShapes and run in OpenDSS's own daily mode
reproduces the period-by-period OpenDSS replay (gridv2g.validation.opendss_daily)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ieee13_ev_case

import gridv2g as g
from gridv2g.case import case_from_dict, grid_data, load_case
from gridv2g.errors import OpenDSSError
from gridv2g.feeders.opendss_engine import compile_model, run_command
from gridv2g.feeders.opendss_engine import dss as _dss
from gridv2g.validation.opendss_daily import (
    _Namer,
    _plain,
    export_opendss_daily,
    write_opendss_daily,
)

IEEE13 = Path(__file__).resolve().parent / "data" / "dss" / "ieee13"
PERIODS = 24


@pytest.fixture(scope="module")
def solved():
    """IEEE 13 (unbalanced, fixed-tap regulators, ZIP and delta loads), 8 V2G EVs on the
    single-phase bus 652 and a PV unit at 675, both with reactive power, 24 x 60 min."""
    raw = ieee13_ev_case("ieee13_daily", n_ev=8, periods=PERIODS)
    raw["fleet"].pop("degradation_per_kwh")
    raw["der"] = [
        {
            "name": "pv675",
            "kind": "pv",
            "bus": "675",
            "s_kva": 300,
            "availability": {"shape": "clear_sky_pv"},
        }
    ]
    raw["options"]["reactive"] = {"pv": True, "station": True}
    result = g.solve(case_from_dict(raw, "ieee13", root=IEEE13))
    replay = g.validate(result, engine="opendss")
    return result, replay


def _daily_run(master: Path) -> tuple[np.ndarray, pd.Series, dict]:
    """Compile the exported master (its daily solve runs and fills the monitors), read the
    monitors, then step the daily mode one period at a time reading every node's |V| [pu]
    with the replay's voltage bases. Returns (period x node) pu, the node order, monitors."""
    dss = _dss()
    compile_model(master)
    samples = {}
    for name in dss.Monitors.AllNames():
        dss.Monitors.Name(name)
        header = [h.strip() for h in dss.Monitors.Header()]
        samples[name.lower()] = {
            h: np.asarray(dss.Monitors.Channel(i + 1)) for i, h in enumerate(header)
        }
    names = [n.lower() for n in dss.Circuit.AllNodeNames()]
    node_bus = [n.rsplit(".", 1)[0] for n in names]
    base_kv = {}
    for bus in dss.Circuit.AllBusNames():
        dss.Circuit.SetActiveBus(bus)
        base_kv[bus.lower()] = dss.Bus.kVBase()
    base = np.array([1000.0 * base_kv[b] for b in node_bus])
    step = re.search(r"stepsize=(\S+)", master.read_text()).group(1)
    run_command(f"set mode=daily stepsize={step} number=1")  # the clock back to hour 0
    vm = []
    for _ in range(PERIODS):
        run_command("solve")
        assert dss.Solution.Converged()
        volts = np.asarray(dss.Circuit.AllBusVolts()).reshape(-1, 2)
        vm.append(np.hypot(volts[:, 0], volts[:, 1]) / base)
    return np.array(vm), pd.Series(names), samples


def _replay_matrix(replay, names) -> np.ndarray:
    """The replay's res_node as (period x node) in OpenDSS's node order."""
    wide = replay.res_node.vm_pu.unstack(["bus", "node"])
    keys = [(n.rsplit(".", 1)[0], int(n.rsplit(".", 1)[1])) for n in names]
    return wide[keys].to_numpy()


def test_daily_mode_run_reproduces_the_opendss_replay(solved, tmp_path):
    result, replay = solved
    # the schedule has reactive power on both kinds of device: qmult is exercised
    assert result.res_der.q_kvar.abs().max() > 1.0
    assert result.res_station.q_kvar.abs().max() > 1.0
    master = export_opendss_daily(result, tmp_path / "daily")
    assert master == (tmp_path / "daily" / "master_daily.dss").resolve()
    text = master.read_text()
    assert re.search(r"(?im)^Set mode=daily stepsize=60m number=24$", text)
    assert text.index("Set mode=daily") < text.index("\nSolve")
    assert "Vsource.source.pu=0.99" in text

    vm, names, monitors = _daily_run(master)
    ref = _replay_matrix(replay, names)
    assert vm.shape == ref.shape == (PERIODS, len(names))
    dv = np.abs(vm - ref).max()
    assert dv < 1e-6, dv
    # the comparison sees a shape one period off: shifted either way it fails by far
    assert np.abs(vm[1:] - ref[:-1]).max() > 1e-3
    assert np.abs(vm[:-1] - ref[1:]).max() > 1e-3

    # the monitors of the daily solve (what a user of OpenDSS alone gets) cover every node
    table = pd.read_csv(master.parent / "monitors.csv", dtype={"bus": str, "nodes": str})
    ref_node = replay.res_node.vm_pu
    covered = set()
    for row in table.itertuples():
        sample = monitors[row.monitor.lower()]
        for j, node in enumerate(row.nodes.split(".")):
            volts = sample[f"V{j + 1}"]
            expected = ref_node.xs((row.bus.lower(), int(node)), level=("bus", "node"))
            assert len(volts) == PERIODS
            assert np.abs(volts / (1000.0 * row.base_kv_ln) - expected.to_numpy()).max() < 1e-6
            covered.add(f"{row.bus.lower()}.{node}")
    assert covered == set(names)


def test_the_export_from_a_result_folder_is_the_same(solved, tmp_path):
    """From the folder ``Result.to_dir`` writes (case.yaml and tables), as replay_opendss."""
    result, _ = solved
    direct = export_opendss_daily(result, tmp_path / "direct")
    folder = result.to_dir(tmp_path / "result")
    data = grid_data(load_case(Path(folder) / "case.yaml"))

    def table(name):
        for suffix in (".parquet", ".csv"):
            path = Path(folder) / f"{name}{suffix}"
            if path.is_file():
                if suffix == ".parquet":
                    return pd.read_parquet(path)
                return pd.read_csv(path, index_col=[0, 1], parse_dates=[0], dtype={1: str})
        raise AssertionError(name)

    again = write_opendss_daily(data, table("res_der"), table("res_station"), tmp_path / "again")
    for name in ("loadshapes.dss", "devices.dss", "master_daily.dss", "monitors.dss"):
        assert (again.parent / name).read_text() == (direct.parent / name).read_text(), name


def test_names_cannot_break_out_of_a_command():
    namer = _Namer()
    hostile = namer("gv2g_der_", "pv 1\nDOScmd rm -rf /")
    assert re.fullmatch(r"[A-Za-z0-9_\-+~]+", hostile)
    assert namer("gv2g_der_", "pv 1\nDOScmd rm -rf /") != hostile  # numbered, not merged
    assert namer("x", "AB") != namer("x", "ab")  # OpenDSS names are case-blind
    for bad in ("a b", "a=b", "a\nb", "a!b", "a.b", "@v", "a[1]", '"a"'):
        with pytest.raises(OpenDSSError, match="cannot be written"):
            _plain(bad, "load")
    assert _plain("634a", "load") == "634a"


def test_the_export_writes_only_inside_its_folder(solved, tmp_path):
    result, _ = solved
    outside = tmp_path / "outside.dss"
    outside.write_text("keep\n")
    folder = tmp_path / "daily"
    folder.mkdir()
    (folder / "loadshapes.dss").symlink_to(outside)
    with pytest.raises(OpenDSSError, match="outside the export folder"):
        export_opendss_daily(result, folder)
    assert outside.read_text() == "keep\n"
    assert not (folder / "dss").exists()  # refused before anything was written
    (folder / "loadshapes.dss").unlink()
    (folder / "dss").mkdir()
    (folder / "dss" / "Master.dss").symlink_to(outside)  # the feeder's file too
    with pytest.raises(OpenDSSError, match="outside the export folder"):
        export_opendss_daily(result, folder)
    assert outside.read_text() == "keep\n"
    assert sorted(p.name for p in folder.rglob("*")) == ["Master.dss", "dss"]
