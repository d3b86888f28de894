"""Benchmarks of the grid engine: where the time goes, and against what.

Each benchmark solves one case shape (feeder x periods, 2 PV + 2 wind, losses objective) and
reports seconds by phase: ``build`` (CVXPY problem from data), ``compile`` (CVXPY
canonicalization), ``solver`` (the solver's own time), ``total`` (build + solve wall time),
``bare_solver`` (Clarabel called directly on the same conic data, timed here), the
``total_over_bare`` ratio, the ``resolve`` time with changed Parameters (DPP, no rebuild)
against a ``fresh`` build-and-solve, the AC replay (``replay_first``: the first replay in the
process, as a user gets it, :func:`gridv2g.validation.use_numba` choosing pandapower's numba
path when it pays; ``replay_again``: the same call repeated; ``replay_numba_warm``: numba
forced, kernels already compiled) and the peak memory of the
build and solve (the process's resident memory, solvers included, :class:`PeakRSS`): the peak
and its rise during the run. The sizes sweep (:func:`bench_sizes`) solves one case at several
sizes by ``CoOptimization.resize`` on one compiled problem against a rebuild per size. Speed
lives here, not in tests.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import time
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd

from gridv2g import progress
from gridv2g.problems.co_optimize import CoOptimization, DERData, GridData
from gridv2g.profiles import Horizon, price_shape, standard_shape
from gridv2g.solvers import SOLVER_DEFAULTS
from gridv2g.validation import validate

#: DER of the benchmark cases: (name, kind, bus, kVA) per feeder
DER = {
    "ieee33": [("pv18", "pv", "18", 500), ("pv33", "pv", "33", 500),
               ("wt22", "wind", "22", 400), ("wt25", "wind", "25", 400)],
    "ieee123": [("pv65", "pv", "65", 400), ("pv101", "pv", "101", 400),
                ("wt49", "wind", "49", 300), ("wt83", "wind", "83", 300)],
}  # fmt: skip
V_SOURCE = {"ieee33": None, "ieee123": 0.965}
VMIN = {"ieee33": 0.90, "ieee123": 0.95}


class PeakRSS:
    """Context manager sampling this process's resident memory every 10 ms [MB].

    Unlike tracemalloc it sees native allocations (the solvers) and does not slow Python down;
    ``peak_mb`` is the largest RSS seen, ``delta_mb`` its rise over the RSS at entry.
    """

    def __init__(self, interval_s: float = 0.01):
        self.interval_s = interval_s
        self.peak_mb = self.start_mb = 0.0

    @staticmethod
    def rss_mb() -> float:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize() / 2**20

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self.rss_mb())
            self._stop.wait(self.interval_s)

    def __enter__(self):
        import threading

        self.start_mb = self.peak_mb = self.rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self.rss_mb())

    @property
    def delta_mb(self) -> float:
        return self.peak_mb - self.start_mb


def grid_case(feeder_name: str, periods: int) -> GridData:
    """The benchmark case: shipped feeder, one day at ``periods`` steps, 2 PV + 2 wind."""
    from gridv2g.feeders import load_feeder

    horizon = Horizon(pd.Timestamp("2024-06-21"), periods, 1440 // periods)
    units = pd.DataFrame(DER[feeder_name], columns=["name", "kind", "bus", "s_kva"])
    units = units.set_index("name")
    shape = {"pv": standard_shape("clear_sky_pv", horizon), "wind": standard_shape("wind", horizon)}
    avail = pd.DataFrame({n: shape[k] for n, k in units.kind.items()}, index=horizon.index)
    return GridData(
        feeder=load_feeder(feeder_name),
        horizon=horizon,
        load_scale=standard_shape("residential", horizon).rename("*").to_frame(),
        price_per_kwh=price_shape("tou", horizon),
        der=DERData(units=units, availability=avail),
        vmin_pu=VMIN[feeder_name],
        v_source_pu=V_SOURCE[feeder_name],
        curtailment=False,
    )


def bare_solver_seconds(problem: cp.Problem, solver: str = "CLARABEL", repeat: int = 3) -> float:
    """Best-of-``repeat`` time of the solver alone on the problem's conic data."""
    data, chain, _ = problem.get_problem_data(solver)
    impl = chain.solver
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        impl.solve_via_data(
            data,
            warm_start=False,
            verbose=False,
            solver_opts=dict(SOLVER_DEFAULTS["grid"]["CLARABEL"]),
        )
        best = min(best, time.perf_counter() - t0)
    return float(best)


