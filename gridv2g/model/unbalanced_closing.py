r"""Close the unbalanced linear model against OpenDSS: replay, correct, re-solve.

LinDist3Flow (:mod:`gridv2g.model.unbalanced`) neglects losses and takes phase angles as
nominal: on IEEE 123 its phase voltages are off by 3e-3..5e-3 pu (1.6e-2 at the floating delta
secondary 610). The closing loop makes the delivered plan hold on the full feeder:

1. solve the problem (corrections at their current values; zero = plain LinDist3Flow);
2. replay every period in OpenDSS on the full feeder (:class:`OpenDSSPhaseReplay`: the model
   compiled once, loads and devices set per period through the API);
3. set the Parameters so that the model reproduces OpenDSS exactly at the solved point
   (zero-order modifier adaptation):

   - ``p_loss``, ``q_loss``: each line's and transformer's per-phase losses (OpenDSS
     ``PhaseLosses``) on the phase node it feeds; ``p_resid``, ``q_resid``: on the source
     phases, the residual ``p^{sub}_{dss} - p^{sub}_{model}`` (what the load linearizations
     and the line-charging approximation miss);
   - ``v_corr = v_{dss}^2 - v^{lin}``, with ``v^{lin}`` the plain LinDist3Flow voltages
     (:meth:`PhaseModel.lindist`) of the nodal consumption evaluated at OpenDSS's voltages and
     with the new loss terms: the model without correction at the solved point;
   - ``s_max``: the apparent-power cap ``(I_max - e) |V_f|`` of each rated phase branch, with
     OpenDSS's from-node voltage and current error ``e = I_dss - |S_model| / |V_f|``;

4. re-solve through the Parameter values (DPP: no rebuild, no recompilation) and repeat until
   the replay meets every phase-voltage limit (tolerance ``v_tol_pu``) and ampacity
   (``i_tol_a``) and the objective settles (relative change below ``obj_rtol``).

The first solve's corrections are taken whole (the warm start, step 0, saw no devices); from
the next update on they are relaxed: ``c <- c + relax (c_new - c)``. Why: a
zero-order correction is exact at the solved point but not in its slope, and LinDist3Flow's
sensitivity of a lateral's voltage to its load is too small under heavy single-phase load (it
neglects the marginal losses and the ``|z I|^2`` term, both twice their average): measured on
IEEE 123 with 280 kW on bus 114 (phase a), OpenDSS's dV/dP is 1.33 times the model's. At a
binding limit the undamped iteration then overshoots and alternates (error ratio -0.77 per
iteration over 24 periods, 12 solves not settled); ``relax = 0.6`` makes it contract by about
0.2 per iteration (8 solves).

Where OpenDSS sees a limit broken from the second plan on, that side of that phase node and
period is backed off (the limits are Parameters of the block): by the violation, and half of
any room OpenDSS shows is given back each iteration, never below ``safety_pu``. The loop ends
when the replay meets every limit and the model, corrected at the last plan, predicted this
plan's OpenDSS voltages and losses within ``model_tol_pu`` and ``losses_tol_percent`` (or the
objective settled with the model within 1e-3 pu and 1 %).

The plan returned is the last one replayed: feasible on the full feeder in OpenDSS at every
period, or :class:`ClosingError` if ``max_iter`` is reached (``raise_on_failure=False``
returns the report with ``converged=False``).
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd

from gridv2g.errors import GridV2GError, SolveError
from gridv2g.feeders.opendss_engine import device_element
from gridv2g.feeders.phase_model import DeviceMap, PhaseModel
from gridv2g.model.unbalanced import UnbalancedBlock, value_of

log = logging.getLogger(__name__)


class ClosingError(GridV2GError):
    """The closing loop did not reach an OpenDSS-feasible, settled plan."""


@dataclass
class ReplayResult:
    """One OpenDSS replay of T periods.

    ``vm_node`` (OpenDSS node x T) [pu] over every node of the full feeder (``node_names``,
    ``node_model``: the model node each maps to, -1 for none); ``vm_model`` (model node x T);
    ``p_loss``, ``q_loss`` (phase branch x T) [pu] per-phase losses of lines and transformers
    (contracted switches' losses are left to the source residual);
    ``p_src``, ``q_src`` (source phase x T) [pu]; ``losses_kw``, ``substation_kw`` (T);
    ``i_branch_a`` (rated phase branch x T) [A]; ``seconds``.
    """

    vm_node: np.ndarray
    vm_model: np.ndarray
    node_names: list[str]
    node_model: np.ndarray
    p_loss: np.ndarray
    q_loss: np.ndarray
    p_src: np.ndarray
    q_src: np.ndarray
    losses_kw: np.ndarray
    substation_kw: np.ndarray
    i_branch_a: np.ndarray
    seconds: float
    #: complex node voltages (OpenDSS node x T) [pu of each node's base], for unbalance
    vc_node: np.ndarray | None = None


class OpenDSSPhaseReplay:
    """The feeder in OpenDSS, compiled once, with one ``Load`` (model 1, constant P and Q down
    to 0.5 pu) per device of ``devices`` on its bus, phases and connection; :meth:`run` sets
    loads and devices per period and solves.

    OpenDSS keeps one circuit per process: another compile (e.g. a second replay object, or
    :func:`gridv2g.validation_opendss.validate_opendss`) replaces it; :meth:`run` recompiles
    when its marker (a 0 kW load named after this object) is not in the active circuit.
    """

    def __init__(
        self,
        pm: PhaseModel,
        devices: DeviceMap | None = None,
        directory=None,
        v_source_pu: float | None = None,
    ):
        self.pm = pm
        self.devices = devices
        self._tmp = tempfile.TemporaryDirectory() if directory is None else None
        self.directory = Path(self._tmp.name if directory is None else directory)
        self.v_source_pu = v_source_pu
        self.master = pm.feeder.to_opendss(self.directory / "dss")
        self.extra = []
        if v_source_pu is not None:
            self.extra.append(f"Vsource.source.pu={float(v_source_pu):.12g}")
        # a 0 kW constant-power load: draws nothing, marks the circuit as this object's
        self.marker = f"gv2g_replay_{id(self):x}"
        self.extra.append(
            f"New Load.{self.marker} bus1={pm.feeder.source_bus}.1 phases=1 kw=0 kvar=0 model=1"
        )
        if devices is not None:
            for k, (bus, nodes, conn) in enumerate(
                zip(devices.buses, devices.nodes, devices.conn, strict=True)
            ):
                self.extra.append(
                    device_element("Load", f"gv2g_dev{k}", bus, pm.feeder, nodes, conn)
                )
        self._compile()

    def _compile(self) -> None:
        from gridv2g.feeders.opendss_import import _dss, compile_model, run_command

        dss = _dss()
        compile_model(self.master, self.extra)
        run_command("set tolerance=1e-10")
        run_command("set maxiterations=100")
        pm = self.pm
        names = [n.lower() for n in dss.Circuit.AllNodeNames()]
        base = {}
        for bus in dss.Circuit.AllBusNames():
            dss.Circuit.SetActiveBus(bus)
            base[bus.lower()] = 1000.0 * dss.Bus.kVBase()
        node_bus = [n.rsplit(".", 1)[0] for n in names]
        self.node_names = names
        self.base_v = np.array([base[b] for b in node_bus])
        lower = {str(b).lower(): pm.bus_map[str(b)] for b in pm.bus_map}
        key = pd.Series(np.arange(pm.nn), index=pm.node_names)
        mapped = [
            f"{lower[b]}.{n.rsplit('.', 1)[1]}".lower() if b in lower else ""
            for b, n in zip(node_bus, names, strict=True)
        ]
        self.node_model = key.reindex(mapped).fillna(-1).to_numpy(int)
        # the model node of each OpenDSS node that IS the math bus (not a contracted twin)
        own = np.array([b == str(pm.bus_map.get(b, b)).lower() or b not in lower for b in node_bus])
        self.model_pick = np.full(pm.nn, -1)
        idx = np.flatnonzero(own & (self.node_model >= 0))
        self.model_pick[self.node_model[idx]] = idx
        if (self.model_pick < 0).any():
            raise GridV2GError("OpenDSS model lacks phase nodes of the phase model")
        # per-phase losses of every element: element name -> its phase branches in conductor
        # order (as the phase model lists them)
        el = pd.Series(np.arange(pm.nb)).groupby(pm.branch_element, sort=False)
        self.loss_elements = [(name, g.to_numpy()) for name, g in el]
        dss.Vsources.First()
        self.source_element = "Vsource." + dss.Vsources.Name()
        lim = np.flatnonzero(np.isfinite(pm.i_max_pu))
        self.limited = lim
        self.limited_elements = pm.branch_element[lim]
        k_of = pd.Series(np.arange(pm.nb)).groupby(pm.branch_element).cumcount()
        self.limited_k = k_of.to_numpy()[lim]

    def run(self, load_mult=None, p_dev_kw=None, q_dev_kvar=None, periods: int | None = None):
        """Replay T periods: feeder loads at nominal x ``load_mult`` (load x T or scalar),
        device ``d`` at ``p_dev_kw[d, t]``, ``q_dev_kvar[d, t]``. Returns a
        :class:`ReplayResult`."""
        from gridv2g.feeders.opendss_import import _dss

        dss = _dss()
        if dss.Circuit.SetActiveElement(f"Load.{self.marker}") < 0:
            self._compile()
        pm = self.pm
        if periods is None:
            periods = next(
                (
                    np.shape(x)[1]
                    for x in (load_mult, p_dev_kw)
                    if x is not None and np.ndim(x) == 2
                ),
                1,
            )
        T = periods
        loads = pm.feeder.load
        m = np.broadcast_to(
            np.asarray(1.0 if load_mult is None else load_mult, float), (len(loads), T)
        )
        p0, q0 = loads.p_kw.to_numpy(), loads.q_kvar.to_numpy()
        n_dev = 0 if self.devices is None else len(self.devices.buses)
        p_dev = np.zeros((n_dev, T)) if p_dev_kw is None else np.asarray(p_dev_kw, float)
        q_dev = np.zeros((n_dev, T)) if q_dev_kvar is None else np.asarray(q_dev_kvar, float)
        n_all = len(self.node_names)
        vm = np.empty((n_all, T))
        vc = np.empty((n_all, T), dtype=complex)
        p_loss = np.zeros((pm.nb, T))
        q_loss = np.zeros((pm.nb, T))
        ns = len(pm.source_nodes)
        p_src, q_src = np.zeros((ns, T)), np.zeros((ns, T))
        losses, sub = np.zeros(T), np.zeros(T)
        i_br = np.zeros((len(self.limited), T))
        names = list(loads.index)
        t0 = time.perf_counter()
        # OpenDSS takes powers element by element through its API (no array setter)
        for k in range(T):
            for i, name in enumerate(names):
                dss.Loads.Name(name)
                dss.Loads.kW(float(p0[i] * m[i, k]))
                dss.Loads.kvar(float(q0[i] * m[i, k]))
            for d in range(n_dev):
                dss.Loads.Name(f"gv2g_dev{d}")
                dss.Loads.kW(float(p_dev[d, k]))
                dss.Loads.kvar(float(q_dev[d, k]))
            dss.Solution.Solve()
            if not dss.Solution.Converged():
                raise ClosingError(f"OpenDSS did not converge at period {k}")
            volts = np.asarray(dss.Circuit.AllBusVolts()).reshape(-1, 2)
            vc[:, k] = (volts[:, 0] + 1j * volts[:, 1]) / self.base_v
            vm[:, k] = np.abs(vc[:, k])
            for element, branches in self.loss_elements:
                dss.Circuit.SetActiveElement(element)
                ph = np.asarray(dss.CktElement.PhaseLosses()).reshape(-1, 2)[: len(branches)]
                p_loss[branches, k] = ph[:, 0]
                q_loss[branches, k] = ph[:, 1]
            dss.Circuit.SetActiveElement(self.source_element)
            pw = np.asarray(dss.CktElement.Powers()).reshape(-1, 2)[:ns]
            p_src[:, k], q_src[:, k] = -pw[:, 0], -pw[:, 1]
            losses[k] = dss.Circuit.Losses()[0] / 1000.0
            sub[k] = -dss.Circuit.TotalPower()[0]
            for j, (element, kk) in enumerate(
                zip(self.limited_elements, self.limited_k, strict=True)
            ):
                dss.Circuit.SetActiveElement(element)
                i_br[j, k] = dss.CktElement.CurrentsMagAng()[2 * kk]
        seconds = time.perf_counter() - t0
        sb = pm.s_base_kva
        return ReplayResult(
            vm_node=vm,
            vm_model=vm[self.model_pick],
            node_names=self.node_names,
            node_model=self.node_model,
            p_loss=p_loss / sb,
            q_loss=q_loss / sb,
            p_src=p_src / sb,
            q_src=q_src / sb,
            losses_kw=losses,
            substation_kw=sub,
            i_branch_a=i_br,
            seconds=seconds,
            vc_node=vc,
        )


def corrections(block: UnbalancedBlock, replay: ReplayResult, p_ext=None, q_ext=None) -> dict:
    """Parameter values that make ``block`` reproduce ``replay`` at the replayed point
    (module docstring, step 3). ``p_ext``, ``q_ext``: the block's extra net demand at that
    point (node x T, pu; default: the values of ``block.p_demand``, ``block.q_demand``)."""
    pm, T = block.model, block.periods
    shape = (pm.nn, T)
    p_ext = value_of(block.p_demand, shape) if p_ext is None else p_ext
    q_ext = value_of(block.q_demand, shape) if q_ext is None else q_ext
    v_dss = replay.vm_model**2
    p_load, q_load = pm.injections(v_dss, block.load_mult_value())
    lp, lq = replay.p_loss, replay.q_loss
    p_node = p_ext + p_load + pm.Ct @ lp
    q_node = q_ext + q_load + pm.Ct @ lq
    P, Q, v_lin = pm.lindist(p_node, q_node, block.v_source_pu)
    src = pm.source_nodes
    # what the model's source delivers: outflow of the source nodes plus their own demand
    p_sub = (pm.Cf - pm.Ct)[src] @ P + p_node[src]
    q_sub = (pm.Cf - pm.Ct)[src] @ Q + q_node[src]
    out = {
        "v_corr": v_dss - v_lin,
        "p_resid": replay.p_src - p_sub,
        "q_resid": replay.q_src - q_sub,
    }
    out["p_loss"], out["q_loss"] = lp, lq
    if "s_max" in block.params:
        lim = block.limited
        vf = replay.vm_model[pm.f[lim]]
        # the model's flows at the solved point (before any solve: the linear model's own
        # flows of the replayed consumption)
        p_mod = P if block.P.value is None else block.P.value
        q_mod = Q if block.Q.value is None else block.Q.value
        s_model = np.hypot(p_mod[lim], q_mod[lim])
        i_dss = replay.i_branch_a / pm.i_base_a[lim][:, None]
        err = i_dss - s_model / vf
        out["s_max"] = np.maximum(pm.i_max_pu[lim][:, None] - err, 0.0) * vf
    return out


@dataclass
class ClosingReport:
    """Iterations of the closing loop and the final figures.

    ``iterations``: one row per solve (``objective``, ``solve_s``, ``replay_s``,
    ``violation_pu`` (largest phase-voltage limit violation in OpenDSS over all nodes and
    periods), ``model_error_pu`` (max |V_model - V_opendss| over model nodes and periods at the
    solved point, before the correction), ``losses_error_percent`` (model vs OpenDSS energy
    losses), ``vmin_opendss_pu``, ``vmax_opendss_pu``, ``ampacity_violation_a``);
    ``converged``; ``ignore_dpp`` (whether the solves recompiled); ``replay``: the final
    :class:`ReplayResult`; ``node_error_pu``: per model node ("bus.phase"), the largest
    |V_model - V_opendss| over the periods at the returned plan; ``summary``.
    """

    iterations: pd.DataFrame
    converged: bool
    ignore_dpp: bool
    replay: ReplayResult
    node_error_pu: pd.Series
    summary: dict = field(default_factory=dict)


def limit_violation(block: UnbalancedBlock, replay: ReplayResult) -> np.ndarray:
    """Phase-voltage limit violation per OpenDSS node and period [pu] (0 where within
    limits), limits of the model node each OpenDSS node maps to; source bus nodes excluded."""
    pm = block.model
    nm = replay.node_model
    ok = nm >= 0
    ok &= np.isin(nm, np.flatnonzero(pm.inner_nodes))
    lo = np.where(ok, block.vmin_pu[np.maximum(nm, 0)], -np.inf)[:, None]
    hi = np.where(ok, block.vmax_pu[np.maximum(nm, 0)], np.inf)[:, None]
    return np.maximum(np.maximum(lo - replay.vm_node, replay.vm_node - hi), 0.0)


def close(
    problem: cp.Problem,
    block: UnbalancedBlock,
    replay: OpenDSSPhaseReplay,
    p_dev=None,
    q_dev=None,
    max_iter: int = 30,
    v_tol_pu: float = 1e-6,
    model_tol_pu: float = 5e-4,
    losses_tol_percent: float = 0.5,
    i_tol_a: float = 1e-6,
    obj_rtol: float = 1e-4,
    solver: str = "CLARABEL",
    raise_on_failure: bool = True,
    relax: float = 0.6,
    ignore_dpp: bool | None = None,
    warm_start: bool = True,
    safety_pu: float = 5e-5,
    **options,
) -> ClosingReport:
    """Run the closing loop (module docstring) on ``problem`` built around ``block``.

    ``p_dev``, ``q_dev``: device powers (device x T) [pu] as CVXPY expressions (or arrays)
    in the order of ``replay.devices``; ``None`` = no devices. The Parameters of ``block`` are
    left at the values the returned plan was solved with (the plan is the solved point of the
    last replay). ``relax``: weight of a new correction from the second update on (module
    docstring); ``v_tol_pu``, ``i_tol_a``: tolerances of the OpenDSS limit check; ``obj_rtol``:
    relative objective change that counts as settled, or else ``model_tol_pu`` and
    ``losses_tol_percent``: the model's error against OpenDSS at the plan it solved (max
    phase voltage, energy losses) small enough to count as a fixed point; ``ignore_dpp``:
    recompile with the current Parameter values at each solve instead of DPP re-solves
    (default: when the problem
    holds a second-order cone, see :mod:`gridv2g.model.unbalanced`); ``warm_start``: set the
    corrections from an OpenDSS replay of the base case (every device at zero) before the
    first solve, so that the first model is already close to OpenDSS; ``safety_pu``: the
    smallest back-off of every voltage limit (the model's residual error at a binding node
    after the first corrections is of this order, so the plan does not sit a few micro-pu
    over a limit in OpenDSS for another solve); ``options`` go to the solver.

    Returns a :class:`ClosingReport`; raises :class:`ClosingError` if no OpenDSS-feasible,
    settled plan is reached in ``max_iter`` solves (unless ``raise_on_failure=False``).
    """
    pm, T, sb = block.model, block.periods, block.model.s_base_kva
    n_dev = 0 if replay.devices is None else len(replay.devices.buses)
    if ignore_dpp is None:
        ignore_dpp = has_cone(problem)
    rows = []
    prev_obj = None
    converged = False
    rep = None
    warm = 0
    state: dict = {}  # the corrections without back-off
    # back-off of the upper / lower voltage limits [pu], never below the safety margin
    m_up = np.full((pm.nn, T), float(safety_pu))
    m_low = np.full((pm.nn, T), float(safety_pu))
    m_amp = np.zeros((len(block.limited), T))  # back-off of the ampacities [A]
    if warm_start:
        # correct the model at the base case (feeder loads, every device at zero) before the
        # first solve: plain LinDist3Flow is a few mV off, enough to call a feeder that runs
        # close to a limit infeasible when OpenDSS says it is not
        zeros = np.zeros((n_dev, T))
        base = replay.run(block.load_mult_value(), zeros, zeros, periods=T)
        shape = (pm.nn, T)
        for name, value in corrections(block, base, np.zeros(shape), np.zeros(shape)).items():
            block.params[name].value = value
        warm = 1
    block.set_limits(m_low, m_up)
    for it in range(max_iter):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            # CVXPY's generic note on an inaccurate solve: the OpenDSS replay below measures
            # the plan whatever the solver's accuracy; the status is kept in the table
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            try:
                problem.solve(solver=solver, ignore_dpp=ignore_dpp, **options)
            except cp.SolverError as exc:
                raise SolveError(f"{solver} failed in closing iteration {it}: {exc}") from None
        solve_s = time.perf_counter() - t0
        if problem.status not in ("optimal", "optimal_inaccurate"):
            raise ClosingError(f"iteration {it}: the model is {problem.status}")
        pd_kw = value_of(p_dev, (n_dev, T)) * sb
        qd_kvar = value_of(q_dev, (n_dev, T)) * sb
        rep = replay.run(block.load_mult_value(), pd_kw, qd_kvar, periods=T)
        viol = limit_violation(block, rep)
        vm_model = block.vm_pu()
        err = np.abs(vm_model - rep.vm_model)
        node_error = pd.Series(err.max(axis=1), index=pm.node_names, name="error_pu")
        loss_model = float(np.sum(block.losses_pu.value)) * sb
        loss_dss = float(rep.losses_kw.sum())
        # ampacity counts where the block enforces it (its rated phase branches)
        enforced = np.isin(replay.limited, block.limited)
        amp = (rep.i_branch_a - (pm.i_max_pu * pm.i_base_a)[replay.limited][:, None]).clip(0)
        amp = amp[enforced]
        # per enforced phase branch of the block (its order), for the back-off
        amp_room = np.zeros((len(block.limited), T))  # I_max - I_opendss [A]
        pos = {b: k for k, b in enumerate(block.limited)}
        for r, b in enumerate(replay.limited):
            if b in pos:
                amp_room[pos[b]] = pm.i_max_pu[b] * pm.i_base_a[b] - rep.i_branch_a[r]
        obj = float(problem.value)
        rows.append(
            {
                "status": problem.status,
                "objective": obj,
                "solve_s": solve_s,
                "replay_s": rep.seconds,
                "violation_pu": float(viol.max()),
                "model_error_pu": float(err.max()),
                "model_error_at": pm.node_names[int(np.unravel_index(err.argmax(), err.shape)[0])],
                "losses_model_kw": loss_model / T,
                "losses_opendss_kw": loss_dss / T,
                "losses_error_percent": 100.0 * (loss_model - loss_dss) / loss_dss,
                "vmin_opendss_pu": float(rep.vm_node[limit_mask(block, rep)].min()),
                "vmax_opendss_pu": float(rep.vm_node[limit_mask(block, rep)].max()),
                "ampacity_violation_a": float(amp.max()) if amp.size else 0.0,
            }
        )
        # progress of a loop that can take minutes (INFO: the command line shows it)
        log.info(
            "closing iteration %d: solve %.1f s, OpenDSS replay %.2f s, violation %.1e pu, "
            "model error %.1e pu",
            it,
            solve_s,
            rep.seconds,
            rows[-1]["violation_pu"],
            rows[-1]["model_error_pu"],
        )
        settled = prev_obj is not None and abs(obj - prev_obj) <= obj_rtol * max(1.0, abs(obj))
        err, loss = rows[-1]["model_error_pu"], abs(rows[-1]["losses_error_percent"])
        # consistent: the model, corrected at the last plan, predicted this plan's OpenDSS
        # voltages and losses closely (a fixed point to the accuracy asked for); a settled
        # objective also ends the loop, but only with the model within 1 mV and 1 % of losses
        consistent = it + warm > 0 and err <= model_tol_pu and loss <= losses_tol_percent
        settled = consistent or (settled and err <= 1e-3 and loss <= 1.0)
        feasible = (
            rows[-1]["violation_pu"] <= v_tol_pu and rows[-1]["ampacity_violation_a"] <= i_tol_a
        )
        if feasible and settled:
            converged = True
            break
        prev_obj = obj
        for name, value in corrections(block, rep).items():
            old = state.get(name, block.params[name].value)
            weight = relax.get(name, 1.0) if isinstance(relax, dict) else relax
            # the first solve's corrections are taken whole (the warm start knew no devices),
            # later ones relaxed
            state[name] = value if it == 0 else old + weight * (value - old)
        # back-off: where OpenDSS saw a limit broken, tighten the model's own limit there by
        # what it saw (cumulative). A plan at a binding limit moves between degenerate optima
        # whose flows differ, so a correction alone chases it; the back-off makes the next
        # plan sit inside by the model's remaining error. The limits are Parameters of the
        # block, each side backed off on its own.
        # the margin grows by what OpenDSS saw broken and shrinks by the room it saw (an
        # integral action toward zero room where the plan binds; margins of nodes that do
        # not bind fall back to zero, so the plan does not stay conservative)
        room_up, room_low = node_rooms(block, rep)
        if it == 0:
            # the first plan's violations are the model's error, which the corrections just
            # made fix: backing off as well would count them twice
            room_up, room_low = np.maximum(room_up, 0.0), np.maximum(room_low, 0.0)
        m_up = np.maximum(_back_off(m_up, room_up), safety_pu)
        m_low = np.maximum(_back_off(m_low, room_low), safety_pu)
        block.params["v_corr"].value = state["v_corr"]
        block.set_limits(m_low, m_up)
        for name in ("p_loss", "q_loss", "p_resid", "q_resid"):
            block.params[name].value = state[name]
        if "s_max" in block.params:
            vf = rep.vm_model[pm.f[block.limited]]
            m_amp = _back_off(m_amp, amp_room if it else np.maximum(amp_room, 0.0))  # [A]
            margin_s = m_amp / pm.i_base_a[block.limited][:, None] * vf
            block.params["s_max"].value = np.maximum(state["s_max"] - margin_s, 0.0)
    table = pd.DataFrame(rows).rename_axis("iteration")
    summary = {
        "converged": converged,
        "iterations": len(table),
        "objective": float(table.objective.iloc[-1]),
        "violation_pu": float(table.violation_pu.iloc[-1]),
        "model_error_pu": float(table.model_error_pu.iloc[-1]),
        "losses_error_percent": float(table.losses_error_percent.iloc[-1]),
        "solve_s": float(table.solve_s.sum()),
        "replay_s": float(table.replay_s.sum()),
    }
    if not converged and raise_on_failure:
        raise ClosingError(
            f"closing loop not converged in {max_iter} solves: last violation "
            f"{summary['violation_pu']:.3g} pu, objective change "
            f"{abs(rows[-1]['objective'] - rows[-2]['objective']) if len(rows) > 1 else 0:.3g}"
        )
    return ClosingReport(
        iterations=table,
        converged=converged,
        ignore_dpp=ignore_dpp,
        replay=rep,
        node_error_pu=node_error,
        summary=summary,
    )


def has_cone(problem: cp.Problem) -> bool:
    """Whether ``problem`` holds a constraint that is not linear (a ``cp.SOC``, or a norm or
    other convex atom that CVXPY turns into a cone)."""
    linear = (
        cp.constraints.Equality,
        cp.constraints.Inequality,
        cp.constraints.Zero,
        cp.constraints.NonNeg,
        cp.constraints.NonPos,
    )
    return not all(
        isinstance(c, linear) and all(arg.is_affine() for arg in c.args)
        for c in problem.constraints
    )


#: share of the room OpenDSS shows that a back-off gives back per iteration (a broken limit
#: adds its whole violation): full release made the degenerate plans of the Gao case cycle
#: (20 solves), none left the lateral case 7e-3 pu conservative
BACK_OFF_RELEASE = 0.5


def _back_off(margin: np.ndarray, room: np.ndarray) -> np.ndarray:
    """New back-off from the old one and OpenDSS's room to the limit (negative: broken)."""
    step = np.where(room < 0, -room, -BACK_OFF_RELEASE * np.minimum(room, 1e3))
    return np.maximum(margin + step, 0.0)


def node_rooms(block: UnbalancedBlock, replay: ReplayResult):
    """(model node x T) room to the upper and lower phase-voltage limits [pu] in OpenDSS:
    the smallest over the OpenDSS nodes that map to each model node (negative: broken;
    +inf for the source and unmapped nodes)."""
    pm = block.model
    T = replay.vm_node.shape[1]
    nm = replay.node_model
    ok = (nm >= 0) & np.isin(nm, np.flatnonzero(pm.inner_nodes))
    up = np.full((pm.nn, T), np.inf)
    low = np.full((pm.nn, T), np.inf)
    rows, target = np.flatnonzero(ok), nm[ok]
    np.minimum.at(up, target, block.vmax_pu[target, None] - replay.vm_node[rows])
    np.minimum.at(low, target, replay.vm_node[rows] - block.vmin_pu[target, None])
    return up, low


def limit_mask(block: UnbalancedBlock, replay: ReplayResult) -> np.ndarray:
    """(OpenDSS node x 1) mask of the nodes whose voltage is limited (not the source bus)."""
    nm = replay.node_model
    ok = (nm >= 0) & np.isin(nm, np.flatnonzero(block.model.inner_nodes))
    return np.broadcast_to(ok[:, None], replay.vm_node.shape)
