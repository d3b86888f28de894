"""Untrusted inputs stay inert: feeder files run no program, write no file and read nothing
outside their folder; case and sweep files read only their own folder, their names never
place output outside ``--out``; YAML alias bombs and duplicate keys are refused; the Dask
dashboard listens on loopback only."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
import yaml

from gridv2g.batch import load_sweep, run_batch, scenarios
from gridv2g.case import CaseError, load_case, output_folder
from gridv2g.errors import GridV2GError, GridV2GWarning, OpenDSSError
from gridv2g.feeders import from_opendss

CASES = Path(__file__).resolve().parent.parent / "cases"

FEEDER = """\
Clear
New Circuit.probe basekv=4.16 pu=1.0 phases=3 bus1=src
New Line.L1 phases=3 bus1=src bus2=b1 r1=0.1 x1=0.2 r0=0.3 x0=0.6 length=1 units=km
New Load.LD1 phases=3 bus1=b1 kv=4.16 kw=100 kvar=30
Set VoltageBases=[4.16]
CalcVoltageBases
"""


def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A feeder folder inside ``tmp_path``, a 'secret' file beside it, a program that leaves a
    mark when run, and the working directory inside the sandbox (to see stray writes)."""
    feeder = tmp_path / "feeder"
    feeder.mkdir()
    (tmp_path / "secret.dss").write_text("TOP-SECRET-LINE\n")
    mark = tmp_path / "program_ran"
    program = tmp_path / "program.sh"
    program.write_text(f"#!/bin/sh\ntouch {mark}\n")
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return {"root": tmp_path, "feeder": feeder, "mark": mark, "program": program, "work": work}


def write(folder: Path, extra: str, name="master.dss") -> Path:
    path = folder / name
    path.write_text(FEEDER + extra)
    return path


def test_the_probe_feeder_imports(sandbox):
    feeder = from_opendss(write(sandbox["feeder"], ""))
    assert len(feeder.line) == 1 and len(feeder.load) == 1


def test_an_editor_is_never_run(sandbox):
    master = write(sandbox["feeder"], f"Set Editor={sandbox['program']}\nShow Voltages\n")
    with pytest.raises(OpenDSSError, match=r"master.dss:7: 'set editor' is refused"):
        from_opendss(master)
    time.sleep(0.2)
    assert not sandbox["mark"].exists()


@pytest.mark.parametrize(
    ("line", "word"),
    [
        ("DOScmd touch {mark}", "doscmd"),
        ("dos touch {mark}", "doscmd"),  # OpenDSS's abbreviation rule
        ("Fileedit {program}", "fileedit"),
        ("CD /", "cd"),
        ("Set DataPath=/", "set datapath"),
        ("set log=yes", "set log"),
        ("Rephase", "rephase"),
    ],
)
def test_commands_that_run_programs_or_move_folders_are_refused(sandbox, line, word):
    text = line.format(mark=sandbox["mark"], program=sandbox["program"])
    master = write(sandbox["feeder"], text + "\n")
    with pytest.raises(OpenDSSError, match=rf"master.dss:7: '{word}' is refused"):
        from_opendss(master)
    assert not sandbox["mark"].exists()


def test_report_commands_are_skipped_and_write_nothing(sandbox):
    extra = (
        "Solve\nShow Voltages LN Nodes\nExport Voltages\nPlot Profile\nSave Circuit Dir=out\n"
        '"sh" currents\nsummary\n'
    )
    master = write(sandbox["feeder"], extra)
    before = listing(sandbox["root"])
    with pytest.warns(GridV2GWarning, match="6 report/plot commands skipped"):
        feeder = from_opendss(master)
    assert len(feeder.line) == 1
    assert listing(sandbox["root"]) == before  # nothing written, not even beside the feeder


@pytest.mark.parametrize("target", ["../secret.dss", "{root}/secret.dss", "/etc/passwd"])
def test_redirects_stay_in_the_feeder_folder(sandbox, target):
    master = write(sandbox["feeder"], f"Redirect {target.format(root=sandbox['root'])}\n")
    with pytest.raises(OpenDSSError, match="outside the feeder's folder") as info:
        from_opendss(master)
    assert "TOP-SECRET" not in str(info.value) and "root:" not in str(info.value)


def test_files_named_in_properties_stay_in_the_feeder_folder(sandbox):
    master = write(sandbox["feeder"], "New Loadshape.ls npts=1 interval=1 mult=(file=../x.csv)\n")
    with pytest.raises(OpenDSSError, match=r"master\.dss:7: file '\.\./x\.csv' lies outside"):
        from_opendss(master)
    master = write(sandbox["feeder"], "Buscoords /etc/hosts\n")
    with pytest.raises(OpenDSSError, match="buscoords '/etc/hosts' lies outside"):
        from_opendss(master)


