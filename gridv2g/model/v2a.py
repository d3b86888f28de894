r"""Vehicle-to-anything (V2A) block: per-EV status (idle / charging / V2H / V2B / V2V / V2G).

After Mao, Zhang & Zhou, "Modeling and Solving Method for Supporting 'Vehicle-to-Anything' EV
Charging Mode", Appl. Sci. 8(7), 1048, 2018, doi:10.3390/app8071048 (seed 002), Sect. 3.
One site (a home, a building or a charging station) with its own base load :math:`P^B_t`
and the EVs parked there. In each period an EV is idle or in exactly one status; discharge
serves the site's own load (V2H at a home, V2B at a building), other EVs charging at the
same site (V2V) or the grid (V2G). Only V2G power ever leaves the site.

The paper's equations are images in our copy; they are reconstructed from its text and
nomenclature as follows (:math:`i` EV, :math:`t` period, :math:`h` period length [h],
:math:`m_{i,t}` plug-in mask, :math:`x` status binaries, :math:`p` powers [kW] at the
charger, i.e. on the site bus):

- eq. (1), SOC limits: :math:`e^{min}_i \le e_{i,t} \le e^{max}_i` (SOC 0.2-0.9 times the
  capacity) - ``ev-energy_bounds``;
- eq. (2), SOC recursion: :math:`e_{i,t+1} = e_{i,t} + h(\eta^c_i p^{G2V}_{i,t} - \sum_{m \in
  dis} p^m_{i,t} / \eta^d_i)`, :math:`e_{i,0} = e^{arr}_i`, no power outside the plug-in
  window - ``ev-energy_balance``;
- eqs. (3-4), energy desire at departure, soft: :math:`e_{i,d_i} + s_i \ge e^{target}_i`,
  :math:`s_i \ge 0`, priced by :math:`\rho` in the objective (eq. 10) - ``ev-target``;
- eq. (5), one status at a time: :math:`x^{G2V} + x^{V2H} + x^{V2B} + x^{V2V} + x^{V2G} \le 1`
  - ``ev-one_status``; power only in its status: :math:`p^m \le P_i m_{i,t} x^m` - ``ev-p_limits``;
- eqs. (6-7), cycles: the discharge :math:`\sum_{m \in dis} p^m` (:math:`x^{dis} = \sum_{m \in
  dis} x^m`), priced by :math:`\lambda` in the objective (eq. 10) - ``discharge_kw``;
- eq. (8), V2V: givers never outnumber takers, :math:`\sum_i x^{V2V}_{i,t} \le \sum_i
  x^{G2V}_{i,t}` - ``site-v2v_count``; energy balance :math:`\sum_i p^{V2V}_{i,t} = \sum_i
  r_{i,t}` with :math:`0 \le r_{i,t} \le p^{G2V}_{i,t}` the part of EV :math:`i`'s charging fed
  by V2V (the rest comes from the grid) - ``site-v2v_energy``;
- eq. (11), V2H/V2B serve only the site's own load, never the grid: :math:`\sum_i
  (p^{V2H}_{i,t} + p^{V2B}_{i,t}) \le P^B_t` - ``site-own_load``; the grid export is the V2G
  power alone.

Site exchange: :math:`P^{imp}_t = P^B_t + \sum_i (p^{G2V}_{i,t} - r_{i,t}) - \sum_i
(p^{V2H}_{i,t} + p^{V2B}_{i,t})` (>= 0 by the two limits above) and :math:`P^{exp}_t = \sum_i
p^{V2G}_{i,t}`: the import is billed at the load price, the export paid at the V2G price
(:mod:`gridv2g.problems.v2a`).

Power in a status: ``rated_power=True`` is the paper's assumption (4), the status runs at the
EV's rated power (:math:`p^m = P_i x^m`, a pure binary model: V2H/V2B then needs a base load
of at least the rated power); otherwise :math:`0 \le p^m \le P_i x^m`. Binaries exist only
for plugged (EV, period) pairs whose EV may use the mode (discharge modes need the session's
``v2g`` flag and a discharge rating); with a single usable mode and variable power no
binaries are needed (an LP). Units: kW, kWh, hours; no per-unit here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np

from gridv2g.inputs import DISCHARGE_MODES, IDLE, MODES, OWN_LOAD_MODES, STATUS

__all__ = [
    "DISCHARGE_MODES",
    "IDLE",
    "MODES",
    "OWN_LOAD_MODES",
    "STATUS",
    "V2ABlock",
    "mode_masks",
    "v2a_block",
]
from gridv2g.model.station import EVArrays, masked_binary


@dataclass
class V2ABlock:
    """Variables and expressions of the V2A block ((EV x period) unless noted)."""

    p: dict[str, cp.Expression]  # mode -> power [kW]; a zero Constant if not allowed
    u: dict[str, cp.Expression]  # mode -> status binary (only modes with binaries)
    e: cp.Variable  # energy at period boundaries (EV x T+1) [kWh]
    shortfall: cp.Variable  # per EV below its target at departure [kWh]
    v2v_received: cp.Expression  # charging power fed by V2V [kW]
    discharge_kw: cp.Expression  # sum of the discharge modes [kW]
    grid_import_kw: cp.Expression  # (T,) bought at the load price
    grid_export_kw: cp.Expression  # (T,) V2G only, paid at the V2G price
    ev_import_kw: cp.Expression  # (T,) grid_import_kw minus the base load
    constraints: dict[str, list] = field(default_factory=dict)
    params: dict[str, cp.Parameter] = field(default_factory=dict)
    modes: tuple[str, ...] = ()
    integer: bool = False

    def all_constraints(self) -> list:
        return [c for group in self.constraints.values() for c in group]

    def status_count(self) -> cp.Expression:
        """Sum of all status binaries (0 for an LP)."""
        return sum((cp.sum(u) for u in self.u.values()), cp.Constant(0.0))


def mode_masks(ev: EVArrays, modes: Iterable[str]) -> dict[str, np.ndarray]:
    """(EV x period) masks of the (EV, period) pairs that may use each allowed mode."""
    charge = ev.mask & (ev.p_charge_max_kw[:, None] > 0)
    discharge = ev.mask & (ev.p_discharge_max_kw[:, None] > 0)
    return {m: (charge if m == "G2V" else discharge) for m in MODES if m in set(modes)}


def v2a_block(
    ev: EVArrays, hours: float, modes: Iterable[str], rated_power: bool = False
) -> V2ABlock:
    """Build the block for the EVs of one site (``ev.station`` is ignored).

    Parameters
    ----------
    ev
        Per-EV arrays and the (EV x period) plug-in mask; ``p_discharge_max_kw`` is 0 for EVs
        whose driver does not allow discharging.
    hours
        Period length [h].
    modes
        Allowed modes, a subset of :data:`MODES`.
    rated_power
        A status runs at the rated power (the paper's assumption 4) instead of up to it.

    The base load is the Parameter ``params["base_load_kw"]`` (T,) [kW], set by the problem.
    """
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise ValueError(f"unknown V2A mode(s) {unknown}; valid: {list(MODES)}")
    n, T = ev.mask.shape
    masks = {m: k for m, k in mode_masks(ev, modes).items() if k.any()}
    rating = {m: (ev.p_charge_max_kw if m == "G2V" else ev.p_discharge_max_kw) for m in masks}
    integer = bool(masks) and (rated_power or len(masks) >= 2)
    zero = cp.Constant(np.zeros((n, T)))
    cons: dict[str, list] = {"ev-p_limits": []}
    p: dict[str, cp.Expression] = {m: zero for m in MODES}
    u: dict[str, cp.Expression] = {}
    for m, mask in masks.items():  # a loop over the five modes, not over EVs or periods
        cap = rating[m][:, None] * mask
        if integer:
            u[m] = masked_binary(mask, f"ev-{m}")
            if rated_power:
                p[m] = cp.multiply(cap, u[m])
                continue
            p[m] = cp.Variable((n, T), nonneg=True, name=f"ev-p_{m}")
            cons["ev-p_limits"].append(p[m] <= cp.multiply(cap, u[m]))
        else:
            p[m] = cp.Variable((n, T), nonneg=True, name=f"ev-p_{m}")
            cons["ev-p_limits"].append(p[m] <= cap)
    if len(u) >= 2:
        cons["ev-one_status"] = [sum(u.values()) <= 1]

    discharge = p["V2H"] + p["V2B"] + p["V2V"] + p["V2G"]
    e = cp.Variable((n, T + 1), name="ev-e")
    eta_c, eta_d = ev.eta_charge[:, None], ev.eta_discharge[:, None]
    cons["ev-energy_balance"] = [
        e[:, 1:] == e[:, :-1] + hours * (cp.multiply(eta_c, p["G2V"]) - discharge / eta_d),
        e[:, 0] == ev.e_arrival_kwh,
    ]
    # an EV arriving outside its limits may stay there until it charges or discharges
    lo = np.minimum(ev.e_min_kwh, ev.e_arrival_kwh)[:, None]
    hi = np.maximum(ev.e_max_kwh, ev.e_arrival_kwh)[:, None]
    cons["ev-energy_bounds"] = [e >= lo, e <= hi]
    shortfall = cp.Variable(n, nonneg=True, name="ev-shortfall")
    at_departure = e[np.arange(n), ev.departure_index]
    cons["ev-target"] = [at_departure + shortfall >= ev.e_target_kwh]

    base = cp.Parameter(T, nonneg=True, name="site-base_load_kw")
    own = cp.sum(p["V2H"] + p["V2B"], axis=0)
    if "V2H" in masks or "V2B" in masks:
        cons["site-own_load"] = [own <= base]
    received = zero
    if "V2V" in masks:
        if "G2V" in masks:
            received = cp.Variable((n, T), nonneg=True, name="ev-v2v_received")
            cons["site-v2v_energy"] = [
                received <= p["G2V"],
                cp.sum(received, axis=0) == cp.sum(p["V2V"], axis=0),
            ]
        else:  # nobody to give to
            cons["site-v2v_energy"] = [p["V2V"] == 0]
        if "V2V" in u:
            takers = cp.sum(u["G2V"], axis=0) if "G2V" in u else 0
            cons["site-v2v_count"] = [cp.sum(u["V2V"], axis=0) <= takers]
    ev_import = cp.sum(p["G2V"] - received, axis=0) - own
    return V2ABlock(
        p=p,
        u=u,
        e=e,
        shortfall=shortfall,
        v2v_received=received,
        discharge_kw=discharge,
        grid_import_kw=base + ev_import,
        grid_export_kw=cp.sum(p["V2G"], axis=0),
        ev_import_kw=ev_import,
        constraints={k: v for k, v in cons.items() if v},
        params={"base_load_kw": base},
        modes=tuple(masks),
        integer=integer,
    )