def bench_grid(feeder_name: str, periods: int) -> dict:
    """One record: seconds by phase, ratios, peak memory, for one feeder x periods."""
    # timed runs (best of 3), then one run watched by PeakRSS for the memory
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        co = CoOptimization(grid_case(feeder_name, periods), dpp=False)
        result = co.solve()
        wall = time.perf_counter() - t0
        # what a user waits for a solution: build + compile + solver (result tables apart)
        total = co.timings["build_s"] + co.timings["total_s"]
        if best is None or total < best[0]:
            best = (total, wall, co, result)
    total, wall, co, result = best
    with PeakRSS() as mem:
        CoOptimization(grid_case(feeder_name, periods), dpp=False).solve()
    bare = bare_solver_seconds(co.problem)

    # re-solve with changed prices through Parameters vs a fresh build, both DPP
    dpp = CoOptimization(grid_case(feeder_name, periods), dpp=True)
    t1 = time.perf_counter()
    dpp.solve()
    first_dpp = time.perf_counter() - t1
    prices = dpp.data.price_per_kwh * 1.1
    t1 = time.perf_counter()
    dpp.update(price_per_kwh=prices)
    dpp.solve()
    resolve = time.perf_counter() - t1
    t1 = time.perf_counter()
    CoOptimization(grid_case(feeder_name, periods), dpp=False).solve()
    fresh = time.perf_counter() - t1

    t1 = time.perf_counter()
    report = validate(result)
    replay_first = time.perf_counter() - t1
    t1 = time.perf_counter()
    validate(result)
    replay_again = time.perf_counter() - t1
    validate(result, numba=True)  # compiles pandapower's numba kernels if not yet done
    t1 = time.perf_counter()
    validate(result, numba=True)
    replay_numba_warm = time.perf_counter() - t1
    seconds = {
        "build": co.timings["build_s"],
        "compile": co.timings["compile_s"],
        "solver": co.timings["solve_s"],
        "total": total,
        "result_tables": wall - total,
        "bare_solver": bare,
        "first_dpp_solve": first_dpp,
        "resolve": resolve,
        "fresh": fresh,
        "replay_first": replay_first,
        "replay_again": replay_again,
        "replay_numba_warm": replay_numba_warm,
    }
    return {
        "name": f"{feeder_name}_x{periods}",
        "seconds": seconds,
        "ratios": {
            "total_over_bare_solver": total / bare,
            "resolve_over_fresh": resolve / fresh,
        },
        "peak_memory_mb": mem.delta_mb,
        "peak_rss_mb": mem.peak_mb,
        "figures": {
            "losses_kwh": result.summary["losses_kwh"],
            "max_relaxation_gap": result.summary["max_relaxation_gap"],
            "flagged_periods": report.summary["flagged_periods"],
            "variables": int(sum(v.size for v in co.problem.variables())),
            "constraints": len(co.problem.constraints),
        },
    }


def station_case(n_ev: int, milp: bool = False, seed: int = 11):
    """Seed 001-style overnight lot of ``n_ev`` EVs, 96 x 15 min, V2G, a transformer of
    5 kW per EV; ``milp``: charge/discharge exclusiveness and ports for 40 % of the EVs."""
    from gridv2g.fleet import seed001_lot
    from gridv2g.inputs import Prices, StationData, StationSpec

    horizon = Horizon(pd.Timestamp("2024-01-01 12:00"), 96, 15)
    sessions = seed001_lot(n=n_ev, seed=seed, day="2024-01-01")
    idx = horizon.index
    buy = price_shape("caiso", horizon)
    limit = pd.DataFrame({"lot": 5.0 * n_ev}, index=idx)
    ports = float(max(1, round(0.4 * n_ev))) if milp else np.nan
    spec = StationSpec(
        stations=pd.DataFrame({"ports": [ports]}, index=pd.Index(["lot"], name="station")),
        p_import_max_kw=limit,
        p_export_max_kw=limit,
    )
    zero = pd.Series(0.0, index=idx)
    return StationData(
        horizon=horizon,
        sessions=sessions,
        stations=spec,
        prices=Prices(buy=buy, sell=buy, tariff=zero, v2g_pay=zero),
        degradation_per_kwh=0.02,
        exclusive=milp,
        soft_target=milp,  # fewer ports than EVs: targets may not all be reachable
        shortfall_penalty_per_kwh=1.0,
    )


def bench_station(
    n_ev: int, milp: bool = False, time_limit_s: float = 300.0, limits_on: str | None = None
) -> dict:
    """One record: build / compile / solver seconds of a station LP or MILP (``limits_on``:
    the site-limit form, :class:`~gridv2g.problems.station.StationSchedule`)."""
    from gridv2g.problems.station import StationSchedule

    data = station_case(n_ev, milp)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        sched = StationSchedule(data, limits_on=limits_on)
        options = {"time_limit": time_limit_s} if milp else {}
        result = sched.solve(**options)
        wall = time.perf_counter() - t0
    t = sched.timings
    form = "" if limits_on is None else f"_{limits_on}_limits"
    return {
        "name": f"station_{n_ev}ev_x96_{'milp' if milp else 'lp'}{form}",
        "seconds": {
            "build": t["build_s"],
            "compile": t["compile_s"],
            "solver": t["solve_s"],
            "total": t["build_s"] + t["total_s"],
            "result_tables": wall - t["build_s"] - t["total_s"],
        },
        "ratios": {"total_over_solver": (t["build_s"] + t["total_s"]) / t["solve_s"]},
        "peak_memory_mb": mem.delta_mb,
        "peak_rss_mb": mem.peak_mb,
        "figures": {
            "solver": result.summary["solver"],
            "status": result.summary["status"],
            "mip_gap": result.summary["mip_gap"],
            "savings_vs_uncontrolled_percent": result.summary["savings_vs_uncontrolled_percent"],
            "variables": int(sum(v.size for v in sched.problem.variables())),
            "objective": result.summary["objective"],
            "iterations": sched.problem.solver_stats.num_iters,
        },
    }


