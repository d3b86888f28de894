"""The benchmark records stay well-formed and their cases stay right (speed itself is not
tested: it lives in `gridv2g bench`)."""

from __future__ import annotations

import json

from gridv2g.bench import bench_fleet_grid, bench_grid, bench_mpc, bench_sizes, bench_station


def _check(record: dict) -> None:
    assert set(record) >= {"name", "seconds", "ratios", "peak_memory_mb", "peak_rss_mb"}
    assert all(v >= 0 for v in record["seconds"].values())
    json.dumps(record, default=str)  # one JSON record per benchmark


def test_grid_record():
    record = bench_grid("ieee33", 24)
    _check(record)
    s = record["seconds"]
    assert s["total"] >= s["solver"] and s["bare_solver"] > 0


def test_station_and_fleet_grid_records():
    station = bench_station(20)
    _check(station)
    assert station["figures"]["status"] == "optimal"
    fleet = bench_fleet_grid("ieee33", 10)
    _check(fleet)
    # AC power flow agrees with the SOCP (a period may still be flagged for a relative gap
    # of ~2e-5 on a branch losing 1 W: the solver's resolution, reported, not hidden)
    assert fleet["figures"]["max_dv_pu"] < 1e-6
    assert fleet["figures"]["ev_charged_kwh"] > 0


def test_aggregate_fleet_grid_record():
    # the scale mode's record: every EV checked, the per-EV model's objective compared
    rec = bench_fleet_grid("ieee33", 30, aggregate=True, compare=True)
    _check(rec)
    f = rec["figures"]
    assert f["ev_violations"] == 0
    assert f["objective_relative_difference"] < 1e-6
    assert f["groups"] < 30


def test_sizes_sweep_record():
    # resize re-solves the one compiled problem and agrees with a rebuild at every size
    rec = bench_sizes("ieee33", 24)
    _check(rec)
    f = rec["figures"]
    assert f["sizes"] == 5 and not f["recompiled"]
    assert f["max_objective_difference"] < 1e-6
    assert len(set(round(x, 3) for x in f["objectives"])) == 5  # the sizes move the optimum


def test_mpc_record():
    # the plugged-entries form and the dense form solve the same step problems
    rec = bench_mpc(20, rebuild_steps=1, compare_steps=2)
    _check(rec)
    assert rec["figures"]["step_objective_max_rel_difference_plugged_vs_dense"] < 1e-6
    assert rec["figures"]["solves"] > 10 and rec["ratios"]["dense_over_plugged"] > 0