def test_redirects_inside_the_folder_work(sandbox):
    sub = sandbox["feeder"] / "sub"
    sub.mkdir()
    (sub / "loads.dss").write_text("New Load.LD2 phases=1 bus1=b1.2 kv=2.4 kw=10 kvar=3\n")
    feeder = from_opendss(write(sandbox["feeder"], "Redirect sub\\loads.dss\n"))
    assert len(feeder.load) == 2


def test_a_redirect_loop_is_an_error_not_a_crash(sandbox):
    folder = sandbox["feeder"]
    (folder / "a.dss").write_text("Redirect b.dss\n")
    (folder / "b.dss").write_text("Redirect a.dss\n")
    master = write(folder, "Redirect a.dss\n")
    t0 = time.perf_counter()
    with pytest.raises(OpenDSSError, match=r"redirect loop: master.dss -> a.dss -> b.dss -> a"):
        from_opendss(master)
    assert time.perf_counter() - t0 < 5
    (folder / "self.dss").write_text(FEEDER + "Compile self.dss\n")
    with pytest.raises(OpenDSSError, match="redirect loop"):
        from_opendss(folder / "self.dss")


def test_native_libraries_are_not_loaded(sandbox):
    master = write(
        sandbox["feeder"],
        "New Generator.g1 bus1=b1 kv=4.16 kw=10 model=6 UserModel=libevil.so\n",
    )
    with pytest.raises(OpenDSSError, match="loads a native library"):
        from_opendss(master)


def test_a_case_cannot_run_a_feeder_file_that_runs_programs(sandbox):
    feeder = write(sandbox["feeder"], f"Set Editor={sandbox['program']}\nShow Voltages\n")
    case = sandbox["feeder"] / "case.yaml"
    case.write_text(yaml.safe_dump({"name": "x", "feeder": {"opendss": feeder.name}}))
    from gridv2g.case import grid_data

    with pytest.raises(GridV2GError, match="refused"):
        grid_data(load_case(case))
    assert not sandbox["mark"].exists()


def station_case(folder: Path, **fields) -> Path:
    raw = yaml.safe_load((CASES / "lot20_seed001.yaml").read_text())
    raw.update(fields)
    path = folder / "case.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.mark.parametrize("csv", ["../prices.csv", "/etc/passwd"])
def test_case_paths_stay_in_the_case_folder_unless_allowed(tmp_path, csv):
    folder = tmp_path / "case"
    folder.mkdir()
    (tmp_path / "prices.csv").write_text("time,price\n")
    raw = yaml.safe_load((CASES / "lot20_seed001.yaml").read_text())
    raw["prices"]["buy"] = {"csv": csv, "column": "price"}
    path = folder / "case.yaml"
    path.write_text(yaml.safe_dump(raw))
    case = load_case(path)
    with pytest.raises(CaseError, match="lies outside the case's folder"):
        case.path(csv)
    from gridv2g.case import station_data

    with pytest.raises(CaseError, match="outside the case's folder"):
        station_data(case)
    allowed = load_case(path, allow_outside=True)
    assert allowed.path(csv).resolve() == (folder / csv).resolve()


def test_a_base_dir_in_the_file_does_not_open_other_folders(tmp_path):
    path = station_case(tmp_path, base_dir="/")
    case = load_case(path)
    with pytest.raises(CaseError, match="outside the case's folder"):
        case.path("etc/passwd")


@pytest.mark.parametrize("name", ["../../escape", "/tmp/abs", "..", "a/../../b", ""])
def test_output_folders_stay_under_out(tmp_path, name):
    out = tmp_path / "out"
    folder = output_folder(out, name)
    assert folder.resolve().parent == out.resolve()


