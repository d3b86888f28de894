"""Siting with one shared fleet (seed 004, Gao, Wu & Xu 2019, Sect. 4-5): the decision, its
encoding for a particle swarm, and the assignment of the fleet to the open stations (eq. 44).

**Decision.** Candidate parking lots (bus, phase, lot type); between ``k_min`` and ``k_max``
of them open (eq. 48-49). Seed 004 splits stations into fast charging (office), slow charging
(home) and both (complex) and gives each EV type to one class of charger (Table 2: types I/II
fast, III/IV slow). Eq. 44 (EVs to stations in proportion to capacity) is applied per charger
class: every open lot that takes fast EVs gets a *fast share* ``f_j`` and every open lot that
takes slow EVs a *slow share* ``s_j``, in whole steps of ``1 / share_steps``, each class's
shares summing to 1. Lot ``j`` then serves ``N_r f_j`` EVs of each fast type ``r`` and
``N_r s_j`` of each slow type (``N_r``: Table 1's 60/60/150/150), and its capacity is::

    CP_j = C_fast f_j + C_slow s_j          [kW]

so eq. 44 holds in each class (a class's EVs follow the capacity installed for it), the fleet
is the same 420 EVs by type whatever the decision, and everything is linear in the shares,
which the exact reference (a MILP) needs. A decision is the tuple ``((lot, f_steps,
s_steps), ...)`` of the open lots in candidate order: hashable, the cache key.

**Which EVs.** Each lot has a pool per type (:func:`ev_pools`); at ``n`` EVs of a type it
serves the first ``n`` of its pool. The pools use common random numbers: EV ``k`` of type
``r`` is the same session at every lot (sampled once, :func:`fleet_sessions`), because an
EV's plug window depends on its charger class only (fast: office hours, slow: home hours, as
in :func:`gridv2g.fleet.sample_gao2019_fleet`), not on the lot's bus. Moving EVs between lots
thus moves the same vehicles, and which vehicles a lot serves depends on its own decision
only, which keeps the MILP exact.

**Encoding for the swarm** (:func:`decode`): random keys. A particle has, per candidate, an
opening score and a fast and a slow weight, plus one coordinate for the number of stations.
The ``k`` highest scores open (ties by candidate order), so a decision never repeats a lot and
the candidates are categories, not an ordered axis; if the open set has no lot for a class,
the best-scored lot that has it replaces the worst open one. Weights of the open lots are
normalized per class and rounded to whole steps by largest remainder, each open lot taking at
least one step and at most its parking limit (eq. 43).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from gridv2g.errors import GridV2GError
from gridv2g.fleet.gao2019 import EV_TYPES_GAO2019, sample_gao2019_fleet

#: charger classes and the lot types that have them (seed 004, Table 2)
CLASSES = ("fast", "slow")
LOT_CLASSES = {"office": ("fast",), "home": ("slow",), "complex": ("fast", "slow")}

Decision = tuple[tuple[str, int, int], ...]


@dataclass
class SharedSitingSpec:
    """The siting problem of seed 004 with one shared fleet (module docstring).

    ``lots``: candidate lots, index = name, columns ``bus``, ``phases`` (OpenDSS phase string,
    e.g. ``"2"``), ``lot`` (office | home | complex), ``max_share`` (largest share of a class
    the lot may take [0-1], its parking spaces, eq. 43). ``k_min``, ``k_max``: stations to open
    (eq. 49). ``share_steps``: shares in steps of 1 / share_steps. ``capacity_kw``: total
    capacity per class {fast, slow} [kW]. ``ev_counts``: EVs per type (Table 1).
    ``cost_per_station_day``: annualised cost of an open station per day [money].
    ``seed``: the fleet's sampler seed; ``day``: the horizon's start (sessions from it).
    """

    lots: pd.DataFrame
    capacity_kw: dict[str, float]
    k_min: int = 5
    k_max: int = 8
    share_steps: int = 30
    ev_counts: dict[str, int] = field(
        default_factory=lambda: EV_TYPES_GAO2019["n_evs"].astype(int).to_dict()
    )
    cost_per_station_day: float = 0.0
    seed: int = 4
    day: str = "2024-06-21T06:00"
    step_min: int = 60

    def __post_init__(self):
        lots = self.lots
        need = {"bus", "phases", "lot", "max_share"}
        if not need <= set(lots.columns):
            raise GridV2GError(f"siting lots need columns {sorted(need)}; got {list(lots)}")
        bad = sorted(set(lots.lot) - set(LOT_CLASSES))
        if bad:
            raise GridV2GError(f"siting lots: unknown lot type(s) {bad}; valid {list(LOT_CLASSES)}")
        if not 1 <= self.k_min <= self.k_max <= len(lots):
            raise GridV2GError(
                f"siting: need 1 <= k_min ({self.k_min}) <= k_max ({self.k_max}) <= "
                f"candidates ({len(lots)})"
            )
        unknown = sorted(set(self.ev_counts) - set(EV_TYPES_GAO2019.index))
        if unknown:
            raise GridV2GError(f"siting ev_counts: unknown EV type(s) {unknown}")
        for c in CLASSES:
            if self.class_lots(c).size == 0:
                raise GridV2GError(f"siting: no candidate lot has {c} chargers")
            if self.max_steps[self.class_lots(c)].sum() < self.share_steps:
                raise GridV2GError(f"siting: the lots' max_share cannot hold every {c} EV")

    # ------------------------------------------------------------------ structure
    @property
    def names(self) -> list[str]:
        return list(self.lots.index)

    def has_class(self, c: str) -> np.ndarray:
        """Which candidates have chargers of class ``c`` (bool per candidate)."""
        return np.array([c in LOT_CLASSES[t] for t in self.lots.lot])

    def class_lots(self, c: str) -> np.ndarray:
        return np.flatnonzero(self.has_class(c))

    @cached_property
    def max_steps(self) -> np.ndarray:
        """Largest share of a class per candidate, in steps (eq. 43)."""
        return np.floor(self.lots.max_share.to_numpy(float) * self.share_steps + 1e-9).astype(int)

    def types_of(self, c: str) -> list[str]:
        kinds = EV_TYPES_GAO2019.loc[list(self.ev_counts)]
        return [r for r in kinds.index if kinds.at[r, "charging"] == c]

    def class_of_type(self, r: str) -> str:
        return str(EV_TYPES_GAO2019.at[r, "charging"])

    def count(self, r: str, steps: int) -> int:
        """EVs of type ``r`` at a lot holding ``steps`` of its class (eq. 44), rounded half
        up; exact when ``N_r / share_steps`` is whole (Table 1 with 30 steps: 2 and 5)."""
        return int(np.floor(self.ev_counts[r] * steps / self.share_steps + 0.5))

    def capacity(self, f_steps, s_steps) -> np.ndarray:
        """CP_j = C_fast f_j + C_slow s_j [kW]."""
        f = np.asarray(f_steps, float) / self.share_steps
        s = np.asarray(s_steps, float) / self.share_steps
        return self.capacity_kw["fast"] * f + self.capacity_kw["slow"] * s

    # ------------------------------------------------------------------ fleet
    @cached_property
    def sessions(self) -> pd.DataFrame:
        """:func:`fleet_sessions` of this spec."""
        return fleet_sessions(self)

    def decision_sessions(self, decision: Decision) -> pd.DataFrame:
        """The EV sessions of a decision, ``station`` = the lot serving each (eq. 44)."""
        pools = self.sessions
        parts = []
        for lot, f, s in decision:
            for r in self.ev_counts:
                steps = f if self.class_of_type(r) == "fast" else s
                n = self.count(r, steps)
                part = pools[pools.ev_type == r].iloc[:n].copy()
                part["station"] = lot
                part["ev_id"] = [f"{lot}-{r}-{k}" for k in part.ev_id]
                parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def assignment(self, decision: Decision) -> pd.DataFrame:
        """EVs per open lot and type, capacity [kW] and capacity ratio (Table 2's columns)."""
        rows = {}
        for lot, f, s in decision:
            row = {
                r: self.count(r, f if self.class_of_type(r) == "fast" else s)
                for r in self.ev_counts
            }
            row.update(fast_share=f / self.share_steps, slow_share=s / self.share_steps)
            row["capacity_kw"] = float(self.capacity(f, s))
            rows[lot] = row
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.index.name = "lot"
        table.insert(0, "phases", self.lots.phases.reindex(table.index))
        table.insert(0, "bus", self.lots.bus.reindex(table.index))
        table.insert(2, "lot", self.lots.lot.reindex(table.index))
        table["capacity_ratio"] = table.capacity_kw / table.capacity_kw.sum()
        table["evs"] = table[list(self.ev_counts)].sum(axis=1)
        return table

    # ------------------------------------------------------------------ decisions
    def check(self, decision: Decision) -> None:
        """Raise GridV2GError unless ``decision`` is in the decision space."""
        names = [d[0] for d in decision]
        if len(set(names)) != len(names) or not set(names) <= set(self.names):
            raise GridV2GError(f"siting decision: lots must be distinct candidates: {names}")
        if not self.k_min <= len(decision) <= self.k_max:
            raise GridV2GError(f"siting decision: {len(decision)} stations, not in k range")
        pos = self.lots.index.get_indexer(names)
        for c, col in (("fast", 1), ("slow", 2)):
            steps = np.array([d[col] for d in decision])
            has = self.has_class(c)[pos]
            if steps.sum() != self.share_steps or np.any(steps[~has] != 0):
                raise GridV2GError(f"siting decision: {c} shares must sum to 1 on {c} lots")
            if np.any(steps[has] < 1) or np.any(steps > self.max_steps[pos]):
                raise GridV2GError(f"siting decision: a {c} share is outside 1 step..max_share")


def fleet_sessions(spec: SharedSitingSpec) -> pd.DataFrame:
    """One pool of EV sessions per type, as long as the largest count any lot may take,
    sampled once with :func:`~gridv2g.fleet.sample_gao2019_fleet` (common random numbers:
    module docstring). Fast types keep office hours, slow types home hours. ``ev_id``: the
    EV's position in its type's pool."""
    most = {}
    for r in spec.ev_counts:
        c = spec.class_of_type(r)
        most[r] = spec.count(r, int(spec.max_steps[spec.class_lots(c)].max()))
    fast = {r: n for r, n in most.items() if spec.class_of_type(r) == "fast"}
    slow = {r: n for r, n in most.items() if spec.class_of_type(r) == "slow"}
    stations = {}
    if fast:
        stations["fast"] = {"lot": "office", "evs": fast}
    if slow:
        stations["slow"] = {"lot": "home", "evs": slow}
    table = sample_gao2019_fleet(
        day=spec.day, seed=spec.seed, stations=stations, step_min=spec.step_min
    )
    # every prefix of a pool representative of the type: rank by energy need, then take the
    # ranks in van der Corput order (0, 1/2, 1/4, 3/4, ...), so the first n EVs of a pool
    # spread over the need distribution and moving EVs between lots hardly changes the
    # fleet's energy
    table["need"] = table.e_target_kwh - table.e_arrival_kwh
    parts = []
    for _, part in table.groupby("ev_type", sort=False):
        part = part.sort_values("need", kind="stable").reset_index(drop=True)
        parts.append(part.iloc[_van_der_corput_order(len(part))])
    table = pd.concat(parts, ignore_index=True).drop(columns="need")
    table["ev_id"] = table.groupby("ev_type").cumcount()
    return table


def _van_der_corput_order(n: int) -> np.ndarray:
    """Positions 0..n-1 ordered by the base-2 van der Corput sequence of their rank."""
    bits = max(int(np.ceil(np.log2(max(n, 2)))), 1)
    k = np.arange(2**bits)
    rev = np.zeros_like(k)
    for b in range(bits):  # bit reversal, over the few bits of n
        rev |= ((k >> b) & 1) << (bits - 1 - b)
    return rev[rev < n]


def _largest_remainder(weights: np.ndarray, total: int, low: np.ndarray, high: np.ndarray):
    """Whole numbers ``n`` with sum ``total``, ``low <= n <= high``, close to ``total *
    weights / sum(weights)``: proportional rounding (largest remainder), then capped and
    refilled (water-filling) so the bounds hold. Ties go to the earlier entry."""
    w = np.maximum(np.asarray(weights, float), 1e-12)
    n = low.astype(int).copy()
    free = total - n.sum()
    room = high - n
    while free > 0:
        open_ = room > 0
        share = np.where(open_, w, 0.0)
        target = free * share / share.sum()
        add = np.minimum(np.floor(target).astype(int), room)
        if add.sum() == 0:  # hand out one by one, largest remainder first
            order = np.lexsort((np.arange(len(w)), -(target - np.floor(target))))
            order = [i for i in order if open_[i]]
            add = np.zeros_like(n)
            add[order[: min(free, len(order))]] = 1
        n += add
        room -= add
        free -= int(add.sum())
    return n


def n_variables(spec: SharedSitingSpec) -> int:
    """Length of a particle: per candidate a score and two weights, and the station count."""
    return 3 * len(spec.lots) + 1


def decode(spec: SharedSitingSpec, x: np.ndarray) -> Decision:
    """The decision of a particle ``x`` in [0, 1]^n_variables (module docstring)."""
    x = np.clip(np.asarray(x, float), 0.0, 1.0)
    n = len(spec.lots)
    score, w_fast, w_slow = x[:n], x[n : 2 * n], x[2 * n : 3 * n]
    k = spec.k_min + min(int(x[-1] * (spec.k_max - spec.k_min + 1)), spec.k_max - spec.k_min)
    order = np.lexsort((np.arange(n), -score))  # best score first, ties by candidate
    chosen = list(order[:k])
    for c in CLASSES:
        has = spec.has_class(c)
        # enough of the class open to hold its EVs within the lots' parking limits
        while spec.max_steps[[i for i in chosen if has[i]]].sum() < spec.share_steps:
            spare = [i for i in order if has[i] and i not in chosen]
            drop = [i for i in reversed(chosen) if not has[i]] or [
                i for i in reversed(chosen) if has[i]
            ]
            if not spare:
                break
            if len(chosen) < spec.k_max:
                chosen.append(spare[0])
            else:
                chosen.remove(drop[0])
                chosen.append(spare[0])
    chosen = sorted(chosen)
    steps = {}
    for c, w in (("fast", w_fast), ("slow", w_slow)):
        idx = [i for i in chosen if spec.has_class(c)[i]]
        cap = spec.max_steps[idx]
        steps[c] = dict(
            zip(
                idx,
                _largest_remainder(w[idx], spec.share_steps, np.ones(len(idx)), cap),
                strict=True,
            )
        )
    names = spec.names
    return tuple(
        (names[i], int(steps["fast"].get(i, 0)), int(steps["slow"].get(i, 0))) for i in chosen
    )
