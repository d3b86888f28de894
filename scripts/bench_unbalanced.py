"""Measure the three-phase model on IEEE 123: build, solve, replay, closing, memory.

    python scripts/bench_unbalanced.py [--periods 96] [--json FILE]

Figures: build time of the phase model and of the LinDist3Flow block, plain LinDist3Flow's
error against OpenDSS's reference solution, and the EV-lateral case of ``tests/test_unbalanced``
(100 EVs x 7 kW on bus 114, phase a, 4000 kWh per day, TOU price, limits 0.95-1.05 pu) closed
against OpenDSS: per iteration the solve and replay seconds, OpenDSS's worst violation, the
model's error; then the balanced SOCP's plan of the same case replayed in OpenDSS. Peak memory
is the process's maximum resident set size (``resource.getrusage``).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd

import gridv2g as g
from gridv2g.feeders.phase_model import build_phase_model
from gridv2g.model.unbalanced import unbalanced
from gridv2g.model.unbalanced_closing import OpenDSSPhaseReplay, close
from gridv2g.profiles import Horizon, price_shape, standard_shape

REFERENCE = Path(__file__).resolve().parent.parent / "tests/data/ieee123/reference_fixed_taps.csv"
EV_BUS, EV_KW, EV_KWH = "114", 700.0, 4000.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def best_of(fn, repeat: int = 5) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def plain_error(pm) -> dict:
    ref = pd.read_csv(REFERENCE, dtype={"bus": str})
    ref["name"] = ref.bus.str.lower() + "." + ref.phase.astype(str)
    key = pd.Series(np.arange(pm.nn), index=pm.node_names)
    ref = ref[ref.name.isin(key.index)]
    _, _, v = pm.power_flow()
    err = np.abs(np.sqrt(v[key[ref.name].to_numpy(), 0]) - ref.v_pu.to_numpy())
    off = ref.bus.to_numpy() != "610"
    return {
        "max_pu": float(err.max()),
        "max_at": str(ref.name.iloc[int(err.argmax())]),
        "max_without_610_pu": float(err[off].max()),
        "mean_pu": float(err.mean()),
    }


def ev_case(periods: int):
    horizon = Horizon(pd.Timestamp("2024-06-21"), periods, 1440 // periods)
    res = standard_shape("residential", horizon).to_numpy()
    load = 1.0 + 0.25 * (res - res.min()) / (res.max() - res.min())
    return horizon, load, price_shape("tou", horizon).to_numpy()


def closed_ev(feeder, pm, periods: int) -> dict:
    horizon, load, price = ev_case(periods)
    T, h, sb = periods, horizon.hours, pm.s_base_kva
    t0 = time.perf_counter()
    ev = cp.Variable((1, T), name="ev-p")
    dm = pm.connect([EV_BUS])
    zero = np.zeros((1, T))
    b = unbalanced(
        pm, T, dm.p(ev, zero), dm.q(ev, zero), 0.95, 1.05, load_mult=np.tile(load, (pm.n_loads, 1))
    )
    cons = [*b.all_constraints(), ev >= 0, ev <= EV_KW / sb, cp.sum(ev) * h * sb == EV_KWH]
    problem = cp.Problem(cp.Minimize(price @ b.p_sub_total * h * sb), cons)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    replay = OpenDSSPhaseReplay(pm, dm)
    compile_s = time.perf_counter() - t0
    report = close(problem, b, replay, p_dev=ev)
    it = report.iterations
    return {
        "periods": T,
        "block_build_s": build_s,
        "opendss_compile_s": compile_s,
        "converged": report.converged,
        "iterations": len(it),
        "first_solve_s": float(it.solve_s.iloc[0]),
        "resolve_s_median": float(it.solve_s.iloc[1:].median()),
        "replay_s_median": float(it.replay_s.median()),
        "replay_ms_per_period": 1000.0 * float(it.replay_s.median()) / T,
        "total_s": float(it.solve_s.sum() + it.replay_s.sum()),
        "violation_pu_by_iteration": [float(x) for x in it.violation_pu],
        "model_error_pu_by_iteration": [float(x) for x in it.model_error_pu],
        "losses_error_percent_final": float(it.losses_error_percent.iloc[-1]),
        "objective_final": float(it.objective.iloc[-1]),
        "ev_kw": [round(float(x), 2) for x in ev.value[0] * sb],
        "vmin_opendss_pu": float(it.vmin_opendss_pu.iloc[-1]),
        "peak_rss_mb": peak_mb(),
    }


def balanced_ev(feeder, periods: int) -> dict:
    from gridv2g.problems.co_optimize import CoOptimization, GridData, StationSlotData

    horizon, load, price = ev_case(periods)
    index = horizon.index
    slots = pd.DataFrame({"bus": [EV_BUS], "s_kva": [EV_KW], "p_variable": [True]}, index=["ev"])
    data = GridData(
        feeder=feeder,
        horizon=horizon,
        load_scale=pd.DataFrame({"*": load}, index=index),
        price_per_kwh=pd.Series(price, index=index),
        stations=StationSlotData(
            slots=slots,
            p_min_kw=pd.DataFrame({"ev": 0.0}, index=index),
            p_max_kw=pd.DataFrame({"ev": EV_KW}, index=index),
        ),
        reactive={"station": False},
        vmin_pu=0.95,
        vmax_pu=1.05,
        objective={"energy_cost": 1.0},
    )
    t0 = time.perf_counter()
    co = CoOptimization(data, dpp=False)
    energy = cp.sum(co.stations.p) * horizon.hours * data.s_base_kva == EV_KWH
    co.problem = cp.Problem(co.problem.objective, [*co.problem.constraints, energy])
    result = co.solve()
    solve_s = time.perf_counter() - t0
    vm = g.validate(result, engine="opendss").res_node.vm_pu
    vm = vm[vm.index.get_level_values("bus") != "150"]
    viol = np.maximum(0.95 - vm, vm - 1.05).clip(lower=0)
    return {
        "solve_s": solve_s,
        "violating_node_periods": int((viol > 1e-6).sum()),
        "periods_violating": int((viol > 1e-6).groupby(level="time").any().sum()),
        "max_violation_pu": float(viol.max()),
        "vmin_opendss_pu": float(vm.min()),
        "vmin_at": "{}.{}".format(*vm.idxmin()[1:]),
        "ev_kw": [round(float(x), 2) for x in co.stations.p.value[0] * data.s_base_kva],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", type=int, default=96)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    feeder = g.feeders.ieee123()
    pm = build_phase_model(feeder)
    T = args.periods
    record = {
        "phase_model_build_s": best_of(lambda: build_phase_model(feeder)),
        "nodes": pm.nn,
        "phase_branches": pm.nb,
        "load_entries": pm.ne,
        "block_build_s": best_of(lambda: unbalanced(pm, T, load_mult=1.0)),
        "plain_lindist3flow_error": plain_error(pm),
        "closed": closed_ev(feeder, pm, T),
        "balanced": balanced_ev(feeder, T),
        "peak_rss_mb": peak_mb(),
    }
    text = json.dumps(record, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
