"""Station siting and sizing: a particle-swarm master problem over the grid co-optimization.

After Gao, Wu, Xu (2019), seed 004 section 4: the master problem chooses where each station
connects and how large it is; the sub-problem is the day's optimal operation of EVs, DER and
feeder (:class:`~gridv2g.problems.co_optimize.CoOptimization` with the fleet inside). Here each
fleet site ``s`` picks a bus among its candidates and a converter size among its options::

    minimise   operating objective of the day (the grid case's, fleet terms included)
             + cost_per_kva_day * sum_s size_s

A decision that makes the day infeasible (a voltage or converter limit the EVs cannot meet)
costs :data:`INFEASIBLE_COST` and is recorded as such. The particle swarm works on a continuous
box whose coordinates are rounded to (candidate, size) indices; a decision already evaluated is
taken from a cache, so the number of sub-problem solves is the number of distinct decisions.
:func:`enumerate_sites` is the exact reference: every combination, for small cases.

Each evaluation rebuilds the sub-problem: the bus choice changes the feeder incidence of the
station, which is structure, not a Parameter. (Sizes alone could be Parameters of one compiled
problem; that is the next step if sizing-only studies need speed.)
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gridv2g.errors import GridV2GError, InfeasibleError, SolveError

#: cost given to a decision whose day cannot be operated [money]
INFEASIBLE_COST = 1e12


@dataclass
class SitingSpec:
    """``candidates``: {site: [bus, ...]}; ``sizes_kva``: {site: [kVA, ...]} converter sizes;
    ``cost_per_kva_day``: annualised investment per kVA and day [money]."""

    candidates: dict[str, list[str]]
    sizes_kva: dict[str, list[float]]
    cost_per_kva_day: float = 0.0


@dataclass
class SitingResult:
    """``best``: one row per site (bus, s_kva); ``cost``: total, operating, investment;
    ``evaluations``: every distinct decision evaluated (its cost, feasibility, seconds);
    ``history``: the swarm's best cost per iteration."""

    best: pd.DataFrame
    cost: dict
    evaluations: pd.DataFrame
    history: pd.Series = field(default_factory=pd.Series)


class SitingProblem:
    """The master problem's view of a grid case with a fleet: decode, evaluate, cache."""

    def __init__(self, data, spec: SitingSpec, solver: str = "CLARABEL"):
        from gridv2g.problems.co_optimize import fleet_slots

        self.data, self.spec, self.solver = data, spec, solver
        if data.fleet is None:
            raise GridV2GError("siting needs a grid case with a fleet")
        self.sites = fleet_slots(data.stations)
        for name, table in (("candidates", spec.candidates), ("sizes_kva", spec.sizes_kva)):
            missing = [s for s in self.sites if not table.get(s)]
            extra = sorted(set(table) - set(self.sites))
            if missing or extra:
                raise GridV2GError(
                    f"siting {name}: give a non-empty list for every fleet site {self.sites}; "
                    f"missing {missing}, unknown {extra}"
                )
        for site, buses in spec.candidates.items():
            unknown = [b for b in buses if b not in data.feeder.bus.index]
            if unknown:
                raise GridV2GError(f"siting candidates of '{site}': unknown buses {unknown}")
        self.cache: dict[tuple, dict] = {}

    @property
    def shape(self) -> list[int]:
        """Number of options of every coordinate: (candidates, sizes) per site."""
        out = []
        for s in self.sites:
            out += [len(self.spec.candidates[s]), len(self.spec.sizes_kva[s])]
        return out

    def decode(self, index: tuple[int, ...]) -> pd.DataFrame:
        rows = []
        for k, s in enumerate(self.sites):
            rows.append(
                {
                    "site": s,
                    "bus": self.spec.candidates[s][index[2 * k]],
                    "s_kva": float(self.spec.sizes_kva[s][index[2 * k + 1]]),
                }
            )
        return pd.DataFrame(rows).set_index("site")

    def evaluate(self, index: tuple[int, ...]) -> dict:
        """Total cost of one decision (cached): operating objective + investment."""
        if index in self.cache:
            return self.cache[index]
        from gridv2g.problems.co_optimize import CoOptimization, StationSlotData

        plan = self.decode(index)
        st = self.data.stations
        slots = st.slots.copy()
        slots.loc[plan.index, "bus"] = plan.bus
        slots.loc[plan.index, "s_kva"] = plan.s_kva
        p_min, p_max = st.p_min_kw.copy(), st.p_max_kw.copy()
        p_min.loc[:, plan.index] = -plan.s_kva.to_numpy()
        p_max.loc[:, plan.index] = plan.s_kva.to_numpy()
        data = dataclasses.replace(
            self.data,
            stations=StationSlotData(slots=slots, p_kw=st.p_kw, p_min_kw=p_min, p_max_kw=p_max),
        )
        investment = self.spec.cost_per_kva_day * float(plan.s_kva.sum())
        t0 = time.perf_counter()
        try:
            result = CoOptimization(data, dpp=False).solve(self.solver)
            operating, feasible, why = float(result.objective), True, ""
        except (InfeasibleError, SolveError) as exc:
            operating, feasible, why = INFEASIBLE_COST, False, str(exc).splitlines()[0][:200]
        row = {
            "index": index,
            **{f"{s}_bus": plan.at[s, "bus"] for s in plan.index},
            **{f"{s}_s_kva": plan.at[s, "s_kva"] for s in plan.index},
            "operating": operating,
            "investment": investment,
            "total": operating + investment,
            "feasible": feasible,
            "why_infeasible": why,
            "seconds": time.perf_counter() - t0,
        }
        self.cache[index] = row
        return row

    def result(self, best: tuple[int, ...], history: pd.Series | None = None) -> SitingResult:
        row = self.evaluate(best)
        evaluations = pd.DataFrame(list(self.cache.values())).drop(columns="index")
        return SitingResult(
            best=self.decode(best),
            cost={k: row[k] for k in ("total", "operating", "investment", "feasible")},
            evaluations=evaluations,
            history=history if history is not None else pd.Series(dtype=float),
        )


