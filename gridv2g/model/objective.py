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


def station_money(
    hours: float,
    import_kw,
    export_kw,
    charge_kw,
    discharge_kw,
    prices: dict,
    degradation_per_kwh: float,
) -> dict:
    r"""The station money of seed 001 (cost) and seed 000 (profit), one formula for the
    optimizer (CVXPY expressions and Parameters) and for the figures of any schedule (numpy).

    ``import_kw``, ``export_kw`` (the net grid exchange, both >= 0), ``charge_kw``,
    ``discharge_kw`` (EV totals at the grid side) are per period, (T,), or per group and
    period, (G x T) for G stations or scenarios; ``prices``: ``buy``, ``sell``, ``tariff``,
    ``v2g_pay`` per period [money/kWh]. Returns money per group (or a scalar):

    - ``energy_cost`` :math:`h \sum_t \pi^{buy}_t imp_t`, ``v2g_revenue``
      :math:`h \sum_t \pi^{sell}_t exp_t`, ``degradation_cost`` :math:`\gamma h \sum_t d_t`;
    - ``ev_revenue`` :math:`h \sum_t p^{CS}_t c_t` (tariff charged to EV owners) and
      ``ev_payments`` :math:`h \sum_t r^{CS}_t d_t` (paid to them for discharge);
    - ``cost`` = energy cost - V2G revenue + degradation; ``revenue`` = EV revenue - EV
      payments; ``profit`` = revenue - cost.
    """
    periods = np.ones(np.shape(prices["buy"])[-1])
    m = {
        "energy_cost": hours * (import_kw @ prices["buy"]),
        "v2g_revenue": hours * (export_kw @ prices["sell"]),
        "degradation_cost": degradation_per_kwh * hours * (discharge_kw @ periods),
        "ev_revenue": hours * (charge_kw @ prices["tariff"]),
        "ev_payments": hours * (discharge_kw @ prices["v2g_pay"]),
    }
    m["cost"] = m["energy_cost"] - m["v2g_revenue"] + m["degradation_cost"]
    m["revenue"] = m["ev_revenue"] - m["ev_payments"]
    m["profit"] = m["revenue"] - m["cost"]
    return m
