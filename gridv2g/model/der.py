r"""Inverter-based units on the feeder: PV and wind (DER) and station converter slots.

**DER** (one row per unit, all units x periods at once): active power
:math:`0 \le p \le \bar p` with the available power :math:`\bar p = a\,S` (availability
:math:`a` per unit of rating times the rating :math:`S`, one Parameter), or :math:`p = \bar p`
when curtailment is not allowed; reactive capability :math:`p^2 + q^2 \le S^2` (one cone over
units x periods, :math:`S` a Parameter), optionally a power-factor limit
:math:`|q| \le \tan(\arccos pf_{min})\, p`; reactive dispatch switched off gives
:math:`q = 0`. Values in per unit of the network's ``s_base_kva``.

**Station slots**: a station's converter at a bus. Its active power (consumption positive) is
either a given profile (a Parameter) or a variable in ``[p_min, p_max]`` for the station model
to drive; its reactive power stays within the converter rating, :math:`p^2 + q^2 \le S^2`
(:math:`|p| \le S` without reactive dispatch: an LP stays an LP).

Ratings are Parameters (``params["rating"]``, per unit, one entry per unit or slot), so a
change of sizes re-solves the compiled problem (DPP). DPP forbids a product of two
Parameters, hence the DER's available power is one Parameter (availability x rating) rather
than the availability times the rating Parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import scipy.sparse as sp


@dataclass
class InjectionBlock:
    """Variables and constraints of a group of units at buses.

    ``p``, ``q``: (unit x period) expressions [pu]; ``C``: (bus x unit) incidence, so that
    ``C @ p`` is the per-bus total. ``params``: the Parameters a re-solve may change.
    """

    p: cp.Expression
    q: cp.Expression
    C: sp.csr_matrix
    constraints: dict[str, list] = field(default_factory=dict)
    params: dict[str, cp.Parameter] = field(default_factory=dict)

    def all_constraints(self) -> list:
        return [c for group in self.constraints.values() for c in group]


def incidence(nb: int, bus_index: np.ndarray) -> sp.csr_matrix:
    """(bus x unit) 0/1 matrix placing each unit at its bus."""
    n = len(bus_index)
    return sp.csr_matrix((np.ones(n), (bus_index, np.arange(n))), shape=(nb, n))


def _over_periods(s: cp.Expression, periods: int) -> cp.Expression:
    """A (unit,) expression repeated over the periods: (unit x period), affine in ``s``."""
    return cp.reshape(s, (s.shape[0], 1), order="C") @ np.ones((1, periods))


def _capability_cone(p, q, s: cp.Expression, periods: int) -> cp.Constraint:
    """p^2 + q^2 <= S^2 for every unit and period, as one SOC constraint; ``s``: the (unit,)
    ratings (a Parameter or a slice of one) [pu]."""
    n = s.shape[0]
    # vec (C order) of S repeated over the periods: (unit*period x unit) 0/1 matrix times S
    repeat = sp.kron(sp.eye(n, format="csr"), np.ones((periods, 1)), format="csr")
    return cp.SOC(
        repeat @ s,
        cp.vstack([cp.vec(p, order="C"), cp.vec(q, order="C")]),
        axis=0,
    )


def der(
    C: sp.csr_matrix,
    periods: int,
    reactive: np.ndarray,
    curtailment: bool = True,
    pf_min: np.ndarray | None = None,
    name: str = "der",
) -> InjectionBlock:
    """PV / wind block. ``C``: (connection point x unit) matrix of the grid formulation
    (:meth:`~gridv2g.model.formulation.GridFormulation.connection`). ``reactive``: bool per
    unit (reactive dispatch on); ``pf_min`` per unit (0 or NaN = no limit). The Parameters
    ``params["rating"]`` (unit, [pu]) and ``params["p_available"]`` (unit x period, available
    power = availability x rating [pu]) must be set before solving."""
    n, T = C.shape[1], periods
    rating = cp.Parameter(n, nonneg=True, name=f"{name}-rating")
    p_available = cp.Parameter((n, T), nonneg=True, name=f"{name}-p_available")
    p = cp.Variable((n, T), nonneg=True, name=f"{name}-p")
    q_var = cp.Variable((n, T), name=f"{name}-q")
    cons: dict[str, list] = {}
    cons[f"{name}-p_available"] = [p <= p_available] if curtailment else [p == p_available]
    on = np.asarray(reactive, dtype=bool)
    cons[f"{name}-q_off"] = [q_var[~on, :] == 0] if (~on).any() else []
    cons[f"{name}-capability"] = [_capability_cone(p, q_var, rating, T)] if n else []
    if pf_min is not None:
        pf = np.nan_to_num(np.asarray(pf_min, dtype=float))
        lim = np.flatnonzero((pf > 0) & on)
        if len(lim):
            k = np.tan(np.arccos(pf[lim]))[:, None]
            cons[f"{name}-power_factor"] = [
                q_var[lim, :] <= cp.multiply(k, p[lim, :]),
                -q_var[lim, :] <= cp.multiply(k, p[lim, :]),
            ]
    return InjectionBlock(
        p=p,
        q=q_var,
        C=C,
        constraints=cons,
        params={"rating": rating, "p_available": p_available},
    )


def station_slots(
    C: sp.csr_matrix,
    periods: int,
    reactive: np.ndarray,
    p_variable: np.ndarray,
    name: str = "station",
) -> InjectionBlock:
    """Station converter slots at the connection points of ``C`` (as for :func:`der`).
    ``p_variable``: bool per slot; True leaves active power a
    variable bounded by the Parameters ``p_min``/``p_max``, False fixes it to the Parameter
    ``p_profile`` (slot x period, consumption positive, pu). ``params["rating"]`` (slot, [pu]):
    the converter ratings."""
    n, T = C.shape[1], periods
    rating = cp.Parameter(n, nonneg=True, name=f"{name}-rating")
    p_profile = cp.Parameter((n, T), name=f"{name}-p_profile")
    p_min = cp.Parameter((n, T), name=f"{name}-p_min")
    p_max = cp.Parameter((n, T), name=f"{name}-p_max")
    p = cp.Variable((n, T), name=f"{name}-p")
    q_var = cp.Variable((n, T), name=f"{name}-q")
    var = np.asarray(p_variable, dtype=bool)
    cons: dict[str, list] = {}
    fixed = np.flatnonzero(~var)
    free = np.flatnonzero(var)
    cons[f"{name}-p_profile"] = [p[fixed, :] == p_profile[fixed, :]] if len(fixed) else []
    cons[f"{name}-p_bounds"] = (
        [p[free, :] >= p_min[free, :], p[free, :] <= p_max[free, :]] if len(free) else []
    )
    on = np.asarray(reactive, dtype=bool)
    cons[f"{name}-q_off"] = [q_var[~on, :] == 0] if (~on).any() else []
    # a converter without reactive dispatch needs no cone: |p| <= S (keeps an LP an LP)
    cone = np.flatnonzero(on)
    cons[f"{name}-capability"] = (
        [_capability_cone(p[cone, :], q_var[cone, :], rating[cone], T)] if len(cone) else []
    )
    off = np.flatnonzero(~on)
    if len(off):
        s_off = _over_periods(rating[off], T)
        cons[f"{name}-capability"] += [p[off, :] <= s_off, -p[off, :] <= s_off]
    return InjectionBlock(
        p=p,
        q=q_var,
        C=C,
        constraints=cons,
        params={"p_profile": p_profile, "p_min": p_min, "p_max": p_max, "rating": rating},
    )
