"""Seed 004's master problem: a particle swarm over locations and capacity shares, screened
in parallel with a cache, its best candidates evaluated in full on the feeder closed against
OpenDSS, and the gap to the exact MILP.

The swarm is pymoo's PSO (Blank & Deb 2020, ``pymoo.algorithms.soo.nonconvex.pso``) on the
random-key box of :func:`gridv2g.siting.shared.decode`: pymoo's mixed-variable support
(``Choice``/``Integer`` variables) comes with genetic operators, not a swarm, and a PSO
position needs a continuous space; random keys keep the candidates categorical (the top-k
scores open, never a repeated lot, no order among candidates). Each generation's decisions are
decoded, deduplicated, taken from the cache (keyed on the decoded decision) or screened by
:class:`~gridv2g.siting.screening.SitingModel` on workers that each compile the model once
and keep it (:class:`Screening`: ``workers`` local processes, 1 = in this process, or a Dask
cluster, ``address``). The best ``verify`` distinct feasible decisions are
then solved in full: the co-optimization (:class:`~gridv2g.problems.co_optimize.CoOptimization`)
of those stations with their EVs (per-EV station block, hard targets), per-phase model with
ampacity, closed against OpenDSS, whose voltages are reported.

The evaluations run through :mod:`gridv2g.parallel`, the runners :mod:`gridv2g.batch` runs
its scenarios on (batch sits above siting in the layers; the runners sit below both): a local
pool whose processes compile the model when they start, or Dask, where the data goes to every
worker once as a plugin and each worker compiles its model at its first evaluation
(:mod:`gridv2g.siting.on_dask`). Each generation's new decisions are submitted together and
their rows kept in the order asked. An evaluation that kills its worker process fails alone:
the others in flight are re-run, it is retried alone, then recorded as infeasible with the
reason (``why``), as is one the solver fails on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gridv2g.errors import GridV2GError, InfeasibleError, SolveError
from gridv2g.parallel import DaskRunner, ProcessRunner, WorkerLost
from gridv2g.siting.screening import SitingModel, failed_row, screen
from gridv2g.siting.shared import Decision, SharedSitingSpec, decode, n_variables


@dataclass
class SharedSitingResult:
    """``best``: Table 2's columns for the chosen plan (:meth:`SharedSitingSpec.assignment`);
    ``best_decision``; ``screening``: every distinct decision screened (cost, feasibility,
    seconds, cached or not); ``verified``: the full evaluations (OpenDSS-closed cost, voltage
    range, violations); ``history``: the swarm's best screening cost per generation;
    ``figures``: timings, counts, the MILP reference and the gap."""

    best: pd.DataFrame
    best_decision: Decision
    screening: pd.DataFrame
    verified: pd.DataFrame
    history: pd.Series
    figures: dict = field(default_factory=dict)


# ---------------------------------------------------------------------- the evaluators
_WORKER: dict = {}


def _init_worker(base, spec: SharedSitingSpec, solver: str) -> None:
    _WORKER["model"] = SitingModel(base, spec)
    _WORKER["solver"] = solver


def _screen(decision: Decision) -> dict:
    return screen(_WORKER["model"], decision, _WORKER["solver"])


def _data_key(base, spec: SharedSitingSpec) -> str:
    """A key unique to one screening: a hash of its data, and a random part."""
    digest = hashlib.sha256(pickle.dumps((base, spec))).hexdigest()[:16]
    return f"{digest}-{uuid.uuid4().hex[:8]}"


class Screening:
    """Cached, parallel screening of decisions (module docstring). ``calls``: decisions
    asked for; ``order``: the distinct decisions solved, in order; ``cache``: their rows.

    Where it runs: ``address`` None: ``workers`` local processes (1: in this process);
    ``"local"``: a local Dask cluster of ``workers`` processes, loopback only, no dashboard,
    closed with the screening; ``"tcp://host:port"``: a running Dask scheduler (connect only
    to one you trust: a Dask client runs what the cluster sends back). A decision whose
    evaluation kills its worker process (every time it runs, :mod:`gridv2g.parallel`) or
    fails in the solver is recorded as infeasible at
    :data:`~gridv2g.siting.screening.FAILED_COST`, with the reason in ``why``; the others
    are kept."""

    def __init__(
        self,
        base,
        spec: SharedSitingSpec,
        workers: int = 1,
        solver: str = "HIGHS",
        address: str | None = None,
    ):
        self.spec, self.workers, self.solver = spec, int(workers), solver
        self.address = address
        self.cache: dict[Decision, dict] = {}
        self.calls = 0
        self.order: list[Decision] = []
        self.model = self.runner = self.key = None
        if address is not None:
            from gridv2g.siting.on_dask import SitingData

            self.key = _data_key(base, spec)
            self.runner = DaskRunner(None if address == "local" else address, self.workers)
            try:
                self.runner.client.register_plugin(SitingData(self.key, base, spec))
            except BaseException:
                self.runner.close()
                raise
        elif self.workers <= 1:
            self.model = SitingModel(base, spec)
        else:
            self.runner = ProcessRunner(self.workers, _init_worker, (base, spec, solver))

    @property
    def where(self) -> str:
        """Where the evaluations run, in words."""
        if self.address == "local":
            return f"a local Dask cluster of {self.workers} worker(s)"
        if self.address is not None:
            return f"Dask at {self.address}"
        return "this process" if self.workers <= 1 else f"{self.workers} worker processes"

    def close(self) -> None:
        if self.runner is None:
            return
        runner, self.runner = self.runner, None
        try:
            if self.key is not None:  # a shared cluster keeps running: free our models
                runner.client.unregister_worker_plugin(f"gridv2g-siting-{self.key}")
        finally:
            runner.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def rows(self, decisions: list[Decision]) -> list[dict]:
        """Rows of ``decisions`` (in order): cached ones at once, the rest solved, in
        parallel across workers, each distinct decision once."""
        self.calls += len(decisions)
        todo = list(dict.fromkeys(d for d in decisions if d not in self.cache))
        if todo:
            if self.model is not None:
                done = {d: screen(self.model, d, self.solver) for d in todo}
            else:
                done = {}

                def keep(decision, row) -> None:
                    if isinstance(row, WorkerLost):
                        row = failed_row(self.spec, decision, row.reason)
                    done[decision] = row

                if self.key is not None:
                    from gridv2g.siting import on_dask

                    calls = [(d, (self.key, d, self.solver)) for d in todo]
                    self.runner.run(on_dask.evaluate, calls, keep)
                else:
                    self.runner.run(_screen, [(d, (d,)) for d in todo], keep)
            for d in todo:  # in the order asked, whatever order they finished in
                self.cache[d] = done[d]
                self.order.append(d)
        return [self.cache[d] for d in decisions]

    def table(self) -> pd.DataFrame:
        rows = [self.cache[d] for d in self.order]
        return pd.DataFrame(rows)


# ---------------------------------------------------------------------- the swarm
def run_pso(
    screening: Screening,
    particles: int = 16,
    iterations: int = 12,
    seed: int = 0,
) -> tuple[Decision, pd.Series]:
    """pymoo's PSO over the random keys; returns the best decision found and the best cost
    per generation. Deterministic given ``seed`` (and the cache only saves solves)."""
    from pymoo.algorithms.soo.nonconvex.pso import PSO
    from pymoo.core.callback import Callback
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize

    spec = screening.spec

    class Keys(Problem):
        def __init__(self):
            super().__init__(n_var=n_variables(spec), n_obj=1, xl=0.0, xu=1.0)

        def _evaluate(self, X, out, *args, **kwargs):
            rows = screening.rows([decode(spec, x) for x in X])
            out["F"] = np.array([[r["cost"]] for r in rows])

    class Best(Callback):
        def __init__(self):
            super().__init__()
            self.best: list[float] = []

        def notify(self, algorithm):
            self.best.append(float(algorithm.opt.get("F").min()))

    callback = Best()
    result = minimize(
        Keys(),
        PSO(pop_size=int(particles)),
        ("n_gen", int(iterations) + 1),
        seed=int(seed),
        callback=callback,
        verbose=False,
    )
    best = decode(spec, np.asarray(result.X, float).ravel())
    return best, pd.Series(callback.best, name="best_cost", dtype=float)


# ---------------------------------------------------------------------- full evaluation
def plan_data(base, spec: SharedSitingSpec, decision: Decision):
    """The grid data of a decision: one fleet station per open lot (its bus and phase,
    capacity as converter kVA and import limit) and its EVs (eq. 44)."""
    from gridv2g.inputs import Prices, StationData, StationSlotData, StationSpec

    spec.check(decision)
    table = spec.assignment(decision)
    index = base.horizon.index
    names = list(table.index)
    cap = table.capacity_kw.to_numpy(float)
    slots = pd.DataFrame(
        {
            "bus": table.bus.astype(str),
            "s_kva": cap,
            "p_variable": True,
            "fleet": True,
            "phases": table.phases.astype(str),
            "conn": "wye",
        },
        index=pd.Index(names, name="station"),
    )
    limits = pd.DataFrame(np.tile(cap, (len(index), 1)), index=index, columns=names)
    stations = StationSlotData(slots=slots, p_kw=limits * 0.0, p_min_kw=-limits, p_max_kw=limits)
    buy = base.price_per_kwh.reindex(index).rename("buy_per_kwh")
    zero = pd.Series(0.0, index=index)
    fleet = StationData(
        horizon=base.horizon,
        sessions=spec.decision_sessions(decision).drop(columns=["ev_id"]),
        stations=StationSpec(
            stations=pd.DataFrame({"ports": np.nan}, index=pd.Index(names, name="station")),
            p_import_max_kw=limits,
            p_export_max_kw=pd.DataFrame(np.nan, index=index, columns=names),
        ),
        prices=Prices(buy=buy, sell=buy, tariff=zero, v2g_pay=zero),
        v2g=False,
    )
    return dataclasses.replace(base, stations=stations, fleet=fleet, formulation="unbalanced")


def verify(base, spec: SharedSitingSpec, decision: Decision, solver: str = "CLARABEL") -> dict:
    """The full evaluation of one decision: co-optimization of its stations and EVs on the
    per-phase model with ampacity, closed against OpenDSS (hard EV targets). Its cost is the
    substation energy cost with OpenDSS's losses plus the stations' cost; voltages are
    OpenDSS's of the delivered plan."""
    from gridv2g.problems.co_optimize import CoOptimization

    t0 = time.perf_counter()
    data = plan_data(base, spec, decision)
    stations = spec.cost_per_station_day * len(decision)
    try:
        result = CoOptimization(data, dpp=False).solve(solver)
    except (InfeasibleError, SolveError) as exc:
        return {
            "decision": decision,
            "feasible": False,
            "why": str(exc).splitlines()[0][:200],
            "seconds": time.perf_counter() - t0,
        }
    s = result.summary
    phase = result.res_bus_phase
    return {
        "decision": decision,
        "cost": float(result.objective) + stations,
        "energy_cost": float(result.objective),
        "station_cost": stations,
        "losses_kwh": s.get("losses_kwh"),
        "vmin_pu": float(phase.vm_pu.min()),
        "vmax_pu": float(phase.vm_pu.max()),
        "voltage_violations": int(s.get("voltage_violations", 0) or 0),
        "closing_iterations": s.get("closing_iterations"),
        "feasible": True,
        "why": "",
        "seconds": time.perf_counter() - t0,
    }


