r"""Scale mode of the station block: EVs as flexibility groups, and a check of per-EV schedules.

A **flexibility group** is a set of EVs with the same station, plug-in mask (arrival and
departure periods), departure boundary, efficiencies and power ratings (the key of
:func:`flexibility_groups`; ``split`` refines it). The group enters the station block as one
"virtual EV" with the sums of its members' arrival energies, energy bounds and targets, and
the members' common window, ratings times the member count, and efficiencies:

.. math::
    C_t = \sum_{n \in g} c_{n,t}, \quad D_t = \sum_{n \in g} d_{n,t}, \quad
    E_t = \sum_{n \in g} e_{n,t}, \qquad
    0 \le C_t \le \textstyle\sum P^c_n, \quad \sum e^{min}_n \le E_t \le \sum e^{max}_n,
    \quad E_{d} \ge \sum e^{target}_n.

Every set of per-EV schedules sums to a point of this set (the recursion is linear with the
group's common efficiencies), so the group model is a **relaxation** of the per-EV model and its
optimum is a lower bound. It is exact (the Minkowski sum of the members' sets) when the members
are homothetic (the same EV up to one scale factor; identical EVs in particular), but not in
general: two EVs on one period with 10 kW, one already full and one empty, sum to a group that
may charge 20 kW, which neither can share. Hence the scale mode never trusts a group profile:
:func:`gridv2g.problems.disaggregate.disaggregate` looks, group by group, for per-EV schedules
that sum to it and meet every member's limits and target. When all groups succeed, the per-EV
schedules are feasible for the per-EV model and have the relaxation's optimal value, so they
are optimal for the per-EV model (certified exact). A group that fails is split into its
single EVs (:func:`refine`) and the problem solved again; single EVs are exact, so every
round turns at least one group into EVs that never fail again, and the loop ends.

Units: kW, kWh, hours (no per-unit here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridv2g.errors import AggregationError
from gridv2g.model.station import EVArrays


@dataclass
class FlexibilityGroups:
    """``label`` (n,) the group of each EV; ``arrays`` the groups as virtual EVs (length G);
    ``split`` (n,) the refinement key the groups were built with."""

    label: np.ndarray
    arrays: EVArrays
    split: np.ndarray

    @property
    def count(self) -> int:
        return len(self.arrays.station)

    def members(self, g: int) -> np.ndarray:
        return np.flatnonzero(self.label == g)


def check_aggregable(ev: EVArrays, ports: np.ndarray, exclusive: bool, names=None) -> None:
    """Raise an :class:`~gridv2g.errors.AggregationError` when EVs are coupled beyond their
    station's sums: limited ports, shared chargers, or charge/discharge binaries."""
    if exclusive:
        raise AggregationError(
            "aggregate: charge/discharge exclusiveness is a per-EV binary choice; a group's "
            "sum cannot carry it. Solve the per-EV model (aggregate=False) or drop exclusive"
        )
    if np.isfinite(ports).any():
        raise AggregationError(
            "aggregate: stations with limited ports assign ports EV by EV (binaries); solve "
            "the per-EV model (aggregate=False) or leave ports unlimited"
        )
    shared = np.flatnonzero(ev.charger >= 0)
    if len(shared):
        who = [str(names[i]) if names is not None else str(i) for i in shared[:5]]
        raise AggregationError(
            f"aggregate: {len(shared)} EV(s) share a charger's limit (e.g. {who}); the limit "
            "couples EVs of different groups. Solve the per-EV model (aggregate=False)"
        )