def site_case(case, solver: str | None = None, progress: bool = True) -> SitingResult:
    """Run the ``siting`` section of a grid case (``gridv2g site CASE.yaml``)."""
    from gridv2g.case import grid_data

    spec = case.siting
    if spec is None:
        raise GridV2GError(f"case '{case.name}' has no siting section")
    problem = SitingProblem(
        grid_data(case),
        SitingSpec(spec.candidates, spec.sizes_kva, spec.cost_per_kva_day),
        solver or case.solver.name,
    )
    if spec.method == "enumerate":
        return enumerate_sites(problem)
    return pso(problem, spec.particles, spec.iterations, spec.seed, progress=progress)


def enumerate_sites(problem: SitingProblem) -> SitingResult:
    """The exact reference: evaluate every combination of candidates and sizes."""
    combos = list(itertools.product(*[range(n) for n in problem.shape]))
    best = min(combos, key=lambda index: problem.evaluate(index)["total"])
    return problem.result(best)


def pso(
    problem: SitingProblem,
    particles: int = 10,
    iterations: int = 20,
    seed: int = 0,
    inertia: float = 0.7,
    cognitive: float = 1.5,
    social: float = 1.5,
    progress: bool = True,
) -> SitingResult:
    """Particle swarm over the (candidate, size) indices of every site (global-best PSO with
    inertia; Kennedy and Eberhart 1995, Shi and Eberhart 1998). Positions live in
    [0, n_options) per coordinate and are floored to indices; velocities are clipped to half
    the range. Deterministic given ``seed``."""
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    upper = np.asarray(problem.shape, dtype=float)
    dims = len(upper)
    x = rng.uniform(0.0, upper, size=(particles, dims))
    v = rng.uniform(-upper / 2, upper / 2, size=(particles, dims))

    def index_of(position):
        return tuple(np.minimum(np.floor(position), upper - 1).astype(int).tolist())

    def costs(positions):
        return np.array([problem.evaluate(index_of(p))["total"] for p in positions])

    f = costs(x)
    best_x, best_f = x.copy(), f.copy()
    g = int(np.argmin(best_f))
    history = [best_f[g]]
    for _ in tqdm(range(iterations), desc="siting PSO", disable=not progress):
        r1, r2 = rng.random((particles, dims)), rng.random((particles, dims))
        v = inertia * v + cognitive * r1 * (best_x - x) + social * r2 * (best_x[g] - x)
        v = np.clip(v, -upper / 2, upper / 2)
        x = np.clip(x + v, 0.0, np.nextafter(upper, 0))
        f = costs(x)
        better = f < best_f
        best_x[better], best_f[better] = x[better], f[better]
        g = int(np.argmin(best_f))
        history.append(best_f[g])
    return problem.result(index_of(best_x[g]), pd.Series(history, name="best_total"))