# ---------------------------------------------------------------------- the whole run
def site_shared(
    base,
    spec: SharedSitingSpec,
    particles: int = 16,
    iterations: int = 12,
    seed: int = 0,
    workers: int = 2,
    verify_best: int = 3,
    reference: bool = False,
    milp_time_limit_s: float = 600.0,
    solver: str = "CLARABEL",
    address: str | None = None,
) -> SharedSitingResult:
    """PSO (screening, parallel, cached) -> full evaluation of the best ``verify_best`` ->
    optionally the MILP reference and the swarm's gap to it (module docstring). The
    screening runs on ``workers`` local processes, or on Dask with ``address`` ("local": a
    local cluster of ``workers`` processes; or a scheduler's address), see
    :class:`Screening`."""
    t0 = time.perf_counter()
    with Screening(base, spec, workers, address=address) as screening:
        t_pso = time.perf_counter()
        swarm_best, history = run_pso(screening, particles, iterations, seed)
        pso_s = time.perf_counter() - t_pso
        table = screening.table()
    feasible = table[table.feasible].sort_values("cost", kind="stable")
    if feasible.empty:
        raise GridV2GError("siting: the swarm found no decision the screening calls feasible")
    candidates = list(feasible.decision.iloc[: max(int(verify_best), 1)])
    t_full = time.perf_counter()
    verified = pd.DataFrame([verify(base, spec, d, solver) for d in candidates])
    full_s = time.perf_counter() - t_full
    ok = verified[verified.feasible]
    chosen = ok.sort_values("cost").decision.iloc[0] if len(ok) else candidates[0]
    figures = {
        "pso_s": pso_s,
        "verify_s": full_s,
        "workers": int(workers),
        "screening_on": screening.where,
        "screening_failed": int((table.why != "").sum()),
        "particles": int(particles),
        "iterations": int(iterations),
        "evaluations_asked": int(screening.calls),
        "evaluations_solved": len(table),
        "pso_best_screening_cost": float(feasible.cost.iloc[0]),
        "pso_best_decision": str(feasible.decision.iloc[0]),
        "swarm_final_decision": str(swarm_best),
    }
    if reference:
        ref = milp_reference(base, spec, milp_time_limit_s)
        figures.update(
            milp_cost=ref["cost"],
            milp_bound=ref["bound"],
            milp_decision=str(ref["decision"]),
            milp_s=ref["seconds"],
            gap_to_milp=(figures["pso_best_screening_cost"] - ref["bound"]) / abs(ref["bound"]),
        )
    figures["total_s"] = time.perf_counter() - t0
    return SharedSitingResult(
        best=spec.assignment(chosen),
        best_decision=chosen,
        screening=table,
        verified=verified,
        history=history,
        figures=figures,
    )


