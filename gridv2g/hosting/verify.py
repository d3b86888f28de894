"""AC verification of a fleet plan, and the limit that binds.

Every plan a hosting search looks at is replayed in a full AC power flow, period by period,
and judged against the case's own limits:

- balanced feeders (``balanced_socp``): pandapower on the balanced feeder
  (:func:`gridv2g.validation.replay_network`, one constant-PQ load per bus carrying the plan's
  net demand): every bus voltage and every rated line's current;
- multi-phase feeders (``unbalanced``): OpenDSS on the full feeder
  (:class:`gridv2g.model.unbalanced_closing.OpenDSSPhaseReplay`, the same replay the
  unbalanced formulation closes against, compiled once per site): every phase-node voltage
  and every rated phase conductor's current.

:func:`judge` turns the replay into one verdict: a voltage below ``vmin - v_tol_pu`` or above
``vmax + v_tol_pu``, or a current above ``rating x (1 + loading_tol_percent / 100)``, is a
violation. The limit reported is the worst violation if there is one, else the binding one:
margins are relative to the limit ((v - vmin) / vmin, (vmax - v) / vmax, (I_max - I) /
I_max), so voltages and currents rank on one scale, and the binding limit is the one whose
headroom the fleet used most against the feeder without it (:func:`judge`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from gridv2g.feeders.phase_model import build_phase_model
from gridv2g.inputs import placement
from gridv2g.validation.opendss import load_multipliers
from gridv2g.validation.pandapower import ac_periods, replay_network
from gridv2g.validation.tables import per_element

#: pandapower's numba kernels in the balanced replay (``BalancedAC(numba=None)``): a study
#: replays hundreds of heavily loaded periods per process, where Newton-Raphson iterates
#: more; measured on IEEE 33 x 24 with 600 EVs: 3.5 s per plan without numba, 0.3 s with it
#: after the one compilation per process (2-10 s, with the machine's load)
NUMBA = True


class ACDiverged(RuntimeError):
    """The AC power flow found no solution for a period (beyond voltage collapse)."""


@dataclass
class Limit:
    """One limit at one period: ``kind`` (``voltage_min``, ``voltage_max``, ``ampacity``, or
    a reason without a value such as ``infeasible``), ``element`` (bus, ``bus.phase`` or
    ``Line.name phase k``), ``time``, ``value`` and ``limit`` (pu for voltages, A for
    currents), ``margin`` (relative to the limit, negative when violated) and ``violated``."""

    kind: str
    element: str = ""
    time: str = ""
    value: float = float("nan")
    limit: float = float("nan")
    margin: float = float("nan")
    violated: bool = False

    def as_dict(self, prefix: str) -> dict:
        return {f"{prefix}_{k}": v for k, v in asdict(self).items()}


@dataclass
class Replayed:
    """An AC replay: voltages (element x period) [pu] with their lower and upper limits per
    element, currents (rated element x period) [A] with their ratings [A], the times."""

    v_names: list[str]
    vm_pu: np.ndarray
    vmin_pu: np.ndarray
    vmax_pu: np.ndarray
    i_names: list[str]
    i_a: np.ndarray
    i_max_a: np.ndarray
    times: pd.DatetimeIndex


def _margins(rep: Replayed) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, list]]:
    """(kind, relative margin, value, limit, element names) per limit kind, each array
    (element x period)."""
    v_lo = np.broadcast_to(rep.vmin_pu[:, None], rep.vm_pu.shape)
    v_hi = np.broadcast_to(rep.vmax_pu[:, None], rep.vm_pu.shape)
    i_max = np.broadcast_to(rep.i_max_a[:, None], rep.i_a.shape)
    return [
        ("voltage_min", (rep.vm_pu - v_lo) / v_lo, rep.vm_pu, v_lo, rep.v_names),
        ("voltage_max", (v_hi - rep.vm_pu) / v_hi, rep.vm_pu, v_hi, rep.v_names),
        ("ampacity", (i_max - rep.i_a) / i_max, rep.i_a, i_max, rep.i_names),
    ]


def judge(
    rep: Replayed, v_tol_pu: float, loading_tol_percent: float, reference: Replayed | None = None
) -> Limit:
    """The worst violation of ``rep`` beyond the tolerances; without one, the binding
    limit: with a ``reference`` replay (the same feeder without the fleet), the limit whose
    headroom the fleet used most, ``(m_0 - m) / m_0`` of its relative margin ``m`` against
    ``m_0`` without the fleet (a limit tight with or without EVs, such as a node at its upper
    voltage limit at night, is not what EVs bind); without a reference, the smallest
    relative margin."""
    ref = _margins(reference) if reference is not None else None
    best, best_key = None, None
    for j, (kind, margin, value, limit, names) in enumerate(_margins(rep)):
        if margin.size == 0:
            continue
        if kind == "ampacity":
            broken = value > limit * (1.0 + loading_tol_percent / 100.0)
        elif kind == "voltage_min":
            broken = value < limit - v_tol_pu
        else:
            broken = value > limit + v_tol_pu
        if broken.any():
            # the worst violation: smallest (most negative) margin among the broken
            key_all = np.where(broken, -margin, -np.inf)
            rank = 2.0
        elif ref is not None:
            m0 = ref[j][1]
            key_all = (m0 - margin) / np.maximum(m0, 1e-6)
            rank = 1.0
        else:
            key_all = -margin
            rank = 1.0
        e, t = np.unravel_index(int(np.argmax(key_all)), key_all.shape)
        key = (rank, float(key_all[e, t]))
        if best_key is None or key > best_key:
            best_key = key
            best = Limit(
                kind=kind,
                element=str(names[e]),
                time=str(rep.times[t]),
                value=float(value[e, t]),
                limit=float(limit[e, t]),
                margin=float(margin[e, t]),
                violated=bool(broken[e, t]),
            )
    return best


def exhausted(rep: Replayed, reference: Replayed, share: float = 0.95, most: int = 5) -> str:
    """The limits of ``rep`` whose headroom without the fleet (``reference``) the fleet used
    up, ``share`` or more of it, as ``"kind element"`` (each element once, at its period of
    greatest use), most used first, at most ``most``, joined by ``"; "``: the binding set
    when the next size fails without naming a limit."""
    found = {}
    for (kind, margin, _, _, names), ref in zip(_margins(rep), _margins(reference), strict=True):
        if margin.size == 0:
            continue
        used = ((ref[1] - margin) / np.maximum(ref[1], 1e-6)).max(axis=1)
        for e in np.flatnonzero(used >= share):
            key = f"{kind} {names[e]}"
            found[key] = max(found.get(key, -np.inf), float(used[e]))
    ranked = sorted(found, key=found.get, reverse=True)[:most]
    return "; ".join(ranked)


def limit_at(rep: Replayed, kind: str, element: str) -> Limit | None:
    """The limit ``kind`` of ``element`` in ``rep`` at its tightest period (smallest relative
    margin), or None when ``rep`` has no such element (e.g. a diagnosis naming a branch)."""
    base, _, phase = element.rpartition(".")
    # a diagnosis names a phase conductor "line.l115.1", the replay "line.l115 phase 1"
    spellings = [element] + ([f"{base} phase {phase}"] if phase.isdigit() and base else [])
    for k, margin, value, limit, names in _margins(rep):
        names = list(names)
        spelled = next((s for s in spellings if s in names), None)
        if k != kind or spelled is None:
            continue
        element = spelled
        e = names.index(element)
        t = int(np.argmin(margin[e]))
        return Limit(
            kind=kind,
            element=element,
            time=str(rep.times[t]),
            value=float(value[e, t]),
            limit=float(limit[e, t]),
            margin=float(margin[e, t]),
            violated=False,
        )
    return None


class BalancedAC:
    """pandapower on the balanced feeder, built once: :meth:`run` takes the net demand per
    bus and period (kW, kvar), as ``res_bus`` holds it, and returns a :class:`Replayed`."""

    def __init__(self, data, numba: bool | None = None):
        feeder = data.feeder
        self.numba = NUMBA if numba is None else numba
        self.net, self.buses = replay_network(feeder, data.v_source_pu)
        names = self.net.bus.name.to_numpy()
        self.order = pd.Index(names).get_indexer(self.buses)
        held = str(feeder.source_bus)
        self.inner = np.array([b != held for b in self.buses])
        per_bus = dict(data.bus_v_limits)
        lo, hi = float(data.vmin_pu), float(data.vmax_pu)
        self.vmin = np.array([per_bus.get(b, (lo, hi))[0] for b in self.buses], float)
        self.vmax = np.array([per_bus.get(b, (lo, hi))[1] for b in self.buses], float)
        lines = feeder.line
        rated = lines.max_i_a.notna() & lines.closed.astype(bool) if data.ampacity else []
        rated_names = list(lines.index[rated]) if data.ampacity else []
        self.line_pos = pd.Index(self.net.line.name).get_indexer(rated_names)
        keep = self.line_pos >= 0  # switches contracted away in the balanced network
        self.line_pos = self.line_pos[keep]
        self.i_names = [f"Line.{n}" for n in np.asarray(rated_names, dtype=object)[keep]]
        self.i_max = lines.max_i_a.reindex(np.asarray(rated_names)[keep]).to_numpy(float)

    def run(self, p_kw: pd.DataFrame, q_kvar: pd.DataFrame) -> Replayed:
        """AC power flow per period of ``p_kw``/``q_kvar`` (time x bus) [kW, kvar]. Raises
        :class:`ACDiverged` naming the first period without a solution."""
        net = self.net
        p = p_kw.reindex(columns=self.buses).to_numpy(float) / 1000.0
        q = q_kvar.reindex(columns=self.buses).to_numpy(float) / 1000.0
        vm = np.empty((len(self.buses), len(p_kw.index)))
        ia = np.empty((len(self.line_pos), len(p_kw.index)))
        # numba: a study replays hundreds of periods per process, which repays compiling
        # pandapower's kernels (~2.3 s once per process)
        try:
            for k, _ in ac_periods(net, p, q, p_kw.index, self.numba):
                vm[:, k] = net.res_bus.vm_pu.to_numpy()[self.order]
                ia[:, k] = 1000.0 * net.res_line.i_ka.to_numpy()[self.line_pos]
        except Exception as exc:  # pandapower's LoadflowNotConverged and friends
            if not hasattr(exc, "period"):
                raise
            raise ACDiverged(f"AC power flow did not converge at {exc.period}: {exc}") from None
        return Replayed(
            v_names=[b for b, keep in zip(self.buses, self.inner, strict=True) if keep],
            vm_pu=vm[self.inner],
            vmin_pu=self.vmin[self.inner],
            vmax_pu=self.vmax[self.inner],
            i_names=self.i_names,
            i_a=ia,
            i_max_a=self.i_max,
            times=pd.DatetimeIndex(p_kw.index),
        )

    def from_result(self, result, site_bus: str, host_kw: np.ndarray | None = None) -> Replayed:
        """Replay a grid result's net demand per bus; ``host_kw`` (per period) [kW] added at
        ``site_bus`` (the uncontrolled plan on the feeder without its fleet)."""
        p = result.res_bus.p_kw.unstack("bus")
        q = result.res_bus.q_kvar.unstack("bus")
        if host_kw is not None:
            p = p.copy()
            p[site_bus] = p[site_bus] + np.asarray(host_kw, float)
        return self.run(p, q)


class UnbalancedAC:
    """OpenDSS on the full multi-phase feeder, compiled once with every device of ``data``
    (DER units, then station slots) on its bus, phases and connection; :meth:`from_result`
    replays a grid result's DER and station powers with the feeder's loads at the case's
    profile, and returns a :class:`Replayed` over every phase node and rated conductor."""

    def __init__(self, data):
        from gridv2g.model.unbalanced_closing import OpenDSSPhaseReplay

        self.data = data
        pm = build_phase_model(data.feeder, data.s_base_kva)
        self.pm = pm
        self.der_names = list(data.der.units.index) if data.der is not None else []
        self.slot_names = list(data.stations.slots.index) if data.stations is not None else []
        buses, phases, conn = [], [], []
        for devices, table in ((data.der, "units"), (data.stations, "slots")):
            if devices is not None:
                b, ph, cn = placement(getattr(devices, table))
                buses, phases, conn = buses + b, phases + ph, conn + cn
        devices = pm.connect(buses, phases, conn) if buses else None
        self.replay = OpenDSSPhaseReplay(pm, devices, v_source_pu=data.v_source_pu)
        self.mult = load_multipliers(data)
        rep = self.replay
        inner = np.isin(rep.node_model, np.flatnonzero(pm.inner_nodes))
        self.inner = inner
        nm = np.maximum(rep.node_model, 0)
        lo = pm.node_values({b: v[0] for b, v in data.bus_v_limits.items()}, data.vmin_pu)
        hi = pm.node_values({b: v[1] for b, v in data.bus_v_limits.items()}, data.vmax_pu)
        self.vmin, self.vmax = lo[nm][inner], hi[nm][inner]
        self.v_names = list(np.asarray(rep.node_names, dtype=object)[inner])
        lim = rep.limited
        self.i_names = [
            f"{e} phase {p}"
            for e, p in zip(rep.limited_elements, pm.branch_phase[lim], strict=True)
        ]
        self.i_max = pm.i_max_pu[lim] * pm.i_base_a[lim]
        if not data.ampacity:
            self.i_names, self.i_max = [], self.i_max[:0]

    def run(self, p_dev_kw: np.ndarray, q_dev_kvar: np.ndarray) -> Replayed:
        """Replay devices at ``p_dev_kw``/``q_dev_kvar`` (device x period; consumption
        positive, DER as negative consumption) [kW, kvar]."""
        from gridv2g.model.unbalanced_closing import ClosingError

        T = self.data.horizon.periods
        try:
            rep = self.replay.run(self.mult, p_dev_kw, q_dev_kvar, periods=T)
        except ClosingError as exc:  # "OpenDSS did not converge at period k"
            raise ACDiverged(str(exc)) from None
        i_a = rep.i_branch_a if len(self.i_names) else rep.i_branch_a[:0]
        return Replayed(
            v_names=self.v_names,
            vm_pu=rep.vm_node[self.inner],
            vmin_pu=self.vmin,
            vmax_pu=self.vmax,
            i_names=self.i_names,
            i_a=i_a,
            i_max_a=self.i_max,
            times=self.data.horizon.index,
        )

    def from_result(self, result, host: str, host_kw: np.ndarray | None = None) -> Replayed:
        """Replay a grid result's DER and station powers; with ``host_kw`` (per period) [kW]
        the slot ``host`` draws it at unity power factor instead (the uncontrolled plan)."""
        times = self.data.horizon.index
        der_p = -per_element(result.res_der, "der", self.der_names, "p_kw", times)
        der_q = -per_element(result.res_der, "der", self.der_names, "q_kvar", times)
        st_p = per_element(result.res_station, "station", self.slot_names, "p_kw", times)
        st_q = per_element(result.res_station, "station", self.slot_names, "q_kvar", times)
        if host_kw is not None:
            k = self.slot_names.index(host)
            st_p, st_q = st_p.copy(), st_q.copy()
            st_p[k], st_q[k] = np.asarray(host_kw, float), 0.0
        return self.run(np.vstack([der_p, st_p]), np.vstack([der_q, st_q]))
