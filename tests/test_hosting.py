"""Hosting capacity by charging policy (gridv2g.hosting): the search against brute force,
every reported size checked again in AC power flow by the replays themselves (not the
hosting code), smart against uncontrolled, resume and failures, and the case fields.

The cases are small on purpose (IEEE 33, 15 x 60 min overnight, a few EV sizes), so each
search takes seconds; expected sizes are never written down: the tests compare the search
with other ways of getting the same answer."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import yaml

import gridv2g.hosting.verify as verify
from gridv2g.case import CaseError, case_from_dict
from gridv2g.errors import InfeasibleError
from gridv2g.hosting import (
    Site,
    SiteStudy,
    largest_hosted,
    resolve_sites,
    run,
    scan,
)
from gridv2g.hosting import study as run_module
from gridv2g.problems.co_optimize import CoOptimization
from gridv2g.problems.fleet_grid import _on_grid, fleet_plan
from gridv2g.validation import replay, replay_opendss, validate
from gridv2g.validation.pandapower import case_limits

#: IEEE 33, overnight 17:00-08:00 (15 x 60 min), seed 001's 11 kW EVs at the weakest bus
TINY = {
    "name": "tiny_hosting",
    "feeder": "ieee33",
    "horizon": {"start": "2024-06-21T17:00", "periods": 15, "minutes": 60},
    "load": {"shape": "residential"},
    "prices": {"shape": "caiso"},
    "options": {"vmin_pu": 0.90, "vmax_pu": 1.05},
    "objective": {"energy_cost": 1.0},
    "hosting": {
        "sites": [{"bus": "18"}],
        "sessions": {"sampler": "seed001_lot", "seed": 1},
        "step": 5,
        "max_evs": 40,
        "policies": ["uncontrolled", "smart"],
    },
}


def tiny(**hosting) -> dict:
    raw = copy.deepcopy(TINY)
    raw["hosting"].update(hosting)
    return raw


@pytest.fixture(autouse=True)
def _no_numba(monkeypatch):
    """Plain-Python pandapower in these short in-process studies (no kernel compilation)."""
    monkeypatch.setattr(verify, "NUMBA", False)


class _Memo:
    """A study's check, each size evaluated once (the brute force reuses the search's)."""

    def __init__(self, study: SiteStudy, step: int):
        self.study, self.step, self.done = study, step, {}

    def __call__(self, k: int):
        if k not in self.done:
            self.done[k] = self.study.check(k * self.step)
        return self.done[k]


@pytest.fixture(scope="module")
def uncontrolled_18():
    """The uncontrolled search at bus 18, with every size up to the ceiling evaluated."""
    verify.NUMBA, saved = False, verify.NUMBA
    try:
        case = case_from_dict(tiny(), "tiny")
        study = SiteStudy(case, Site("18", "18", None), "uncontrolled")
        memo = _Memo(study, 5)
        found = largest_hosted(memo, 8)
        brute = scan(memo, 8)
    finally:
        verify.NUMBA = saved
    return case, study, found, brute


# ------------------------------------------------------------------ (1) search = brute force
class _Threshold:
    """hosted iff k <= threshold; counts the calls."""

    def __init__(self, threshold: int):
        self.threshold, self.calls = threshold, []

    def __call__(self, k: int):
        self.calls.append(k)
        return type("C", (), {"hosted": k <= self.threshold})()


@pytest.mark.parametrize("k_max", [0, 1, 2, 3, 7, 8, 13, 64])
def test_bisection_equals_a_linear_scan_for_every_frontier(k_max):
    for threshold in range(-1, k_max + 1):
        check = _Threshold(threshold)
        found = largest_hosted(check, k_max)
        assert found.k == max(scan(_Threshold(threshold), k_max), 0)
        assert len(check.calls) == len(set(check.calls))  # each size once
        assert len(check.calls) <= 2 * int(np.log2(k_max + 1)) + 4
        if threshold >= 0:
            assert found.at.hosted and found.censored == (threshold == k_max)
            assert found.censored or not found.above.hosted


def test_the_search_on_a_feeder_equals_the_scan_over_every_size(uncontrolled_18):
    _, _, found, brute = uncontrolled_18
    assert brute >= 1, "the tiny case should host some EVs uncontrolled"
    assert found.k == brute
    assert found.at.hosted and not found.above.hosted and not found.censored


# ------------------------------------------------------------------ (2) AC, independently
def test_reported_uncontrolled_size_holds_in_ac_and_one_step_more_does_not(uncontrolled_18):
    """The plan at the reported size, placed on the feeder by the repository's own
    fixed-fleet power flow and replayed by the pandapower validation: within the case's
    limits; one step more: outside them."""
    _, study, found, _ = uncontrolled_18
    counts = {}
    for evs in (found.k * 5, (found.k + 1) * 5):
        data = study.data(evs)
        net, _ = fleet_plan(data, "uncontrolled")
        power_flow = _on_grid(data, net, "CLARABEL")  # limits lifted: judged below
        report = replay(
            data.feeder,
            power_flow.res_bus,
            power_flow.res_line,
            data.horizon.hours,
            data.v_source_pu,
            limits=case_limits(data),  # the case's own limits, 0.90-1.05 pu
        )
        counts[evs] = report.summary["voltage_violations"]
        assert report.summary["max_dv_pu"] < 1e-6  # the SOCP power flow is the AC one
    assert counts[found.k * 5] == 0
    assert counts[(found.k + 1) * 5] > 0


def test_reported_smart_size_holds_in_ac_and_one_step_more_is_infeasible_or_violates():
    case = case_from_dict(tiny(step=50, max_evs=400, policies=["smart"]), "tiny")
    study = SiteStudy(case, Site("18", "18", None), "smart")
    found = largest_hosted(lambda k: study.check(50 * k), 8)
    assert 0 < found.k < 8, "the smart capacity should lie inside the searched range"
    n = found.k * 50
    result = CoOptimization(study.data(n), dpp=False).solve("CLARABEL")
    report = validate(result)
    assert report.summary["limits_ok"]
    assert (result.res_ev_summary.shortfall_kwh < 1e-3).all()
    assert "voltage_min 18" in found.at.exhausted  # the weakest bus, where the SOCP binds
    try:
        above = CoOptimization(study.data(n + 50), dpp=False).solve("CLARABEL")
    except InfeasibleError as exc:
        assert "vmin" in str(exc)  # the row names the same limit
        assert found.above.limit.kind == "infeasible_voltage_min"
    else:
        assert not validate(above).summary["limits_ok"]


def test_multi_phase_site_answer_holds_in_opendss_and_one_step_more_breaks_a_limit():
    """IEEE 123, a single-phase lateral site (114, phase A), uncontrolled: the reported
    fleet's plan replayed by the OpenDSS validation (its own compile and current readings)
    meets every phase voltage and rated-line limit; one step more breaks one."""
    raw = tiny(sites=[{"bus": "114", "phases": "1"}], step=10, max_evs=60)
    raw.update(feeder="ieee123", formulation="unbalanced", load={"shape": "ieee_rts", "scale": 0.8})
    raw["options"] = {"vmin_pu": 0.95, "vmax_pu": 1.05, "v_source_pu": 0.965, "ampacity": True}
    case = case_from_dict(raw, "tiny123")
    study = SiteStudy(case, Site("114.1", "114", "1"), "uncontrolled")
    found = largest_hosted(lambda k: study.check(10 * k), 6)
    assert study.ac.__class__.__name__ == "UnbalancedAC"
    assert not found.censored and found.above.limit.violated
    base = study.no_fleet  # the feeder's SOCP tables: compared with, not judged
    ok = {}
    for evs in (found.k * 10, (found.k + 1) * 10):
        data = study.data(evs)
        net, _ = fleet_plan(data, "uncontrolled")
        station = base.res_station.copy()
        host = station.index.get_level_values("station") == "hosting_site"
        station.loc[host, "p_kw"] = net["hosting_site"].to_numpy()
        station.loc[host, "q_kvar"] = 0.0
        report = replay_opendss(
            data, base.res_bus, base.res_line, base.res_ext_grid, base.res_der, station
        )
        ok[evs] = report.summary["limits_ok"]
    assert ok == {found.k * 10: True, (found.k + 1) * 10: False}


@pytest.mark.parametrize(("bus", "phases", "evs"), [("65", None, 330), ("107", "2", 140)])
def test_closed_model_infeasibility_names_the_limit_beyond_its_value(bus, phases, evs):
    """IEEE 123, smart, the shipped case's sizes one step above the hosted ones: the per-phase
    model closed against OpenDSS is infeasible, and the diagnosis starts from that corrected
    model (not the plain one, which is feasible there), so it names a limit, and the value it
    needs lies beyond that limit (a back-off of the closing loop neither reads as a violation
    nor hides one)."""
    raw = yaml.safe_load(open("cases/ieee123_hosting.yaml"))
    raw["base_dir"] = "cases"
    case = case_from_dict(raw, "ieee123_hosting.yaml")
    name = bus if phases is None else f"{bus}.{phases}"
    check = SiteStudy(case, Site(name, bus, phases), "smart").check(evs)
    assert not check.hosted
    limit = check.limit
    assert limit.kind in ("infeasible_voltage_min", "infeasible_voltage_max", "infeasible_ampacity")
    assert limit.element and limit.time
    if limit.kind == "infeasible_voltage_min":
        assert limit.value < limit.limit
    else:
        assert limit.value > limit.limit


# ------------------------------------------------------------------ (3) physics
def test_smart_hosts_more_than_uncontrolled_at_the_same_site(uncontrolled_18):
    """Every uncontrolled plan that holds is a feasible smart plan, so smart >= uncontrolled;
    on this evening-peak feeder smart moves charging into the night and hosts strictly more."""
    case, _, found_unc, _ = uncontrolled_18
    study = SiteStudy(case, Site("18", "18", None), "smart")
    found = largest_hosted(lambda k: study.check(5 * k), 8)
    assert found.k >= found_unc.k
    assert found.k > found_unc.k


# ------------------------------------------------------------------ (4) resume, failures
def _case_file(tmp_path, raw) -> str:
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_resume_skips_finished_rows_and_a_failing_search_loses_no_other(tmp_path, monkeypatch):
    raw = tiny(sites=[{"bus": "18"}, {"bus": "33"}], step=10, max_evs=20, policies=["uncontrolled"])
    path, out = _case_file(tmp_path, raw), tmp_path / "out"
    real_check = SiteStudy.check

    def broken(self, n):
        if self.site.bus == "33":
            raise RuntimeError("injected failure at bus 33")
        return real_check(self, n)

    monkeypatch.setattr(SiteStudy, "check", broken)
    first = run(path, out, workers=1, progress=False, figures=False).res_hosting.set_index("site")
    assert first.at["18", "status"] == "ok" and first.at["33", "status"] == "error"
    assert "injected failure at bus 33" in first.at["33", "error"]
    row18 = json.loads((out / "hosting" / "18__uncontrolled.json").read_text())
    assert row18["status"] == "ok" and row18["max_evs"] == first.at["18", "max_evs"]

    monkeypatch.setattr(SiteStudy, "check", real_check)
    ran = []
    real_task = run_module.search_task

    def counting(*args):
        ran.append(args[4]["name"])
        return real_task(*args)

    monkeypatch.setattr(run_module, "search_task", counting)
    second = run(path, out, workers=1, progress=False, figures=False)
    assert ran == ["33"]  # the finished row was kept, the failed one retried
    table = second.res_hosting.set_index("site")
    assert (table.status == "ok").all()
    assert table.at["18", "max_evs"] == first.at["18", "max_evs"]
    run(path, out, workers=1, progress=False, figures=False)
    assert ran == ["33"]  # nothing left to run
    run(path, out, workers=1, progress=False, figures=False, resume=False)
    assert sorted(ran) == ["18", "33", "33"]
    for name in ("hosting.csv", "hosting.parquet", "ratio.csv", "hosting.json"):
        assert (out / name).is_file()
    # a loaded Case (Python API) gives the rows of its file
    again = run(case_from_dict(raw, "tiny"), tmp_path / "api", workers=1, progress=False)
    same = again.res_hosting.set_index("site")
    assert same.max_evs.to_dict() == table.max_evs.to_dict()
    assert (tmp_path / "api" / "hosting_bars.png").is_file()


# ------------------------------------------------------------------ (5) the case fields
def test_case_rejects_unknown_hosting_fields_listing_the_valid_ones():
    raw = tiny(stepp=5)
    with pytest.raises(CaseError) as err:
        case_from_dict(raw, "tiny")
    text = str(err.value)
    assert "hosting.stepp" in text and "'step'" in text and "'max_evs'" in text
    raw = tiny(sites=[{"bus": "18", "phase": "1"}])
    with pytest.raises(CaseError, match=r"hosting\.sites\.0\.phase.*'phases'"):
        case_from_dict(raw, "tiny")
    with pytest.raises(CaseError, match="policies"):
        case_from_dict(tiny(policies=["smart", "psychic"]), "tiny")
    with pytest.raises(CaseError, match="max_evs 3 is below one step"):
        case_from_dict(tiny(step=5, max_evs=3), "tiny")


def test_bad_buses_and_phases_are_named(ieee33, ieee123):
    case = case_from_dict(tiny(sites=[{"bus": "18"}, {"bus": "999"}, {"bus": "1"}]), "t")
    with pytest.raises(CaseError) as err:
        resolve_sites(case.hosting, ieee33, case.name)
    text = str(err.value)
    assert "hosting.sites[1] (bus '999')" in text and "has no bus '999'" in text
    assert "hosting.sites[2] (bus '1')" in text and "substation" in text
    raw = tiny(sites=[{"bus": "114", "phases": "2"}, {"bus": "65", "phases": "all"}])
    raw["feeder"] = "ieee123"
    case = case_from_dict(raw, "t")
    with pytest.raises(CaseError, match=r"sites\[0\] \(bus '114'\): phases '2'.* has '1'"):
        resolve_sites(case.hosting, ieee123, case.name)
    case.hosting.sites = case.hosting.sites[1:]
    sites = resolve_sites(case.hosting, ieee123, case.name)
    assert [(s.name, s.phases) for s in sites] == [("65.1", "1"), ("65.2", "2"), ("65.3", "3")]
    with pytest.raises(CaseError, match="phases"):
        case_from_dict(tiny(sites=[{"bus": "18", "phases": "4"}]), "t")


def test_schema_holds_the_hosting_fields():
    from gridv2g.case import case_schema

    text = json.dumps(case_schema())
    for field in ("HostingSpec", "max_evs", "converter_kva_per_ev", "loading_tol_percent"):
        assert field in text


def test_command_line_prints_the_table_and_writes_the_folder(tmp_path):
    from typer.testing import CliRunner

    from gridv2g.cli import app

    raw = tiny(step=10, max_evs=20, policies=["uncontrolled"])
    path, out = _case_file(tmp_path, raw), tmp_path / "cli"
    result = CliRunner().invoke(app, ["hosting", path, "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "hosting capacity by charging policy" in result.output
    assert "uncontrolled" in result.output and "binding voltage_min" in result.output
    assert (out / "hosting.csv").is_file() and (out / "hosting_map.png").is_file()
    assert "gridv2g hosting" in CliRunner().invoke(app, ["hosting", "--help"]).output