def milp_reference(base, spec: SharedSitingSpec, time_limit_s: float = 600.0) -> dict:
    """The exact reference: the MILP over the same model and decision space (HiGHS)."""
    return SitingModel(base, spec, integer=True).solve_milp("HIGHS", time_limit_s)


# ---------------------------------------------------------------------- from a case
def shared_spec(case) -> SharedSitingSpec:
    """The :class:`SharedSitingSpec` of a case's ``shared_siting`` section."""
    s = case.shared_siting
    if s is None:
        raise GridV2GError(f"case '{case.name}' has no shared_siting section")
    lots = pd.DataFrame(
        {
            "bus": [x.bus for x in s.lots],
            "phases": [x.phases for x in s.lots],
            "lot": [x.lot for x in s.lots],
            "max_share": [x.max_share for x in s.lots],
        },
        index=pd.Index([x.name for x in s.lots], name="lot"),
    )
    if lots.index.duplicated().any():
        raise GridV2GError(f"case '{case.name}': duplicate lot names")
    extra = {"ev_counts": dict(s.ev_counts)} if s.ev_counts else {}
    return SharedSitingSpec(
        lots=lots,
        capacity_kw=dict(s.capacity_kw),
        k_min=s.k_min,
        k_max=s.k_max,
        share_steps=s.share_steps,
        cost_per_station_day=s.cost_per_station_day,
        seed=s.fleet_seed,
        day=str(case.horizon.start),
        step_min=case.horizon.minutes,
        **extra,
    )


