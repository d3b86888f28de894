"""Scenario sweeps: expansion, a failing scenario kept apart, resume, local and Dask runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import gridv2g as g
from gridv2g.batch import load_sweep, run_batch, scenarios
from gridv2g.case import CaseError

CASES = Path(__file__).resolve().parent.parent / "cases"
LOT = CASES / "lot20_seed001.yaml"


def sweep_file(tmp_path, vary, mode="product", name="lot_sweep", base=LOT) -> Path:
    """A sweep in ``tmp_path`` over a copy of ``base`` beside it (a sweep reads its base case
    from its own folder)."""
    path = tmp_path / f"{name}.yaml"
    (tmp_path / base.name).write_text(base.read_text())
    spec = {"name": name, "base": base.name, "mode": mode, "vary": vary, "validate": False}
    path.write_text(yaml.safe_dump(spec))
    return path


def test_shipped_sweep_expands_to_valid_cases():
    spec, base, _ = load_sweep(CASES / "sweep_ieee33_ev_fleet_size.yaml")
    found = scenarios(spec, base)
    assert len(found) == 10
    assert found[0].values == {"fleet.sessions.n": 10, "fleet.sessions.seed": 1}
    assert found[0].raw["fleet"]["sessions"]["n"] == 10
    assert base["fleet"]["sessions"]["n"] == 30  # the base case itself is untouched


def test_zip_needs_equal_lengths_and_paths_must_exist(tmp_path):
    bad_zip = sweep_file(tmp_path, {"sessions.n": [5, 10], "sessions.seed": [1]}, mode="zip")
    with pytest.raises(CaseError, match="zip needs lists of one length"):
        scenarios(*load_sweep(bad_zip)[:2])
    unknown = sweep_file(tmp_path, {"sessions.count": [5]}, name="unknown")
    with pytest.raises(CaseError, match=r"unknown field 'sessions.count'; valid fields: \["):
        scenarios(*load_sweep(unknown)[:2])
    index = sweep_file(tmp_path, {"stations.3.ports": [2]}, name="index")
    with pytest.raises(CaseError, match="'3' is not an index of a list of 1"):
        scenarios(*load_sweep(index)[:2])


def test_sweep_file_rejects_unknown_fields(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        yaml.safe_dump({"name": "s", "base": LOT.name, "vary": {"sessions.n": [5]}, "workers": 3})
    )
    with pytest.raises(CaseError, match="valid fields"):
        load_sweep(path)


@pytest.fixture(scope="module")
def lot_batch(tmp_path_factory):
    """Four scenarios of the 20-EV lot, one with a 1 kW transformer: infeasible (hard targets)."""
    tmp = tmp_path_factory.mktemp("batch")
    sweep = sweep_file(
        tmp, {"sessions.n": [5, 10], "stations.0.p_import_max_kw.constant": [100.0, 1.0]}
    )
    out = tmp / "out"
    table = run_batch(sweep, out, workers=2, progress=False)
    return sweep, out, table


def test_a_failing_scenario_does_not_cost_the_others(lot_batch):
    _, out, table = lot_batch
    assert len(table) == 4
    failed = table[table.status == "error"]
    assert sorted(failed.index) == ["n=10,constant=1.0", "n=5,constant=1.0"]
    assert failed.error.str.contains("InfeasibleError").all()
    ok = table[table.status == "ok"]
    assert (ok.solver_status == "optimal").all()
    assert (out / "summary.parquet").is_file() and (out / "summary.csv").is_file()


def test_scenario_results_equal_solving_the_case_directly(lot_batch, tmp_path):
    _, _, table = lot_batch
    text = LOT.read_text().replace("n: 20", "n: 10")
    path = tmp_path / "lot10.yaml"
    path.write_text(text)
    direct = g.solve(g.load_case(path))
    assert table.loc["n=10,constant=100.0", "objective"] == pytest.approx(
        direct.summary["objective"], rel=1e-9
    )


def test_resume_skips_finished_scenarios_and_retries_failures(lot_batch):
    sweep, out, _ = lot_batch
    store = out / "scenarios"
    before = {p.name: p.stat().st_mtime_ns for p in store.glob("*.json")}
    again = run_batch(sweep, out, workers=1, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in store.glob("*.json")}
    ok = [f"{sid}.json" for sid in again.index[again.status == "ok"]]
    failed = [f"{sid}.json" for sid in again.index[again.status == "error"]]
    assert all(after[name] == before[name] for name in ok)
    assert all(after[name] != before[name] for name in failed)


def test_dask_gives_the_local_results(lot_batch, tmp_path):
    sweep, _, local = lot_batch
    on_dask = run_batch(sweep, tmp_path / "dask", workers=1, dask=True, progress=False)
    ok = local.index[local.status == "ok"]
    assert list(on_dask.loc[ok, "objective"]) == pytest.approx(list(local.loc[ok, "objective"]))
    assert (on_dask.status == local.status).all()


def test_batch_command_reports_failures(lot_batch, tmp_path):
    from typer.testing import CliRunner

    from gridv2g.cli import app

    sweep, _, _ = lot_batch
    result = CliRunner().invoke(
        app, ["batch", str(sweep), "--out", str(tmp_path / "cli"), "--workers", "1"]
    )
    assert result.exit_code == 2, result.output
    assert "4 scenarios: 2 ok, 2 failed" in result.output
    assert "InfeasibleError" in result.output


def test_resume_reruns_scenarios_whose_inputs_changed(tmp_path):
    """A row is reused only when the hash of its resolved inputs matches: editing the base
    case (its price here) re-runs every scenario, an untouched rerun re-runs none."""
    sweep = sweep_file(tmp_path, {"sessions.n": [3, 4]}, name="edit")
    out = tmp_path / "out"
    first = run_batch(sweep, out, workers=1, progress=False)
    store = out / "scenarios"
    stamp = {p.name: p.stat().st_mtime_ns for p in store.glob("*.json")}
    again = run_batch(sweep, out, workers=1, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in store.glob("*.json")} == stamp
    assert (again.cost == first.cost).all()
    base = tmp_path / LOT.name
    base.write_text(base.read_text().replace("buy: {shape: caiso}", "buy: {constant: 0.5}"))
    edited = run_batch(sweep, out, workers=1, progress=False)
    assert all(p.stat().st_mtime_ns != stamp[p.name] for p in store.glob("*.json"))
    assert (edited.cost > first.cost).all()  # 0.5/kWh flat against the CAISO-like day
    assert edited.input_hash.nunique() == 2 and set(edited.input_hash).isdisjoint(first.input_hash)


def _crash_on_n4(raw, sid, *args):
    """A scenario that kills its worker process (as a native crash would). Forked pool
    workers call the function patched away; Dask's spawned workers import gridv2g afresh."""
    import os

    from gridv2g import batch

    if sid.startswith("n=4"):
        os._exit(13)
    return getattr(batch, "_real_run_scenario", batch.run_scenario)(raw, sid, *args)