def bench_station_forms(n_ev: int) -> dict:
    """The station LP of ``n_ev`` EVs in its previous form (site limits on the net import)
    and its current one (limits as bounds on import and export), one after the other in one
    process: seconds of each, their ratio, and the objectives' difference."""
    old = bench_station(n_ev, limits_on="net")
    new = bench_station(n_ev, limits_on="split")
    return {
        "name": f"station_{n_ev}ev_x96_lp_limit_forms",
        "seconds": {
            "net_form_total": old["seconds"]["total"],
            "split_total": new["seconds"]["total"],
            "net_form_solver": old["seconds"]["solver"],
            "split_solver": new["seconds"]["solver"],
        },
        "ratios": {"net_form_over_split": old["seconds"]["total"] / new["seconds"]["total"]},
        "peak_memory_mb": max(old["peak_memory_mb"], new["peak_memory_mb"]),
        "peak_rss_mb": max(old["peak_rss_mb"], new["peak_rss_mb"]),
        "figures": {
            "objective_difference": abs(old["figures"]["objective"] - new["figures"]["objective"]),
            "net_form_iterations": old["figures"]["iterations"],
            "split_iterations": new["figures"]["iterations"],
        },
    }


#: the bus of the benchmark EV lot on each feeder (far from the substation)
LOT_BUS = {"ieee33": "18", "ieee123": "65"}
#: buses of the lots when a fleet is spread (three-phase buses on IEEE 123)
LOT_BUSES = {
    "ieee33": ["18", "33", "25", "30", "22", "14", "10", "7", "28", "4"],
    "ieee123": ["65", "76", "60", "52", "47", "18", "13", "97", "101", "108"],
}
#: most EVs per lot of a spread fleet
EVS_PER_LOT = 500
#: site import/export limit per EV of a spread fleet [kW] (300 kW per lot of 500)
SPREAD_KW_PER_EV = 0.6