def base_data(case):
    """The case's grid data without stations or fleet (the siting adds them)."""
    from gridv2g.case import grid_data

    if case.stations or case.fleet is not None:
        raise GridV2GError(
            f"case '{case.name}': shared siting places its own stations and fleet; remove "
            "stations and fleet from the case"
        )
    data = grid_data(case)
    unknown = sorted(set(case.shared_siting.lots_buses()) - set(data.feeder.bus.index))
    if unknown:
        raise GridV2GError(f"case '{case.name}': siting lots at unknown buses {unknown}")
    return data


def site_shared_case(
    case,
    workers: int | None = None,
    reference: bool | None = None,
    dask: bool | None = None,
    address: str | None = None,
):
    """Run a case's ``shared_siting`` section (``gridv2g site``). ``workers``, ``reference``
    and ``dask`` (a local Dask cluster) override the case's; ``address`` (a running Dask
    scheduler) is an argument only: a case file, possibly someone else's, never names a
    cluster to connect to."""
    s = case.shared_siting
    spec = shared_spec(case)
    if address is None and (s.dask if dask is None else dask):
        address = "local"
    return site_shared(
        base_data(case),
        spec,
        particles=s.particles,
        iterations=s.iterations,
        seed=s.seed,
        workers=s.workers if workers is None else workers,
        verify_best=s.verify,
        reference=s.reference if reference is None else reference,
        milp_time_limit_s=s.milp_time_limit_s,
        solver=case.solver.name,
        address=address,
    )


def all_decisions(spec: SharedSitingSpec) -> list[Decision]:
    """Every decision of the space (brute force; small instances only)."""
    import itertools

    def compositions(total: int, caps: list[int]):
        if not caps:
            if total == 0:
                yield ()
            return
        for first in range(1, min(caps[0], total) + 1):
            for rest in compositions(total - first, caps[1:]):
                yield (first, *rest)

    names, out = spec.names, []
    fast, slow = spec.has_class("fast"), spec.has_class("slow")
    for k in range(spec.k_min, spec.k_max + 1):
        for subset in itertools.combinations(range(len(names)), k):
            f_idx = [i for i in subset if fast[i]]
            s_idx = [i for i in subset if slow[i]]
            for f in compositions(spec.share_steps, [int(spec.max_steps[i]) for i in f_idx]):
                for s in compositions(spec.share_steps, [int(spec.max_steps[i]) for i in s_idx]):
                    fs, ss = dict(zip(f_idx, f, strict=True)), dict(zip(s_idx, s, strict=True))
                    out.append(tuple((names[i], fs.get(i, 0), ss.get(i, 0)) for i in subset))
    return out