def flexibility_groups(ev: EVArrays, split: np.ndarray | None = None) -> FlexibilityGroups:
    """Group the EVs of ``ev`` by station, plug-in mask, departure boundary, efficiencies and
    power ratings [kW] (and ``split``, an integer refinement key, default all 0), and build
    each group's virtual EV (module docstring)."""
    n = len(ev.station)
    split = np.zeros(n, dtype=np.int64) if split is None else np.asarray(split, dtype=np.int64)
    key = np.column_stack(
        [
            ev.station,
            ev.departure_index,
            ev.eta_charge,
            ev.eta_discharge,
            ev.p_charge_max_kw,
            ev.p_discharge_max_kw,
            split,
            ev.mask.astype(float),
        ]
    )
    _, first, label = np.unique(key, axis=0, return_index=True, return_inverse=True)
    label = label.ravel()
    G = len(first)
    count = np.bincount(label, minlength=G).astype(float)

    def total(x):
        return np.bincount(label, weights=np.asarray(x, dtype=float), minlength=G)

    lo = np.minimum(ev.e_min_kwh, ev.e_arrival_kwh)
    hi = np.maximum(ev.e_max_kwh, ev.e_arrival_kwh)
    arrays = EVArrays(
        station=ev.station[first],
        charger=np.full(G, -1),
        e_arrival_kwh=total(ev.e_arrival_kwh),
        e_target_kwh=total(ev.e_target_kwh),
        e_min_kwh=total(lo),
        e_max_kwh=total(hi),
        p_charge_max_kw=ev.p_charge_max_kw[first] * count,
        p_discharge_max_kw=ev.p_discharge_max_kw[first] * count,
        eta_charge=ev.eta_charge[first],
        eta_discharge=ev.eta_discharge[first],
        departure_index=ev.departure_index[first],
        mask=ev.mask[first],
    )
    return FlexibilityGroups(label=label, arrays=arrays, split=split)


def refine(groups: FlexibilityGroups, failed) -> np.ndarray:
    """A finer ``split`` key: the members of each ``failed`` group become single EVs.

    Single EVs end the repair: a one-EV group is the EV's own model, so its profile always
    disaggregates and a failed group never fails again. (Cutting a failed group into a few
    parts by arrival energy, the first version, kept the problem smaller but failed again and
    again: from a simplex vertex of HiGHS the 500-EV bench lot took 8 rounds, 96 -> 490
    groups and 115 s, against 3 rounds and 33.7 s with single EVs.)"""
    split = groups.split.copy()
    members = np.flatnonzero(np.isin(groups.label, list(failed)))
    split[members] = int(split.max(initial=0)) + 1 + np.arange(len(members))
    return split


def ev_energy(ev: EVArrays, c: np.ndarray, d: np.ndarray, hours: float) -> np.ndarray:
    """(n x T+1) energy [kWh] at period boundaries of schedules ``c``, ``d`` (n x T) [kW]."""
    step = hours * (ev.eta_charge[:, None] * c - d / ev.eta_discharge[:, None])
    return ev.e_arrival_kwh[:, None] + np.concatenate(
        [np.zeros((len(c), 1)), np.cumsum(step, axis=1)], axis=1
    )


def ev_violations(
    ev: EVArrays,
    c: np.ndarray,
    d: np.ndarray,
    hours: float,
    shortfall_kwh: np.ndarray | None = None,
    tol: float = 1e-6,
) -> pd.DataFrame:
    """Every breach of an EV's own limits by schedules ``c``, ``d`` (n x T) [kW]: power
    outside the plug-in window, below 0 or above the rating; energy, recomputed from the
    schedule, outside [min(e_min, e_arrival), max(e_max, e_arrival)] at the end of a plugged
    period; energy at departure below the target minus ``shortfall_kwh`` (soft targets; None:
    hard). Columns ev (position), check, period (-1: departure), excess [kW or kWh]; empty when
    every EV keeps its limits within ``tol``."""
    e = ev_energy(ev, c, d, hours)
    lo = np.minimum(ev.e_min_kwh, ev.e_arrival_kwh)[:, None]
    hi = np.maximum(ev.e_max_kwh, ev.e_arrival_kwh)[:, None]
    cap_c = np.where(ev.mask, ev.p_charge_max_kw[:, None], 0.0)
    cap_d = np.where(ev.mask, ev.p_discharge_max_kw[:, None], 0.0)
    end = e[:, 1:]
    checks = {
        "p_charge_below_0": -c,
        "p_discharge_below_0": -d,
        "p_charge_above_rating": c - cap_c,
        "p_discharge_above_rating": d - cap_d,
        "e_below_min": np.where(ev.mask, lo - end, 0.0),
        "e_above_max": np.where(ev.mask, end - hi, 0.0),
    }
    rows = []
    for name, excess in checks.items():
        i, t = np.nonzero(excess > tol)
        rows.append(pd.DataFrame({"ev": i, "check": name, "period": t, "excess": excess[i, t]}))
    n = len(c)
    short = np.zeros(n) if shortfall_kwh is None else np.asarray(shortfall_kwh, dtype=float)
    miss = ev.e_target_kwh - short - e[np.arange(n), ev.departure_index]
    i = np.flatnonzero(miss > tol)
    rows.append(pd.DataFrame({"ev": i, "check": "e_below_target", "period": -1, "excess": miss[i]}))
    return pd.concat(rows, ignore_index=True)