def fleet_grid_case(
    feeder_name: str, n_ev: int, need_scale: float = 1.0, aggregate: bool = False
) -> GridData:
    """The grid benchmark case of ``feeder_name`` (2 PV + 2 wind, 96 x 15 min from noon) with
    the :func:`station_case` lot of ``n_ev`` EVs co-optimized: up to :data:`EVS_PER_LOT` EVs
    at :data:`LOT_BUS`, more spread over lots of at most that many at :data:`LOT_BUSES`, each
    behind a converter of 6 kVA per EV; minimum cost of substation energy (CAISO-like) +
    degradation. ``need_scale`` scales every EV's energy to charge (target minus arrival):
    the lot's full needs (about 30 kWh per EV) for 5,000 EVs are about 150 MWh a night,
    which IEEE 123 (3.5 MW of load) cannot deliver within its voltage limits; the scale case
    uses top-ups (``need_scale=0.1``) and a spread fleet's sites are limited to
    :data:`SPREAD_KW_PER_EV` each way (converters 1.2 times that): lots of 2.5 MW each on a
    5 MVA feeder made OpenDSS diverge on the unbalanced model's plan. ``aggregate``: the
    fleet's scale mode.

    Line ratings are not enforced: IEEE 123's conductor ratings (Kersting 2001) bind on its
    trunk and the 175 A cables l61-l64 with 500 EVs at bus 65 (the elastic diagnosis asks for
    0.202 kA on l61), and the record measures speed on the same problem as earlier releases."""

    from gridv2g.problems.co_optimize import StationSlotData

    fleet = station_case(n_ev)
    lots = max(1, -(-n_ev // EVS_PER_LOT))
    names = ["lot"] if lots == 1 else [f"lot{k}" for k in range(lots)]
    buses = [LOT_BUS[feeder_name]] if lots == 1 else LOT_BUSES[feeder_name][:lots]
    if len(buses) < lots:
        raise ValueError(f"at most {len(LOT_BUSES[feeder_name]) * EVS_PER_LOT} EVs")
    sessions = fleet.sessions.copy()
    sessions["station"] = [names[k * lots // n_ev] for k in range(n_ev)]
    need = sessions.e_target_kwh - sessions.e_arrival_kwh
    sessions["e_target_kwh"] = sessions.e_arrival_kwh + need_scale * need
    count = sessions.station.value_counts().reindex(names).to_numpy(float)
    hz = fleet.horizon
    idx = pd.Index(names, name="station")
    kw_per_ev = 5.0 if lots == 1 else SPREAD_KW_PER_EV
    site_limit = pd.DataFrame(np.outer(np.ones(hz.periods), kw_per_ev * count), hz.index, names)
    fleet = dataclasses.replace(
        fleet,
        sessions=sessions,
        stations=dataclasses.replace(
            fleet.stations,
            stations=pd.DataFrame({"ports": np.nan}, index=idx),
            p_import_max_kw=site_limit,
            p_export_max_kw=site_limit,
        ),
        aggregate=aggregate,
    )
    base = grid_case(feeder_name, 96)
    shapes = {"pv": "clear_sky_pv", "wind": "wind"}
    avail = pd.DataFrame(
        {u: standard_shape(shapes[k], hz) for u, k in base.der.units.kind.items()}, index=hz.index
    )
    s_kva = 1.2 * kw_per_ev * count
    slots = pd.DataFrame(
        {"bus": buses, "s_kva": s_kva, "p_variable": True, "fleet": True}, index=idx
    )
    limit = pd.DataFrame(np.outer(np.ones(hz.periods), s_kva), hz.index, names)
    return dataclasses.replace(
        base,
        horizon=hz,
        load_scale=standard_shape("residential", hz).rename("*").to_frame(),
        price_per_kwh=price_shape("caiso", hz),
        der=DERData(base.der.units, avail),
        stations=StationSlotData(slots=slots, p_min_kw=-limit, p_max_kw=limit),
        fleet=fleet,
        objective={"energy_cost": 1.0},
        ampacity=False,
    )


def bench_fleet_grid(
    feeder_name: str,
    n_ev: int,
    need_scale: float = 1.0,
    aggregate: bool = False,
    compare: bool = False,
) -> dict:
    """One record: an EV lot inside the grid SOCP (:func:`fleet_grid_case`), build / compile /
    solver seconds and the AC replay's worst figures. ``aggregate``: the scale mode, with the
    disaggregation's seconds and every EV checked against its own limits and target
    (``ev_violations``); ``compare``: the per-EV model solved too, its objective and time."""
    from gridv2g.model.aggregate import ev_violations
    from gridv2g.validation import validate

    data = fleet_grid_case(feeder_name, n_ev, need_scale, aggregate)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        co = CoOptimization(data, dpp=False)
        result = co.solve()
        total = time.perf_counter() - t0
    report = validate(result)
    extra, seconds, ratios = {}, {}, {}
    if aggregate:
        s = data.fleet.sessions.index
        c = result.res_ev.p_charge_kw.unstack("ev")[s].to_numpy().T
        d = result.res_ev.p_discharge_kw.unstack("ev")[s].to_numpy().T
        extra = {
            "groups": co.timings["groups"],
            "aggregation_rounds": co.timings["aggregation_rounds"],
            "ev_violations": len(ev_violations(co.fleet.ev, c, d, data.horizon.hours)),
            "objective": co.problem.value,
        }
        seconds["disaggregation"] = co.timings["disaggregation_s"]
    if compare:
        per_ev = dataclasses.replace(data, fleet=dataclasses.replace(data.fleet, aggregate=False))
        t0 = time.perf_counter()
        full = CoOptimization(per_ev, dpp=False)
        full.solve()
        seconds["per_ev_model_total"] = time.perf_counter() - t0
        ratios["per_ev_over_aggregate"] = seconds["per_ev_model_total"] / total
        extra["per_ev_objective"] = full.problem.value
        extra["objective_relative_difference"] = abs(co.problem.value - full.problem.value) / abs(
            full.problem.value
        )
    mode = "_aggregate" if aggregate else ""
    need = "" if need_scale == 1.0 else f"_need{need_scale:g}"
    return {
        "name": f"{feeder_name}_{n_ev}ev_x96{need}{mode}",
        "seconds": {
            "build": co.timings["build_s"],
            "compile": co.timings["compile_s"],
            "solver": co.timings["solve_s"],
            "total": total,
            "replay": report.summary["replay_s"],
            **seconds,
        },
        "ratios": {"total_over_solver": total / co.timings["solve_s"], **ratios},
        "peak_memory_mb": mem.delta_mb,
        "peak_rss_mb": mem.peak_mb,
        "figures": {
            "variables": int(sum(v.size for v in co.problem.variables())),
            "max_relaxation_gap": result.summary["max_relaxation_gap"],
            "flagged_periods": report.summary["flagged_periods"],
            "max_dv_pu": report.summary["max_dv_pu"],
            "ev_charged_kwh": result.summary["ev_charged_kwh"],
            **extra,
        },
    }


def bench_siting_shared(workers=(1, 2), reference: bool = True) -> dict:
    """Seed 004's siting (``cases/ieee123_gao2019_siting.yaml``): the PSO's wall time on 1
    and 2 screening workers (the same seed, so the same decisions), the speed-up, the best
    screening cost, its gap to the MILP reference and the chosen plan's OpenDSS voltages."""
    from gridv2g.api import load_case
    from gridv2g.siting.swarm import site_shared_case

    case = load_case(
        Path(__file__).resolve().parent.parent / "cases" / "ieee123_gao2019_siting.yaml"
    )
    runs = {}
    for n in workers:
        runs[n] = site_shared_case(case, workers=n, reference=reference and n == max(workers))
    last = runs[max(workers)]
    f = last.figures
    v = last.verified[last.verified.decision == last.best_decision].iloc[0]
    seconds = {f"pso_{n}_workers": r.figures["pso_s"] for n, r in runs.items()}
    return {
        "name": "siting_gao2019_ieee123",
        "seconds": {**seconds, "verify": f["verify_s"], "milp": f.get("milp_s")},
        "ratios": {"speedup_1_to_2": runs[min(workers)].figures["pso_s"] / f["pso_s"]},
        "figures": {
            "solved": f["evaluations_solved"],
            "asked": f["evaluations_asked"],
            "pso_cost": f["pso_best_screening_cost"],
            "milp_cost": f.get("milp_cost"),
            "gap_to_milp": f.get("gap_to_milp"),
            "chosen": last.best[["bus", "phases", "capacity_ratio"]].to_dict("index"),
            "vmin_pu": float(v.vmin_pu),
            "vmax_pu": float(v.vmax_pu),
            "voltage_violations": int(v.voltage_violations),
        },
    }


def bench_siting(n_ev: int = 30) -> dict:
    """Siting the :func:`fleet_grid_case` lot of ``n_ev`` EVs on IEEE 33 over 4 buses x 4
    converter sizes (PSO, 6 particles x 8 iterations): seconds, distinct sub-problems solved,
    and whether the swarm found the enumerated optimum."""
    from gridv2g.siting import SitingProblem, SitingSpec, enumerate_sites, pso

    spec = SitingSpec(
        candidates={"lot": ["18", "6", "25", "30"]},
        sizes_kva={"lot": [2.0 * n_ev, 4.0 * n_ev, 6.0 * n_ev, 8.0 * n_ev]},
        cost_per_kva_day=0.05,
    )
    problem = SitingProblem(fleet_grid_case("ieee33", n_ev), spec)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        swarm = pso(problem, particles=6, iterations=8, seed=1, progress=False)
        seconds = time.perf_counter() - t0
    solved = len(problem.cache)
    exact = enumerate_sites(problem)
    return {
        "name": f"siting_ieee33_{n_ev}ev_4x4",
        "seconds": {"pso": seconds, "per_subproblem": seconds / solved},
        "ratios": {"solved_over_combinations": solved / len(exact.evaluations)},
        "peak_memory_mb": mem.delta_mb,
        "peak_rss_mb": mem.peak_mb,
        "figures": {
            "solved": solved,
            "combinations": len(exact.evaluations),
            "pso_total": swarm.cost["total"],
            "exact_total": exact.cost["total"],
            "found_optimum": bool(swarm.best.equals(exact.best)),
        },
    }


def bench_mpc(n_ev: int, rebuild_steps: int = 3, compare_steps: int = 6) -> dict:
    """Rolling-horizon control of an ``n_ev`` lot over 96 periods (the default plugged-entries
    form): the per-step re-solve with Parameters against rebuilding (build + compile + solve)
    the problem at each step, and against the earlier dense (EV x period) form re-solved on
    the same ``compare_steps`` steps (after every EV has arrived, same energies)."""
    from gridv2g.problems.mpc import RollingHorizon

    data = station_case(n_ev)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        mpc = RollingHorizon(data)
        result = mpc.run(progress=False)
        wall = time.perf_counter() - t0
    # rebuild per step, timed on a few steps once every EV has arrived (full-size problems)
    k0 = int(mpc._a.max())
    energy = result.res_ev.e_kwh.unstack("ev")[data.sessions.index].to_numpy().T
    rebuild = []
    for k in range(k0, k0 + rebuild_steps):
        t1 = time.perf_counter()
        fresh = RollingHorizon(data)
        fresh.set_step(k, energy[:, k - 1])
        fresh.problem.solve(solver="CLARABEL", ignore_dpp=True)  # the fastest one-shot path
        rebuild.append(time.perf_counter() - t1)
    # both forms re-solved on the same steps (the first solve compiles: not timed)
    per_form, values = {}, {}
    for form in ("plugged", "dense"):
        m = RollingHorizon(data, form=form)
        m.set_step(k0 - 1, energy[:, k0 - 2])
        m.problem.solve(solver="CLARABEL")
        times = []
        for k in range(k0, k0 + compare_steps):
            m.set_step(k, energy[:, k - 1])
            t1 = time.perf_counter()
            m.problem.solve(solver="CLARABEL")
            times.append(time.perf_counter() - t1)
            values.setdefault(form, []).append(m.problem.value)
        per_form[form] = float(np.mean(times))
    agree = max(
        abs(x - y) / max(1.0, abs(y))
        for x, y in zip(values["plugged"], values["dense"], strict=True)
    )
    s = result.summary
    return {
        "name": f"mpc_{n_ev}ev_x96",
        "seconds": {
            "build": s["build_s"],
            "first_step": s["first_step_s"],
            "resolve_per_step": s["resolve_mean_s"],
            "rebuild_per_step": float(np.mean(rebuild)),
            "resolve_per_step_same_steps_plugged": per_form["plugged"],
            "resolve_per_step_same_steps_dense": per_form["dense"],
            "total": wall,
        },
        "ratios": {
            "rebuild_over_resolve": float(np.mean(rebuild)) / s["resolve_mean_s"],
            "dense_over_plugged": per_form["dense"] / per_form["plugged"],
        },
        "peak_memory_mb": mem.delta_mb,
        "peak_rss_mb": mem.peak_mb,
        "figures": {
            "solves": s["solves"],
            "fallback_steps": s["fallback_steps"],
            "cost": s["cost"],
            "shortfall_kwh": s["shortfall_kwh"],
            "savings_vs_uncontrolled_percent": s["savings_vs_uncontrolled_percent"],
            "step_objective_max_rel_difference_plugged_vs_dense": agree,
        },
    }


def sized_case(data: GridData, factor: float) -> GridData:
    """``data`` with every size times ``factor``, built directly (no ``resize``): DER and
    slot ratings [kVA], the slots' +-rating bounds and the fleet sites' import and export
    limits [kW]."""
    from gridv2g.problems.co_optimize import StationSlotData

    der = data.der
    if der is not None:
        units = der.units.assign(s_kva=der.units.s_kva.astype(float) * factor)
        der = dataclasses.replace(der, units=units)
    st = data.stations
    if st is not None:
        slots = st.slots.assign(s_kva=st.slots.s_kva.astype(float) * factor)
        st = StationSlotData(
            slots=slots,
            p_kw=st.p_kw,
            p_min_kw=None if st.p_min_kw is None else st.p_min_kw * factor,
            p_max_kw=None if st.p_max_kw is None else st.p_max_kw * factor,
        )
    fleet = data.fleet
    if fleet is not None:
        spec = fleet.stations
        spec = dataclasses.replace(
            spec,
            p_import_max_kw=spec.p_import_max_kw * factor,
            p_export_max_kw=spec.p_export_max_kw * factor,
        )
        fleet = dataclasses.replace(fleet, stations=spec)
    return dataclasses.replace(data, der=der, stations=st, fleet=fleet)


#: size factors of the sizes sweep (of the case's DER, slot and site-limit sizes)
SIZE_FACTORS = (1.0, 0.6, 0.8, 1.2, 1.4)


def bench_sizes(
    feeder_name: str = "ieee33", periods: int = 96, n_ev: int = 0, factors=SIZE_FACTORS
) -> dict:
    """The sizes sweep: one case solved at each of ``factors`` x its sizes (DER ratings; with
    ``n_ev`` > 0 the :func:`fleet_grid_case` lot's converter and site limits too), once by
    ``CoOptimization.resize`` on one DPP problem (built and compiled at the first factor,
    then resized and re-solved: no rebuild, no recompile) and once by a fresh build and
    one-shot solve (``dpp=False``, the fastest one-shot path) per size of
    :func:`sized_case`. ``resize_sweep`` includes the DPP build and first (compiling) solve;
    ``resize_per_size`` is the mean over the other factors; ``max_objective_difference``:
    the largest relative difference between the two paths' objectives."""
    if n_ev and periods != 96:
        raise ValueError("the fleet case runs 96 periods")
    base = fleet_grid_case(feeder_name, n_ev) if n_ev else grid_case(feeder_name, periods)
    cases = [sized_case(base, f) for f in factors]

    with PeakRSS() as mem:
        t0 = time.perf_counter()
        co = CoOptimization(cases[0], dpp=True)
        build = time.perf_counter() - t0
        objectives = [co.solve().objective]
        first = time.perf_counter() - t0 - build
        program = co.problem._cache.param_prog
        resize, solver = [], []
        for data in cases[1:]:
            t1 = time.perf_counter()
            co.resize(
                der_s_kva=data.der.units.s_kva if data.der is not None else None,
                station_s_kva=data.stations.slots.s_kva if data.stations is not None else None,
                import_limit_kw=_first_row(data.fleet, "p_import_max_kw"),
                export_limit_kw=_first_row(data.fleet, "p_export_max_kw"),
            )
            objectives.append(co.solve().objective)
            resize.append(time.perf_counter() - t1)
            solver.append(co.timings["solve_s"])
        recompiled = co.problem._cache.param_prog is not program
        resize_sweep = time.perf_counter() - t0

        rebuild, fresh = [], []
        for data in cases:
            t1 = time.perf_counter()
            fresh.append(CoOptimization(data, dpp=False).solve().objective)
            rebuild.append(time.perf_counter() - t1)
    diff = max(abs(a - b) / max(abs(b), 1e-9) for a, b in zip(objectives, fresh, strict=True))
    resize_mean, rebuild_mean = float(np.mean(resize)), float(np.mean(rebuild))
    return {
        "name": f"{feeder_name}_sizes_{n_ev}ev_x{periods}",
        "seconds": {
            "build": build,
            "first_solve": first,
            "resize_per_size": resize_mean,
            "rebuild_per_size": rebuild_mean,
            "solver_per_size": float(np.mean(solver)),
            "resize_sweep": resize_sweep,
            "rebuild_sweep": float(np.sum(rebuild)),
        },
        "ratios": {
            "rebuild_over_resize": rebuild_mean / resize_mean,
            "rebuild_sweep_over_resize_sweep": float(np.sum(rebuild)) / resize_sweep,
        },
        "peak_memory_mb": mem.delta_mb,
        "peak_rss_mb": mem.peak_mb,
        "figures": {
            "sizes": len(factors),
            "factors": [float(f) for f in factors],
            "objectives": [float(x) for x in objectives],
            "max_objective_difference": float(diff),
            "recompiled": bool(recompiled),
        },
    }


def _first_row(fleet, key: str):
    """{station: limit [kW]} of a fleet's constant site limits (None without a fleet)."""
    if fleet is None:
        return None
    return getattr(fleet.stations, key).iloc[0]


def bench_unbalanced(
    periods: int, n_ev: int, need_scale: float = 1.0, aggregate: bool = False
) -> dict:
    """One record: the per-phase formulation closed against OpenDSS on IEEE 123 (the
    :func:`grid_case` DER case; with ``n_ev`` > 0 the :func:`fleet_grid_case` lot at bus 65):
    build, each solve, each OpenDSS replay, iterations, total, peak memory, the OpenDSS
    figures of the delivered plan, and the balanced SOCP's total time on the same case."""

    if n_ev:
        data = fleet_grid_case("ieee123", n_ev, need_scale, aggregate)
        if periods != 96:
            raise ValueError("the fleet case runs 96 periods")
    else:
        data = dataclasses.replace(grid_case("ieee123", periods), ampacity=False)
    unbalanced = dataclasses.replace(data, formulation="unbalanced")
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        co = CoOptimization(unbalanced, dpp=False)
        build = time.perf_counter() - t0
        result = co.solve()
        total = time.perf_counter() - t0
    it = result.closing
    t0 = time.perf_counter()
    CoOptimization(dataclasses.replace(data, formulation="balanced_socp"), dpp=False).solve()
    balanced = time.perf_counter() - t0
    return {
        "name": f"ieee123_unbalanced_{n_ev}ev_x{periods}"
        + ("" if need_scale == 1.0 else f"_need{need_scale:g}")
        + ("_aggregate" if aggregate else ""),
        "seconds": {
            "build": build,
            "solves": [float(x) for x in it.solve_s],
            "replays": [float(x) for x in it.replay_s],
            "total": total,
            "balanced_socp_total": balanced,
        },
        "ratios": {"total_over_balanced_socp": total / balanced},
        "peak_memory_mb": mem.delta_mb,
        "peak_rss_mb": mem.peak_mb,
        "figures": {
            "iterations": len(it),
            "variables": int(sum(v.size for v in co.problem.variables())),
            "opendss_violation_pu": result.summary["opendss_violation_pu"],
            "model_error_pu": result.summary["model_error_pu"],
            "losses_error_percent": result.summary["losses_error_percent"],
            "vuf_max_percent": result.summary["vuf_max_percent"],
        },
    }


def run(quick: bool = False, json_path: str | Path | None = None, echo=print) -> list[dict]:
    """Run the benchmarks (``quick``: 24 periods, small fleets); print a line per record
    (``echo``), write JSON records; a progress bar counts the records (:mod:`gridv2g.progress`)."""
    say = echo
    plan = [("ieee33", 24), ("ieee123", 24)] if quick else [("ieee33", 96), ("ieee123", 96)]
    stations = [(50, False), (20, True)] if quick else [(500, False), (50, True)]
    records = []
    # (feeder, EVs, need scale, aggregate, compare with the per-EV model)
    fleet_plan = (
        [("ieee33", 50, 1.0, False, False), ("ieee33", 50, 1.0, True, True)]
        if quick
        else [
            ("ieee33", 500, 1.0, False, False),
            ("ieee123", 500, 1.0, False, False),
            ("ieee123", 1000, 0.1, True, True),
            ("ieee123", 5000, 0.1, True, False),
        ]
    )
    unbalanced_plan = (
        [(24, 0, 1.0, False)]
        if quick
        else [(96, 0, 1.0, False), (96, 500, 1.0, False), (96, 5000, 0.1, True)]
    )
    sizes_plan = [("ieee33", 24, 0)] if quick else [("ieee33", 96, 0), ("ieee33", 96, 50)]
    total = len(plan) + len(stations) + len(fleet_plan) + len(unbalanced_plan)
    total += len(sizes_plan) + 2 + (0 if quick else 2)  # siting, MPC; forms, shared siting
    bar = progress.bar(total=total, desc="bench", unit="record")

    def echo(text: str) -> None:  # a record is done: its line, then the bar moves
        bar.clear()
        say(text)
        bar.update()

    for feeder_name, periods in plan:
        record = bench_grid(feeder_name, periods)
        records.append(record)
        s, r = record["seconds"], record["ratios"]
        echo(
            f"{record['name']:>12s}: build {s['build']:.3f} s, compile {s['compile']:.3f} s, "
            f"solver {s['solver']:.3f} s, total {s['total']:.3f} s, bare solver "
            f"{s['bare_solver']:.3f} s (total/bare {r['total_over_bare_solver']:.2f}); "
            f"re-solve {s['resolve']:.3f} s vs fresh {s['fresh']:.3f} s; "
            f"AC replay {s['replay_first']:.3f} s first in process, {s['replay_again']:.3f} s "
            f"again, {s['replay_numba_warm']:.3f} s numba warm; "
            f"RSS peak {record['peak_rss_mb']:.0f} MB (+{record['peak_memory_mb']:.0f} MB)"
        )
    if not quick:
        record = bench_station_forms(5000)
        records.append(record)
        s, f = record["seconds"], record["figures"]
        echo(
            f"{record['name']:>26s}: limits on the net import {s['net_form_total']:.2f} s "
            f"({f['net_form_iterations']} iterations), on import/export {s['split_total']:.2f} s "
            f"({f['split_iterations']} iterations): x{record['ratios']['net_form_over_split']:.2f}"
            f"; objectives differ by {f['objective_difference']:.1e}"
        )
    for n_ev, milp in stations:
        record = bench_station(n_ev, milp)
        records.append(record)
        s, f = record["seconds"], record["figures"]
        gap = f" (MIP gap {f['mip_gap']:.2g})" if f["mip_gap"] is not None else ""
        echo(
            f"{record['name']:>26s}: build {s['build']:.3f} s, compile {s['compile']:.3f} s, "
            f"solver {s['solver']:.3f} s ({f['solver']}, {f['status']}{gap}), total "
            f"{s['total']:.3f} s; {f['variables']} variables; "
            f"RSS peak {record['peak_rss_mb']:.0f} MB (+{record['peak_memory_mb']:.0f} MB)"
        )
    for feeder_name, n_ev, need_scale, aggregate, compare in fleet_plan:
        record = bench_fleet_grid(feeder_name, n_ev, need_scale, aggregate, compare)
        records.append(record)
        s, f = record["seconds"], record["figures"]
        echo(
            f"{record['name']:>26s}: build {s['build']:.3f} s, compile {s['compile']:.3f} s, "
            f"solver {s['solver']:.3f} s, total {s['total']:.3f} s; {f['variables']} variables; "
            f"AC replay {s['replay']:.2f} s: max gap {f['max_relaxation_gap']:.1e}, max |dV| "
            f"{f['max_dv_pu']:.1e} pu, {f['flagged_periods']} flagged; "
            f"RSS peak {record['peak_rss_mb']:.0f} MB"
            + (
                f"; {f['groups']} groups, disaggregation {s['disaggregation']:.2f} s, "
                f"{f['ev_violations']} EV limit violations"
                if aggregate
                else ""
            )
            + (
                f"; per-EV model {s['per_ev_model_total']:.2f} s, objective relative "
                f"difference {f['objective_relative_difference']:.1e}"
                if compare
                else ""
            )
        )
    for periods, n_ev, need_scale, aggregate in unbalanced_plan:
        record = bench_unbalanced(periods, n_ev, need_scale, aggregate)
        records.append(record)
        s, f = record["seconds"], record["figures"]
        echo(
            f"{record['name']:>26s}: build {s['build']:.3f} s, {f['iterations']} solves "
            f"({', '.join(f'{x:.2f}' for x in s['solves'])} s), replays "
            f"{sum(s['replays']):.2f} s, total {s['total']:.2f} s vs balanced SOCP "
            f"{s['balanced_socp_total']:.2f} s "
            f"(x{record['ratios']['total_over_balanced_socp']:.1f});"
            f" OpenDSS: violation {f['opendss_violation_pu']:.1e} pu, model error "
            f"{f['model_error_pu']:.1e} pu, losses {f['losses_error_percent']:+.2f} %; "
            f"RSS peak {record['peak_rss_mb']:.0f} MB"
        )
    record = bench_siting()
    records.append(record)
    f = record["figures"]
    echo(
        f"{record['name']:>26s}: PSO {record['seconds']['pso']:.2f} s, {f['solved']} of "
        f"{f['combinations']} choices solved ({record['seconds']['per_subproblem']:.2f} s each); "
        f"found the enumerated optimum: {f['found_optimum']}"
    )
    if not quick:
        record = bench_siting_shared()
        records.append(record)
        s, f = record["seconds"], record["figures"]
        echo(
            f"{record['name']:>26s}: PSO {s['pso_1_workers']:.1f} s on 1 worker, "
            f"{s['pso_2_workers']:.1f} s on 2 (x{record['ratios']['speedup_1_to_2']:.2f}); "
            f"{f['solved']} of {f['asked']} decisions solved; gap to the MILP "
            f"{100 * f['gap_to_milp']:.3f} %; OpenDSS {f['vmin_pu']:.4f}-{f['vmax_pu']:.4f} pu"
        )
    record = bench_mpc(50 if quick else 500)
    records.append(record)
    s = record["seconds"]
    echo(
        f"{record['name']:>26s}: {record['figures']['solves']} solves, re-solve "
        f"{s['resolve_per_step']:.3f} s per step vs rebuild {s['rebuild_per_step']:.3f} s "
        f"(x{record['ratios']['rebuild_over_resolve']:.2f}); same steps: plugged form "
        f"{s['resolve_per_step_same_steps_plugged']:.3f} s vs dense (earlier) form "
        f"{s['resolve_per_step_same_steps_dense']:.3f} s "
        f"(x{record['ratios']['dense_over_plugged']:.2f}); first step {s['first_step']:.3f} s, "
        f"total {s['total']:.1f} s; RSS peak {record['peak_rss_mb']:.0f} MB"
    )
    for feeder_name, periods, n_ev in sizes_plan:
        record = bench_sizes(feeder_name, periods, n_ev)
        records.append(record)
        s, r, f = record["seconds"], record["ratios"], record["figures"]
        echo(
            f"{record['name']:>26s}: {f['sizes']} sizes, resize + re-solve "
            f"{s['resize_per_size']:.3f} s per size vs rebuild {s['rebuild_per_size']:.3f} s "
            f"(x{r['rebuild_over_resize']:.2f}; solver {s['solver_per_size']:.3f} s); sweep "
            f"{s['resize_sweep']:.2f} s with the DPP build and first solve "
            f"({s['first_solve']:.2f} s) vs {s['rebuild_sweep']:.2f} s rebuilding "
            f"(x{r['rebuild_sweep_over_resize_sweep']:.2f}); objectives "
            f"{f['max_objective_difference']:.1e} apart; recompiled: {f['recompiled']}"
        )
    bar.close()
    if json_path is not None:
        Path(json_path).write_text(json.dumps(records, indent=2, default=str) + "\n")
    return records