def test_a_crashing_scenario_fails_alone(tmp_path, monkeypatch):
    """A worker that dies takes the pool down; the others are re-run, the crashing one is
    retried alone, then recorded. Workers are forked, so they see the patched function."""
    import multiprocessing

    from gridv2g import batch

    if multiprocessing.get_start_method() != "fork":
        pytest.fail("this test needs the fork start method (Linux default)")
    monkeypatch.setattr(batch, "_real_run_scenario", batch.run_scenario, raising=False)
    monkeypatch.setattr(batch, "run_scenario", _crash_on_n4)
    sweep = sweep_file(tmp_path, {"sessions.n": [3, 4, 5, 6]}, name="crash")
    table = run_batch(sweep, tmp_path / "out", workers=2, progress=False)
    assert sorted(table.index[table.status == "ok"]) == ["n=3", "n=5", "n=6"]
    assert "worker process died (2 attempts)" in table.loc["n=4", "error"]


def test_a_crashing_scenario_fails_alone_on_dask(tmp_path, monkeypatch):
    """On a local Dask cluster a crashing scenario fails alone too: the scheduler retries it
    once, then errs it (KilledWorker); the others complete. Dask's workers are spawned: they
    import this module (on their inherited path) to run the patched function."""
    from gridv2g import batch

    monkeypatch.setattr(batch, "run_scenario", _crash_on_n4)
    sweep = sweep_file(tmp_path, {"sessions.n": [3, 4, 5, 6]}, name="crash_dask")
    table = run_batch(
        sweep,
        tmp_path / "out",
        workers=2,
        dask=True,
        progress=False,
        dashboard_address="127.0.0.1:0",
    )
    assert sorted(table.index[table.status == "ok"]) == ["n=3", "n=5", "n=6"]
    assert "worker process died (2 attempts alone): Dask KilledWorker" in table.loc["n=4", "error"]


@pytest.mark.parametrize("dask", [False, True], ids=["pool", "dask"])
def test_pool_workers_die_with_the_batch(tmp_path, dask):
    """kill -9 of a running batch while its workers solve: they follow within seconds (no
    orphans), a local Dask cluster's too."""
    import signal
    import subprocess
    import sys
    import time

    import psutil

    # scenarios that take far longer than the 10 s allowed (20,000 EVs, limits that let them
    # charge): a worker that outlives its parent is still at work when the check runs
    # (measured without the fix: both pool workers alive 10 s after the kill)
    vary = {
        "sessions.n": [20000, 20001],
        "stations.0.p_import_max_kw.constant": [1e5, 1e5],
        "stations.0.p_export_max_kw.constant": [1e5, 1e5],
    }
    sweep = sweep_file(tmp_path, vary, mode="zip", name="orphans")
    code = (
        "from gridv2g.batch import run_batch\n"
        f"run_batch({str(sweep)!r}, {str(tmp_path / 'out')!r}, workers=2, progress=False, "
        f"dask={dask}, dashboard_address='127.0.0.1:0')\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code])
    proc = psutil.Process(parent.pid)

    # a worker this many CPU seconds in is at work on its scenario: forked pool workers start
    # on it at once, Dask's spawned ones first import distributed and gridv2g (~2.5 s);
    # multiprocessing's resource tracker never gets there
    at_work = 4.0 if dask else 1.0

    def busy(child) -> bool:
        try:
            return child.cpu_times().user > at_work
        except psutil.Error:
            return False

    deadline = time.time() + 90
    workers = []
    while time.time() < deadline and len(workers) < 2:
        workers = [c for c in proc.children(recursive=True) if busy(c)]
        time.sleep(0.2)
    assert len(workers) >= 2, "the batch started no busy workers"
    tree = proc.children(recursive=True)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, f"orphaned processes: {[p.pid for p in alive]}"