def test_cli_run_keeps_a_hostile_name_under_out(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from gridv2g.cli import app

    raw = yaml.safe_load((CASES / "lot20_seed001.yaml").read_text())
    raw["name"] = "../../escaped"
    raw["sessions"]["n"] = 4
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "case.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.chdir(tmp_path / "w")
    result = CliRunner().invoke(app, ["run", "case.yaml"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()
    assert (tmp_path / "w" / "out" / "escaped" / "summary.json").is_file()


def sweep(folder: Path, spec: dict) -> Path:
    (folder / "lot20_seed001.yaml").write_text((CASES / "lot20_seed001.yaml").read_text())
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump({"base": "lot20_seed001.yaml", **spec}))
    return path


def test_a_sweep_name_never_leaves_out(tmp_path, monkeypatch):
    path = sweep(tmp_path, {"name": "../../x", "vary": {"sessions.n": [3]}})
    monkeypatch.chdir(tmp_path)
    table = run_batch(path, workers=1, progress=False)
    assert (table.status == "ok").all()
    assert (tmp_path / "out" / "x" / "summary.csv").is_file()


def test_a_sweep_base_outside_its_folder_is_refused(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "sweep.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "base": str(CASES / "lot20_seed001.yaml"),
                                    "vary": {"sessions.n": [3]}}))  # fmt: skip
    with pytest.raises(CaseError, match="outside the sweep's folder"):
        load_sweep(path)
    spec, base, _ = load_sweep(path, allow_outside=True)
    assert spec.name == "s" and base["name"]


def test_an_alias_bomb_sweep_is_refused_within_a_second(tmp_path):
    bomb = "\n".join(
        ["name: bomb", "base: lot20_seed001.yaml", "a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
        + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
        + ["vary:", "  fleet.sessions.n: *a8"]
    )
    (tmp_path / "lot20_seed001.yaml").write_text((CASES / "lot20_seed001.yaml").read_text())
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb)
    assert len(bomb) < 1000
    t0 = time.perf_counter()
    with pytest.raises(CaseError, match="aliases expand the document"):
        load_sweep(path)
    assert time.perf_counter() - t0 < 1.0


def test_a_sweep_with_too_many_scenarios_is_refused_before_expansion(tmp_path):
    vary = {f"sessions.{k}": list(range(100)) for k in ("n", "seed", "min_stay_h")}
    path = sweep(tmp_path, {"name": "big", "vary": vary})
    t0 = time.perf_counter()
    with pytest.raises(CaseError, match="1,000,000 scenarios, more than 100,000"):
        scenarios(*load_sweep(path)[:2])
    assert time.perf_counter() - t0 < 1.0


def test_duplicate_yaml_keys_and_bad_bytes_are_refused(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("name: a\nhorizon:\n  periods: 4\nname: b\n")
    with pytest.raises(CaseError, match=r"dup.yaml:4: key 'name' repeated \(first at line 1\)"):
        load_case(path)
    path.write_bytes(b"name: a\ndescription: caf\xe9\n")
    with pytest.raises(CaseError, match=r"dup.yaml:2: not UTF-8"):
        load_case(path)


def test_a_nonsense_problem_is_a_typed_error(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: a\nproblem: [1, 2]\n")
    with pytest.raises(CaseError, match="problem: \\[1, 2\\] is not one of"):
        load_case(path)


def test_the_dask_dashboard_listens_on_loopback_only(tmp_path, monkeypatch):
    import dask.distributed
    import psutil

    seen: list[set[str]] = []
    real = dask.distributed.LocalCluster

    def recording(*args, **kwargs):
        cluster = real(*args, **kwargs)
        procs = [psutil.Process(), *psutil.Process().children(recursive=True)]
        addresses = set()
        for proc in procs:
            for conn in proc.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    addresses.add(conn.laddr.ip)
        seen.append(addresses)
        return cluster

    monkeypatch.setattr(dask.distributed, "LocalCluster", recording)
    path = sweep(tmp_path, {"name": "d", "vary": {"sessions.n": [3]}})
    table = run_batch(path, tmp_path / "out", workers=1, dask=True, progress=False)
    assert (table.status == "ok").all()
    assert seen and seen[0], "no listening socket seen"
    assert seen[0] <= {"127.0.0.1", "::1"}, seen[0]


def test_scratch_folder_is_private(tmp_path):
    from gridv2g.feeders.dss_guard import scratch_dir

    folder = scratch_dir()
    assert folder.is_dir() and oct(folder.stat().st_mode & 0o777) == oct(0o700)
    assert os.access(folder, os.W_OK)


def test_reading_a_feeder_never_moves_the_process(sandbox, tmp_path):
    """OpenDSS changes the process's folder when its data path is set with AllowChangeDir on
    (its default): gridv2g's compile must leave the working directory where it was."""
    import os

    here = os.getcwd()
    other = tmp_path / "elsewhere"
    other.mkdir()
    from gridv2g.feeders.opendss_engine import dss

    dss().Basic.DataPath(str(other))  # the user's own setting (OpenDSS itself moves there)
    os.chdir(here)
    from_opendss(write(sandbox["feeder"], ""))
    assert os.getcwd() == here
    from_opendss(write(sandbox["feeder"], ""))
    assert os.getcwd() == here
