r"""Multi-period unbalanced (three-phase) linear branch-flow model, closeable against OpenDSS.

The anchor is LinDist3Flow (Arnold et al., IEEE PES GM 2016; Gan & Low, PSCC 2014; the
``LPUBFDiag`` form of PowerModelsDistribution.jl, ``src/form/ltd.jl``): squared phase voltages
``v`` per phase node, active and reactive flows ``P, Q`` per phase branch, losses neglected and
phase angles taken as nominal. For every phase branch ``k = (i -> j)`` of an element with
series impedance block ``z`` [pu] and period *t*:

.. math::
    \sum_{k \in in(n)} P_k - \sum_{k \in out(n)} P_k + (p^{sub}_n - p^{res}_n)
        = p^d_n + p^{load}_n(v) + \sum_{k \in in(n)} l^p_k

    v_j - \tau_k^2 v_i = -(M_P P + M_Q Q)_k + (v^c_j - \tau_k^2 v^c_i)

    M_P = 2\,\mathrm{Re}(\bar\Gamma \circ z), \quad M_Q = 2\,\mathrm{Im}(\bar\Gamma \circ z),
    \quad \Gamma_{\phi\psi} = e^{j(\theta_\phi - \theta_\psi)}

(the same for ``Q`` with ``q`` terms; ``\tau_k^2 v_i`` mixes the three phases on a delta
secondary, ``PhaseModel.Tv``), ``p^{sub}`` only on the source's phase nodes,
``v = v_s^2 + v^c`` there, and ``v_{min}^2 <= v <= v_{max}^2`` on every other phase node.
``p^{load}(v)`` are the feeder's own loads, capacitors and line charging, linear in ``v``
(:class:`~gridv2g.feeders.phase_model.PhaseModel`: constant Z exact, constant I tangent at
1 pu, delta loads rotated onto their phases), scaled per load and period by ``load_mult``.

**Closing corrections** (CVXPY Parameters, so a re-solve after an OpenDSS replay only sets
values: DPP, no rebuild): ``v_corr`` (node x period, squared pu) is added to the linear model's
voltage (``v = v^{lin} + v^c``); ``p_loss``, ``q_loss`` (phase branch x period, pu) are the
losses LinDist3Flow neglects, OpenDSS's per-phase losses of each line and transformer phase,
consumed at the phase node the branch feeds (so the flows upstream carry them); ``p_resid``,
``q_resid`` (source phase x period, pu) is the residual the source delivers beyond the model
(what the load linearizations miss), so that the substation power matches.
:mod:`gridv2g.model.unbalanced_closing` sets them so that at the last solved point the model
reproduces OpenDSS exactly; all zero gives plain LinDist3Flow. The corrections are constants to
the optimizer: marginal losses are not priced (a tangent ``l0 (1 + 2 S0 dS / |S0|^2)`` was
tried: it under-estimates the convex losses away from ``S0``, even below zero, and the
optimizer shifted load between periods to exploit it; closing then cycled).

**Ampacity** (lines with ``max_i_a``): a phase current is ``|I| = |S| / |V_f|`` with ``S`` the
phase's sending-end power (exact per phase), so the limit is the cone
``||(P_k, Q_k)||_2 <= s_max_k`` with the Parameter ``s_max = I_max |V_f|`` (``I_max`` at 1 pu
before any replay). The closing loop sets ``s_max = (I_max - e) |V_f|`` with OpenDSS's
from-node voltage and its current error ``e = I_dss - |S_model| / |V_f|`` at the solved point.

**DPP and cones.** Without ampacity cones the block is linear and DPP: a re-solve after new
correction values costs 0.26 s on IEEE 123 x 96 (first solve with compilation 0.5 s). With any
second-order cone in the problem (the ampacity cones here, or station and DER capability cones
of a co-optimization) CVXPY 1.9's conic formatting of a DPP problem multiplies a matrix with
``(variables + 1) x (parameter entries + 1)`` columns: 5.9 s to compile IEEE 123 x 24 with one
rated line, and the memory grows with that product (the corrections hold about 3 x phase
nodes x periods entries). :func:`gridv2g.model.unbalanced_closing.close` then solves with
``ignore_dpp=True``: the problem is still built once, CVXPY recompiles it with the current
Parameter values (0.35-0.55 s per solve on IEEE 123 x 96).

All constraints are matrix expressions over (phase branch x period) or (phase node x period):
no Python loop over buses, branches or periods.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp

from gridv2g.feeders.phase_model import PhaseModel


@dataclass
class UnbalancedBlock:
    """Variables, Parameters, constraints and outputs of the unbalanced block (all pu).

    ``P``, ``Q`` (phase branch x period), ``v`` (phase node x period, squared voltage
    including the correction), ``p_sub``, ``q_sub`` (source phase x period, delivered by the
    source); ``params``: ``v_corr`` (node x period), ``p_loss``, ``q_loss`` (phase branch x
    period), ``p_resid``,
    ``q_resid`` (source phase x period) and ``s_max``
    (limited branch x period, pu apparent-power cap of the ampacity cones); ``constraints``:
    named lists (``"phase-p_balance"``, ``"phase-q_balance"``, ``"branch-voltage_drop"``,
    ``"phase-v_source"``, ``"phase-v_min"``, ``"phase-v_max"``, ``"branch-ampacity"``);
    ``slacks`` (elastic: ``v_min``, ``v_max`` in squared pu, ``ampacity`` in pu current);
    ``limited``: indices of the rated phase branches; ``p_demand``, ``q_demand``: the net demand
    expressions given (node x period); ``load_mult`` (load x period, as given: array, scalar,
    ``None`` or a Parameter; :meth:`load_mult_value` gives the numbers).
    """

    model: PhaseModel
    periods: int
    P: cp.Variable
    Q: cp.Variable
    v: cp.Variable
    p_sub: cp.Variable
    q_sub: cp.Variable
    params: dict[str, cp.Parameter]
    constraints: dict[str, list] = field(default_factory=dict)
    slacks: dict[str, cp.Variable] = field(default_factory=dict)
    limited: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    p_demand: object = None
    q_demand: object = None
    load_mult: object = None
    v_source_pu: float = 1.0
    vmin_pu: np.ndarray | None = None
    vmax_pu: np.ndarray | None = None
    loss_p: cp.Expression | None = None
    loss_q: cp.Expression | None = None

    def all_constraints(self) -> list:
        return [c for group in self.constraints.values() for c in group]

    @property
    def p_sub_total(self) -> cp.Expression:
        """Substation active power per period [pu], the sum over phases."""
        return cp.sum(self.p_sub, axis=0)

    @property
    def q_sub_total(self) -> cp.Expression:
        """Substation reactive power per period [pu], the sum over phases."""
        return cp.sum(self.q_sub, axis=0)

    @property
    def losses_pu(self) -> cp.Expression:
        """Active losses per period [pu]: the loss corrections summed (zero in plain
        LinDist3Flow, OpenDSS's losses at the last replayed point after closing)."""
        return cp.sum(self.loss_p, axis=0)

    def reset(self) -> None:
        """All corrections to zero (plain LinDist3Flow), ``s_max`` to ``I_max`` (1 pu voltage)."""
        for p in self.params.values():
            p.value = np.zeros(p.shape)
        self.set_limits()
        if "s_max" in self.params:
            cap = self.model.i_max_pu[self.limited][:, None]
            self.params["s_max"].value = np.repeat(cap, self.periods, axis=1)

    def set_limits(self, raise_low=0.0, lower_high=0.0) -> None:
        """Phase-voltage limits of the inner nodes: ``vmin + raise_low``, ``vmax -
        lower_high`` [pu] (scalars or node x period arrays over all nodes; 0 = the limits)."""
        inner = np.flatnonzero(self.model.inner_nodes)
        shape = (self.model.nn, self.periods)
        lo = self.vmin_pu[:, None] + np.broadcast_to(raise_low, shape)
        hi = self.vmax_pu[:, None] - np.broadcast_to(lower_high, shape)
        self.params["v_min2"].value = lo[inner] ** 2
        self.params["v_max2"].value = np.maximum(hi[inner], 0.0) ** 2

    def load_mult_value(self) -> np.ndarray:
        """Numeric (load x period) multipliers of the feeder's loads."""
        m = self.load_mult
        m = 1.0 if m is None else m.value if isinstance(m, cp.Expression) else m
        return np.broadcast_to(np.asarray(m, dtype=float), (self.model.n_loads, self.periods))

    def vm_pu(self) -> np.ndarray:
        """Solved phase voltage magnitudes (node x period) [pu]."""
        return np.sqrt(np.maximum(self.v.value, 0.0))


def _limits(value, pm: PhaseModel) -> np.ndarray:
    out = np.broadcast_to(np.asarray(value, dtype=float), (pm.nn,)).copy()
    return out


def unbalanced(
    pm: PhaseModel,
    periods: int,
    p_demand=None,
    q_demand=None,
    vmin_pu=0.95,
    vmax_pu=1.05,
    v_source_pu: float | None = None,
    ampacity: bool = True,
    elastic: bool = False,
    load_mult=None,
) -> UnbalancedBlock:
    """Build the unbalanced block (module docstring).

    Parameters
    ----------
    pm
        The per-phase model (:func:`~gridv2g.feeders.phase_model.build_phase_model`).
    periods
        Number of periods *T*.
    p_demand, q_demand
        Extra net consumption per phase node and period [pu] (node x T): arrays, Parameters or
        CVXPY expressions (devices through :meth:`PhaseModel.connect`); ``None`` = 0. The
        feeder's own loads are inside the block (``load_mult``).
    vmin_pu, vmax_pu
        Phase-voltage limits [pu], scalars or per node (length ``pm.nn``); the source bus's
        nodes are not limited.
    v_source_pu
        Source voltage [pu] (default: the feeder's).
    ampacity
        Enforce the current cones on rated lines (``pm.i_max_pu`` finite).
    elastic
        Non-negative slacks on the voltage and ampacity limits (``block.slacks``).
    load_mult
        Multipliers of the feeder's nominal loads, (load x T) array or scalar (default 1), or a
        (load x T) Parameter / parameter-affine expression (e.g. ``L @ profile`` with ``L``
        mapping loads to profiles) so a re-solve can change the base load without rebuild.
    """
    T, nn, nb = periods, pm.nn, pm.nb
    vs = pm.source_vm_pu if v_source_pu is None else float(v_source_pu)
    zeros = np.zeros((nn, T))
    p_demand = zeros if p_demand is None else p_demand
    q_demand = zeros if q_demand is None else q_demand
    if isinstance(load_mult, cp.Expression):
        # a Parameter (or parameter-affine expression) of load multipliers: the loads'
        # entries follow it, capacitors and line shunts keep 1 (DPP: parameter x variable)
        rest = (pm.entry_load < 0).astype(float)[:, None] @ np.ones((1, T))
        mult = pm.entry_load_matrix() @ load_mult + rest
        c1 = cp.multiply(pm.c1[:, None] @ np.ones((1, T)), mult)
        g0 = cp.multiply(pm.c0[:, None] @ np.ones((1, T)), mult)
    else:
        mult = pm.entry_mult(load_mult, T)  # (entry x T) constants
        c1 = pm.c1[:, None] * mult
        g0 = pm.c0[:, None] * mult

    P = cp.Variable((nb, T), name="branch-p")
    Q = cp.Variable((nb, T), name="branch-q")
    v = cp.Variable((nn, T), name="phase-v")
    ns = len(pm.source_nodes)
    p_sub = cp.Variable((ns, T), name="source-p")
    q_sub = cp.Variable((ns, T), name="source-q")
    params = {
        "v_corr": cp.Parameter((nn, T), name="phase-v_corr"),
        "p_loss": cp.Parameter((nb, T), name="branch-p_loss"),
        "q_loss": cp.Parameter((nb, T), name="branch-q_loss"),
        "p_resid": cp.Parameter((ns, T), name="source-p_resid"),
        "q_resid": cp.Parameter((ns, T), name="source-q_resid"),
    }
    limited = np.flatnonzero(np.isfinite(pm.i_max_pu)) if ampacity else np.zeros(0, dtype=int)
    if len(limited):
        params["s_max"] = cp.Parameter((len(limited), T), nonneg=True, name="branch-s_max")

    loss_p, loss_q = params["p_loss"], params["q_loss"]
    A = (pm.Ct - pm.Cf).tocsr()  # inflow - outflow at every node
    S = sp.csr_matrix((np.ones(ns), (pm.source_nodes, np.arange(ns))), shape=(nn, ns))
    G = (pm.Ct.T - pm.Tv @ pm.Cf.T).tocsr()  # v_t - tap^2 v_f per branch
    # feeder loads: Wp (c0 m) constant plus Wp (c1 m * (U v)), linear in v
    load_v = cp.multiply(c1, pm.U @ v)

    cons: dict[str, list] = {}
    cons["phase-p_balance"] = [
        A @ P + S @ (p_sub - params["p_resid"])
        == p_demand + pm.Wp @ g0 + pm.Wp @ load_v + pm.Ct @ loss_p
    ]
    cons["phase-q_balance"] = [
        A @ Q + S @ (q_sub - params["q_resid"])
        == q_demand + pm.Wq @ g0 + pm.Wq @ load_v + pm.Ct @ loss_q
    ]
    cons["branch-voltage_drop"] = [G @ v == G @ params["v_corr"] - (pm.MP @ P + pm.MQ @ Q)]
    cons["phase-v_source"] = [v[pm.source_nodes, :] == vs**2 + params["v_corr"][pm.source_nodes, :]]

    inner = np.flatnonzero(pm.inner_nodes)
    vmin = _limits(vmin_pu, pm)
    vmax = _limits(vmax_pu, pm)
    # the limits as Parameters (squared pu, inner node x period): the closing loop backs a
    # limit off where OpenDSS saw it broken (UnbalancedBlock.set_limits), each side on its own
    params["v_min2"] = cp.Parameter((len(inner), T), nonneg=True, name="phase-v_min2")
    params["v_max2"] = cp.Parameter((len(inner), T), nonneg=True, name="phase-v_max2")
    vmin2 = params["v_min2"]
    vmax2 = params["v_max2"]
    slacks = {}
    if elastic:
        slacks["v_min"] = cp.Variable((len(inner), T), nonneg=True, name="phase-v_min_slack")
        slacks["v_max"] = cp.Variable((len(inner), T), nonneg=True, name="phase-v_max_slack")
        vmin2 = vmin2 - slacks["v_min"]
        vmax2 = vmax2 + slacks["v_max"]
    cons["phase-v_min"] = [v[inner, :] >= vmin2]
    cons["phase-v_max"] = [v[inner, :] <= vmax2]
    if len(limited):
        # |S_k| <= I_max |V_f|: one cp.SOC over all rated phase branches and periods
        cap = params["s_max"]
        if elastic:
            slacks["ampacity"] = cp.Variable(
                (len(limited), T), nonneg=True, name="branch-amp_slack"
            )
            cap = cap + slacks["ampacity"]
        Pl, Ql = P[limited, :], Q[limited, :]
        cons["branch-ampacity"] = [
            cp.SOC(
                cp.vec(cap, order="C"),
                cp.vstack([cp.vec(Pl, order="C"), cp.vec(Ql, order="C")]),
                axis=0,
            ),
        ]
    block = UnbalancedBlock(
        model=pm,
        periods=T,
        P=P,
        Q=Q,
        v=v,
        p_sub=p_sub,
        q_sub=q_sub,
        params=params,
        constraints=cons,
        slacks=slacks,
        limited=limited,
        p_demand=p_demand,
        q_demand=q_demand,
        load_mult=load_mult,
        v_source_pu=vs,
        vmin_pu=vmin,
        vmax_pu=vmax,
        loss_p=loss_p,
        loss_q=loss_q,
    )
    block.reset()
    return block


def value_of(x, shape) -> np.ndarray:
    """Numeric value of an array, Parameter or expression (``None`` -> zeros)."""
    if x is None:
        return np.zeros(shape)
    if isinstance(x, cp.Expression | cp.Parameter):
        return np.asarray(x.value, dtype=float).reshape(shape)
    return np.broadcast_to(np.asarray(x, dtype=float), shape)


def block_tables(block: UnbalancedBlock, index=None) -> dict[str, pd.DataFrame]:
    """Solved values as tables in engineering units (``index``: the periods' labels, default
    0..T-1): ``res_phase`` (time, bus, phase) ``vm_pu``; ``res_branch`` (time, element, phase)
    ``p_kw``, ``q_kvar`` (sending end); ``res_source`` (time) ``p_kw``, ``q_kvar`` (sum over
    phases) and ``losses_kw`` (the loss correction: OpenDSS's at the last replay)."""
    pm, T = block.model, block.periods
    sb = pm.s_base_kva
    index = pd.RangeIndex(T, name="time") if index is None else pd.Index(index, name="time")
    nodes = pd.MultiIndex.from_arrays([pm.node_bus, pm.node_phase], names=["bus", "phase"])
    vm = pd.DataFrame(block.vm_pu().T, index=index, columns=nodes)
    branches = pd.MultiIndex.from_arrays(
        [pm.branch_element, pm.branch_phase], names=["element", "phase"]
    )
    p = pd.DataFrame(block.P.value.T * sb, index=index, columns=branches)
    q = pd.DataFrame(block.Q.value.T * sb, index=index, columns=branches)
    return {
        "res_phase": vm.stack(["bus", "phase"], future_stack=True).rename("vm_pu").to_frame(),
        "res_branch": pd.DataFrame(
            {
                "p_kw": p.stack(["element", "phase"], future_stack=True),
                "q_kvar": q.stack(["element", "phase"], future_stack=True),
            }
        ),
        "res_source": pd.DataFrame(
            {
                "p_kw": block.p_sub_total.value * sb,
                "q_kvar": block.q_sub_total.value * sb,
                "losses_kw": block.losses_pu.value * sb,
            },
            index=index,
        ),
    }


class UnbalancedGrid:
    """The grid-formulation interface of the three-phase model, built once per feeder.

    ``connect(buses, phases, conn)`` maps devices onto phase nodes
    (:meth:`PhaseModel.connect`); ``block(T, p_demand, q_demand, vmin, vmax, ampacity,
    elastic)`` builds the LinDist3Flow block (:func:`unbalanced`); ``replay(devices)`` the
    OpenDSS model compiled once; ``close(problem, block, replay, p_dev, q_dev)`` the closing
    loop (:func:`gridv2g.model.unbalanced_closing.close`).
    """

    def __init__(self, feeder, s_base_kva: float = 1000.0):
        from gridv2g.feeders.phase_model import build_phase_model

        self.model = build_phase_model(feeder, s_base_kva)

    def connect(self, buses, phases=None, conn=None):
        """Node x device maps of device powers [pu] (:class:`DeviceMap`)."""
        return self.model.connect(buses, phases, conn)

    def block(
        self,
        T: int,
        p_demand=None,
        q_demand=None,
        vmin=0.95,
        vmax=1.05,
        ampacity: bool = True,
        elastic: bool = False,
        load_mult=None,
        v_source_pu: float | None = None,
    ) -> UnbalancedBlock:
        """The unbalanced block over ``T`` periods (:func:`unbalanced`)."""
        return unbalanced(
            self.model,
            T,
            p_demand,
            q_demand,
            vmin,
            vmax,
            v_source_pu=v_source_pu,
            ampacity=ampacity,
            elastic=elastic,
            load_mult=load_mult,
        )

    def replay(self, devices=None, directory=None, v_source_pu: float | None = None):
        """The OpenDSS replay of this feeder with ``devices`` (a :class:`DeviceMap`)."""
        from gridv2g.model.unbalanced_closing import OpenDSSPhaseReplay

        return OpenDSSPhaseReplay(self.model, devices, directory, v_source_pu)

    def close(self, problem, block, replay, p_dev=None, q_dev=None, **options):
        """Run the closing loop; returns a :class:`ClosingReport`."""
        from gridv2g.model.unbalanced_closing import close

        return close(problem, block, replay, p_dev, q_dev, **options)
