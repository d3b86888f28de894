r"""Per-EV schedules from flexibility-group profiles (the scale mode's second step).

For each group :math:`g` (:mod:`gridv2g.model.aggregate`) with profiles :math:`C_t, D_t` [kW]
(and shortfall :math:`S` [kWh] with soft targets), one LP over its members' plugged periods:

.. math::
    \text{find } c, d, e, s: \quad
    |\textstyle\sum_{n \in g} c_{n,t} - C_t| \le \epsilon, \quad
    |\textstyle\sum_{n \in g} d_{n,t} - D_t| \le \epsilon, \quad
    e_{n,t} = e_{n,t-1} + h(\eta^c c_{n,t} - d_{n,t} / \eta^d),

    0 \le c \le P^c_n, \quad 0 \le d \le P^d_n, \quad
    \min(e^{min}_n, e^{arr}_n) \le e_{n,t} \le \max(e^{max}_n, e^{arr}_n), \quad
    e_{n,d} + s_n \ge e^{target}_n, \quad \textstyle\sum_n s_n \le S + \epsilon

(:math:`s = 0` with hard targets). Any feasible point of this LP will do (a vertex of it as
well). Whether one exists depends on the group profile, hence on which optimum the first step
returned: a vertex of the group model often has none, an interior point usually has one
(:func:`gridv2g.solvers.interior_options`); either way the result is checked. It is solved by
HiGHS (``scipy.optimize.linprog``), groups in parallel over a process pool. An infeasible
group LP means the group profile is not a sum of its members' schedules (the group model is a
relaxation): the group is reported in ``failed`` and the caller splits it into single EVs and
re-solves (:func:`gridv2g.model.aggregate.refine`); schedules are only ever returned for groups
whose LP was solved, and :func:`~gridv2g.model.aggregate.ev_violations` checks them again
against every EV's own limits.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from gridv2g.model.aggregate import FlexibilityGroups
from gridv2g.model.station import EVArrays

#: tolerance of a group profile's reproduction [kW or kWh, relative to the group's rating]
MATCH_TOL = 1e-7


@dataclass
class Disaggregation:
    """``c``, ``d`` (n x T) [kW] per-EV schedules, ``shortfall_kwh`` (n,), ``failed``: groups
    whose profile has no per-EV schedules (their rows are zero), ``seconds`` wall time."""

    c: np.ndarray
    d: np.ndarray
    shortfall_kwh: np.ndarray
    failed: list[int]
    seconds: float


def _group_lp(task: dict) -> tuple[int, np.ndarray | None]:
    """Solve one group's LP (module docstring): the group sums as equalities first, within a
    band of :data:`MATCH_TOL` times the group's rating if that is infeasible (a first-step
    solution is feasible only to the solver's tolerance). ``task``: members' arrays over the
    group's plugged periods; returns (group, x) with x = [c (k x W), d (k x W), s (k)] or
    None."""
    for band in (0.0, MATCH_TOL * max(1.0, task["scale"])):
        x = _group_lp_band(task, band)
        if x is not None:
            return task["group"], x
    return task["group"], None


def _group_lp_band(task: dict, tol: float) -> np.ndarray | None:
    k, W = task["k"], task["W"]
    h, eta_c, eta_d = task["hours"], task["eta_c"], task["eta_d"]
    v2g, soft = task["v2g"], task["soft"]
    kw = k * W
    nd = kw if v2g else 0
    ns = k if soft else 0
    # variables: c (kw), d (nd), e (kw), s (ns)
    n_var = kw + nd + kw + ns
    I_k = sp.identity(k, format="csr")
    rec = sp.identity(W, format="csr") - sp.eye(W, k=-1, format="csr")
    blocks = [-h * eta_c * sp.identity(kw, format="csr")]
    if v2g:
        blocks.append((h / eta_d) * sp.identity(kw, format="csr"))
    blocks.append(sp.kron(I_k, rec, format="csr"))
    if soft:
        blocks.append(sp.csr_matrix((kw, ns)))
    A_eq = sp.hstack(blocks, format="csr")
    b_eq = np.zeros(kw)
    b_eq[::W] = task["e_arrival"]
    # group sums within a band, target rows, the shortfall budget
    S = sp.kron(np.ones((1, k)), sp.identity(W), format="csr")
    zeros_w = sp.csr_matrix((W, kw))
    rows, rhs = [], []
    c_rows = sp.hstack([S, sp.csr_matrix((W, n_var - kw))], format="csr")
    rows += [c_rows, -c_rows]
    rhs += [task["C"] + tol, -(task["C"] - tol)]
    if v2g:
        d_rows = sp.hstack([zeros_w, S, sp.csr_matrix((W, kw + ns))], format="csr")
        rows += [d_rows, -d_rows]
        rhs += [task["D"] + tol, -(task["D"] - tol)]
    j = task["dep_pos"]
    if j >= 0:  # energy at departure = energy at the end of plugged period j
        pick = sp.csr_matrix((np.full(k, -1.0), (np.arange(k), kw + nd + np.arange(k) * W + j)),
                             shape=(k, n_var))  # fmt: skip
        if soft:
            pick = pick - sp.csr_matrix(
                (np.ones(k), (np.arange(k), kw + nd + kw + np.arange(k))), shape=(k, n_var)
            )
        rows.append(pick)
        rhs.append(-task["e_target"])
    if soft:
        budget = sp.csr_matrix(
            (np.ones(k), (np.zeros(k, dtype=int), kw + nd + kw + np.arange(k))), shape=(1, n_var)
        )
        rows.append(budget)
        rhs.append(np.array([task["S"] + tol]))
    A_ub = sp.vstack(rows, format="csr")
    b_ub = np.concatenate(rhs)
    lo = np.concatenate(
        [
            np.zeros(kw + nd),
            np.repeat(task["e_lo"], W),
            np.zeros(ns),
        ]
    )
    hi = np.concatenate(
        [
            np.repeat(task["p_c"], W),
            np.repeat(task["p_d"], W) if v2g else np.zeros(0),
            np.repeat(task["e_hi"], W),
            np.full(ns, np.inf),
        ]
    )
    res = linprog(
        np.zeros(n_var),
        A_ub=A_ub,
        b_ub=b_ub,
        A_eq=A_eq,
        b_eq=b_eq,
        bounds=np.column_stack([lo, hi]),
        method="highs",
    )
    return res.x if res.status == 0 else None


def _run_chunk(tasks: list[dict]) -> list[tuple[int, np.ndarray | None]]:
    return [_group_lp(t) for t in tasks]


def disaggregate(
    ev: EVArrays,
    groups: FlexibilityGroups,
    C: np.ndarray,
    D: np.ndarray,
    hours: float,
    shortfall_kwh: np.ndarray | None = None,
    workers: int | None = None,
) -> Disaggregation:
    """Per-EV schedules reproducing the group profiles ``C``, ``D`` (G x T) [kW] (and group
    shortfalls [kWh] with soft targets), group LPs over ``workers`` processes (default: up
    to 2, 1 for fewer than 8 groups). See the module docstring."""
    import time

    t0 = time.perf_counter()
    n, T = ev.mask.shape
    G = groups.count
    ga = groups.arrays
    soft = shortfall_kwh is not None
    lo_all = np.minimum(ev.e_min_kwh, ev.e_arrival_kwh)
    hi_all = np.maximum(ev.e_max_kwh, ev.e_arrival_kwh)
    order = np.argsort(groups.label, kind="stable")
    bounds = np.searchsorted(groups.label[order], np.arange(G + 1))
    tasks, periods = [], []
    for g in range(G):
        m = order[bounds[g] : bounds[g + 1]]
        P = np.flatnonzero(ga.mask[g])
        periods.append(P)
        dep = ga.departure_index[g]
        tasks.append(
            {
                "group": g,
                "k": len(m),
                "W": len(P),
                "hours": hours,
                "eta_c": float(ga.eta_charge[g]),
                "eta_d": float(ga.eta_discharge[g]),
                "v2g": bool(ga.p_discharge_max_kw[g] > 0),
                "soft": soft,
                "C": np.clip(C[g, P], 0.0, ga.p_charge_max_kw[g]),
                "D": np.clip(D[g, P], 0.0, ga.p_discharge_max_kw[g]),
                "S": float(shortfall_kwh[g]) if soft else 0.0,
                "scale": float(ga.p_charge_max_kw[g] + ga.p_discharge_max_kw[g]),
                "e_arrival": ev.e_arrival_kwh[m],
                "e_target": ev.e_target_kwh[m],
                "e_lo": lo_all[m],
                "e_hi": hi_all[m],
                "p_c": ev.p_charge_max_kw[m],
                "p_d": ev.p_discharge_max_kw[m],
                "dep_pos": int(np.searchsorted(P, dep) - 1),
            }
        )
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if G >= 8 else 1
    if workers > 1:
        # largest groups first, dealt round-robin: chunks of similar work
        by_size = sorted(range(G), key=lambda g: -tasks[g]["k"] * tasks[g]["W"])
        chunks = [[tasks[g] for g in by_size[w::workers]] for w in range(workers)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            solved = [r for part in pool.map(_run_chunk, chunks) for r in part]
    else:
        solved = _run_chunk(tasks)
    c = np.zeros((n, T))
    d = np.zeros((n, T))
    s = np.zeros(n)
    failed = []
    for g, x in solved:
        if x is None:
            failed.append(g)
            continue
        m = order[bounds[g] : bounds[g + 1]]
        k, W, P = len(m), len(periods[g]), periods[g]
        c[np.ix_(m, P)] = x[: k * W].reshape(k, W)
        if tasks[g]["v2g"]:
            d[np.ix_(m, P)] = x[k * W : 2 * k * W].reshape(k, W)
        if soft:
            s[m] = x[-k:]
    return Disaggregation(
        c=np.maximum(c, 0.0),
        d=np.maximum(d, 0.0),
        shortfall_kwh=s,
        failed=sorted(failed),
        seconds=time.perf_counter() - t0,
    )


def block_schedule(ev: EVArrays, groups: FlexibilityGroups, block, hours: float, soft: bool):
    """Disaggregate a solved group block (:func:`disaggregate` on its ``c``, ``d`` and
    shortfall values). Raises an AggregationError if schedules of solved groups break an EV's
    limits (which the group LPs exclude: a guard, never expected)."""
    from gridv2g.errors import AggregationError
    from gridv2g.model.aggregate import ev_violations

    C = np.asarray(block.c.value, dtype=float)
    D = np.asarray(block.d.value, dtype=float)
    S = np.asarray(block.shortfall.value, dtype=float) if soft else None
    dis = disaggregate(ev, groups, C, D, hours, S)
    ok = ~np.isin(groups.label, dis.failed)
    bad = ev_violations(ev, dis.c, dis.d, hours, dis.shortfall_kwh if soft else None)
    bad = bad[ok[bad.ev.to_numpy()]]
    if len(bad):
        raise AggregationError(
            f"disaggregation: {bad.ev.nunique()} EV(s) break their limits (worst "
            f"{bad.excess.max():.3g} on {bad.check.iloc[int(bad.excess.argmax())]})"
        )
    return dis
