r"""Multi-period branch-flow (DistFlow) model of a radial feeder, SOC-relaxed, in CVXPY.

Baran & Wu's DistFlow equations (M. E. Baran and F. F. Wu, "Optimal sizing of capacitors
placed on a radial distribution system," IEEE Trans. Power Delivery 4(1), 1989) with the
second-order-cone relaxation of Farivar & Low (M. Farivar and S. H. Low, "Branch flow model:
relaxations and convexification, parts I and II," IEEE Trans. Power Systems 28(3), 2013).

For every branch :math:`k = (i \to j)` and period *t*, with sending-end flows :math:`P, Q`,
squared current :math:`\ell` (on the to-side), squared voltages :math:`v`, off-nominal ratio
:math:`\tau` (regulators; 1 for lines) and per-unit :math:`r, x`:

.. math::
    \sum_{k \in in(j)} (P_k - r_k \ell_k) - \sum_{k \in out(j)} P_k = p^d_j - p^{sub}_j

    \sum_{k \in in(j)} (Q_k - x_k \ell_k) - \sum_{k \in out(j)} Q_k + b_j v_j = q^d_j - q^{sub}_j

    v_j = \tau_k^2 v_i - 2 (r_k P_k + x_k Q_k) + (r_k^2 + x_k^2) \ell_k

    P_k^2 + Q_k^2 \le \tau_k^2 v_i \ell_k \quad\text{(relaxed from equality)}

with :math:`p^d, q^d` the net demand per bus (loads minus DER plus stations), :math:`b_j v_j`
the fixed shunts (capacitors, line charging), the source voltage fixed, :math:`v` within
:math:`[v_{min}^2, v_{max}^2]` per bus and :math:`\ell \le I_{max}^2` where ampacities are
known. Everything is a matrix expression over (branch x period) or (bus x period); the
relaxation is ONE ``cp.SOC`` over all branches and periods.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np

from gridv2g.model.network import NetworkModel


@dataclass
class DistFlowBlock:
    """Variables, constraints and connection points of the DistFlow block.

    ``P``, ``Q``, ``l`` (branch x period), ``v`` (bus x period), ``p_sub``, ``q_sub``
    (period): the substation injection [pu]. ``constraints``: named lists
    (``"bus-p_balance"``, ``"bus-q_balance"``, ``"line-voltage_drop"``, ``"line-soc"``,
    ``"bus-v_source"``, ``"bus-v_min"``, ``"bus-v_max"``, ``"line-ampacity"``).
    """

    P: cp.Variable
    Q: cp.Variable
    l: cp.Variable
    v: cp.Variable
    p_sub: cp.Variable
    q_sub: cp.Variable
    constraints: dict[str, list] = field(default_factory=dict)
    slacks: dict[str, cp.Variable] = field(default_factory=dict)
    limited: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    def all_constraints(self) -> list:
        return [c for group in self.constraints.values() for c in group]

    def losses_pu(self, r: np.ndarray) -> cp.Expression:
        """Active losses per period [pu]: sum over branches of r * l."""
        return r @ self.l


def distflow(
    net: NetworkModel,
    periods: int,
    p_demand,
    q_demand,
    vmin_pu: np.ndarray,
    vmax_pu: np.ndarray,
    v_source_pu: float | None = None,
    ampacity: bool = True,
    elastic: bool = False,
) -> DistFlowBlock:
    """Build the DistFlow SOCP block.

    Parameters
    ----------
    net
        The per-unit network (:func:`~gridv2g.model.network.build_network`).
    periods
        Number of periods *T*.
    p_demand, q_demand
        Net demand per bus and period [pu], (nb x T) arrays, Parameters or expressions.
    vmin_pu, vmax_pu
        Voltage magnitude limits per bus [pu], arrays of length nb.
    v_source_pu
        Source voltage [pu] (default: the feeder source's ``vm_pu``).
    ampacity
        Enforce ``l <= i_max**2`` on branches with a known ampacity.
    elastic
        Give the voltage and ampacity limits non-negative slacks (``block.slacks``:
        ``"v_min"``, ``"v_max"``, ``"ampacity"``, in squared pu) for infeasibility diagnosis.
    """
    nb, nl, T = net.nb, net.nl, periods
    vs = net.source_vm_pu if v_source_pu is None else float(v_source_pu)
    P = cp.Variable((nl, T), name="line-p")
    Q = cp.Variable((nl, T), name="line-q")
    l = cp.Variable((nl, T), nonneg=True, name="line-l")
    v = cp.Variable((nb, T), name="bus-v")
    p_sub = cp.Variable(T, name="source-p")
    q_sub = cp.Variable(T, name="source-q")

    r = net.r[:, None]
    x = net.x[:, None]
    tap2 = (net.tap**2)[:, None]
    e0 = np.zeros((nb, 1))
    e0[0, 0] = 1.0
    ones = np.ones((1, T))
    w = cp.multiply(tap2, net.Cf.T @ v)  # tau^2 v_i on every branch (sending side, stepped)

    cons: dict[str, list] = {}
    cons["bus-p_balance"] = [
        net.Ct @ (P - cp.multiply(r, l)) - net.Cf @ P + e0 @ cp.reshape(p_sub, (1, T), order="C")
        == p_demand
    ]
    cons["bus-q_balance"] = [
        net.Ct @ (Q - cp.multiply(x, l))
        - net.Cf @ Q
        + cp.multiply(net.b_shunt[:, None] @ ones, v)
        + e0 @ cp.reshape(q_sub, (1, T), order="C")
        == q_demand
    ]
    cons["line-voltage_drop"] = [
        net.Ct.T @ v
        == w - 2 * (cp.multiply(r, P) + cp.multiply(x, Q)) + cp.multiply(r**2 + x**2, l)
    ]
    # P^2 + Q^2 <= w l  <=>  || (2P, 2Q, w - l) || <= w + l, one cone per branch and period;
    # ideal branches (regulators) carry no current variable: l = 0 there
    z = np.flatnonzero(~net.ideal)
    Pz, Qz, lz, wz = P[z, :], Q[z, :], l[z, :], w[z, :]
    cons["line-soc"] = [
        cp.SOC(
            cp.vec(wz + lz, order="C"),
            cp.vstack(
                [cp.vec(2 * Pz, order="C"), cp.vec(2 * Qz, order="C"), cp.vec(wz - lz, order="C")]
            ),
            axis=0,
        )
    ]
    if net.ideal.any():
        cons["line-ideal"] = [l[np.flatnonzero(net.ideal), :] == 0]
    cons["bus-v_source"] = [v[0, :] == vs**2]
    vmin2 = (np.asarray(vmin_pu, dtype=float) ** 2)[1:, None] @ ones
    vmax2 = (np.asarray(vmax_pu, dtype=float) ** 2)[1:, None] @ ones
    limited = np.flatnonzero(np.isfinite(net.i_max)) if ampacity else np.zeros(0, dtype=int)
    slacks = {}
    if elastic:
        slacks["v_min"] = cp.Variable((nb - 1, T), nonneg=True, name="bus-v_min_slack")
        slacks["v_max"] = cp.Variable((nb - 1, T), nonneg=True, name="bus-v_max_slack")
        slacks["ampacity"] = cp.Variable((len(limited), T), nonneg=True, name="line-amp_slack")
        vmin2 = vmin2 - slacks["v_min"]
        vmax2 = vmax2 + slacks["v_max"]
    cons["bus-v_min"] = [v[1:, :] >= vmin2]
    cons["bus-v_max"] = [v[1:, :] <= vmax2]
    if len(limited):
        cap = (net.i_max[limited] ** 2)[:, None] @ ones
        if elastic:
            cap = cap + slacks["ampacity"]
        cons["line-ampacity"] = [l[limited, :] <= cap]
    return DistFlowBlock(
        P=P,
        Q=Q,
        l=l,
        v=v,
        p_sub=p_sub,
        q_sub=q_sub,
        constraints=cons,
        slacks=slacks,
        limited=limited,
    )


#: a branch carrying less than this fraction of the period's largest branch flow |S| is idle
IDLE_FRACTION = 0.01
#: an idle branch whose excess loss r (l - |S|^2 / w) exceeds this fraction of the period's
#: losses carries a phantom loss: flagged as gap 1
PHANTOM_FRACTION = 1e-4


def relaxation_gap(P, Q, l, v, net: NetworkModel) -> np.ndarray:
    """Relative SOC gap (w l - P^2 - Q^2) / (w l) per branch and period (0 = exact).

    ``w = tap^2 v_from``. A branch's gap counts only where its excess loss ``r (l - |S|^2 /
    w)`` exceeds :data:`PHANTOM_FRACTION` of the period's losses; below that it measures the
    solver's resolution, not the relaxation (IEEE 123 at night: 3.6e-5 on a branch carrying
    8 kW with 0.09 W of losses), and counts as 0. On an idle branch (|S| below
    :data:`IDLE_FRACTION` of the period's largest branch flow) an excess loss above it is a
    phantom loss the relaxation invents: 1. Ideal branches carry no relaxed current (0).
    """
    w = (net.tap**2)[:, None] * v[net.f, :]
    wl = w * l
    s2 = P**2 + Q**2
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(wl > 0, (wl - s2) / wl, 0.0)
        excess = net.r[:, None] * np.where(w > 0, l - s2 / w, 0.0)
    idle = s2 < IDLE_FRACTION**2 * s2.max(axis=0, keepdims=True)
    losses = (net.r[:, None] * l).sum(axis=0, keepdims=True)
    phantom = excess > PHANTOM_FRACTION * losses
    rel = np.where(idle, np.where(phantom, 1.0, 0.0), rel)
    # on any branch, a gap whose excess loss is below PHANTOM_FRACTION of the period's losses
    # is the solver's resolution, not the relaxation: an objective nearly flat in losses
    # (a loss guard against a negative price) leaves relative gaps of 1e-4 whose plan
    # replays in AC to 1e-10 pu and 4 mW of 23 kW
    rel = np.where(phantom, rel, 0.0)
    rel[net.ideal, :] = 0.0  # ideal ratios carry no relaxed current
    return rel


def squared_current(P, Q, l, v, net: NetworkModel) -> np.ndarray:
    """Squared current [pu] per branch and period: ``l``, or (P^2 + Q^2) / w on ideal branches."""
    w = (net.tap**2)[:, None] * v[net.f, :]
    out = np.array(l, dtype=float, copy=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[net.ideal, :] = (P[net.ideal] ** 2 + Q[net.ideal] ** 2) / w[net.ideal]
    return np.maximum(out, 0.0)
