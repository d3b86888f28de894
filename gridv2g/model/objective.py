r"""Objective terms, each a pure function returning a CVXPY expression in money or energy units.

Combined as a weighted sum by the problem (``{"losses": 1.0, "voltage_deviation": 0.1}``).

- ``losses``: daily active losses [kWh], :math:`\sum_{t,k} r_k \ell_{k,t}\, S_b\, \Delta t`
  (Cao et al. 2024).
- ``energy_cost``: cost of the energy imported at the substation, losses included [money],
  :math:`\sum_t \pi_t\, p^{sub}_t\, S_b\, \Delta t` at a time-varying price (Gao et al. 2019,
  eq. 35); a Parameter, so prices can change between solves.
- ``voltage_deviation``: Cao's :math:`\Gamma = \sum_{t,j} |v_{j,t} - 1|` on squared voltages
  (:math:`\approx 2 \sum |V - 1|`), [pu].
- ``curtailment``: curtailed DER energy [kWh] times a cost per kWh.
- ``ev_degradation``: V2G battery degradation of an EV fleet at the feeder's stations [money],
  :math:`\gamma\, \Delta t \sum d` (seed 001).
- ``ev_shortfall``: energy missing at departure with soft targets times the penalty rho
  [money] (seed 002).

The two fleet terms enter with weight 1 when a fleet is present, unless the case weights them:
a losses-only objective would otherwise have every EV with a soft target leave empty.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np


def losses_kwh(r: np.ndarray, l, s_base_kva: float, hours: float) -> cp.Expression:
    return (s_base_kva * hours) * cp.sum(r @ l)


def energy_cost(price_per_kwh: cp.Parameter, p_sub, s_base_kva: float, hours: float):
    return (s_base_kva * hours) * (price_per_kwh @ p_sub)


def voltage_deviation(v) -> cp.Expression:
    return cp.sum(cp.abs(v[1:, :] - 1.0))


def curtailment_kwh(p_available, p, s_base_kva: float, hours: float) -> cp.Expression:
    return (s_base_kva * hours) * cp.sum(p_available - p)


TERMS = (
    "losses",
    "energy_cost",
    "voltage_deviation",
    "curtailment",
    "ev_degradation",
    "ev_shortfall",
)
#: terms with weight 1 unless the case weights them, when the problem has an EV fleet
FLEET_TERMS = ("ev_degradation", "ev_shortfall")
