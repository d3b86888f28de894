r"""The per-phase mathematical model of an unbalanced feeder: index maps and arrays, built once.

What :func:`gridv2g.model.network.build_network` is for the balanced equivalent, this module is
for the full multi-phase feeder (compare PowerModelsDistribution's ``eng2math``): one function
turns the engineering tables of a :class:`~gridv2g.feeders.Feeder` into what an unbalanced
formulation (:mod:`gridv2g.model.unbalanced`) needs, vectorized with pandas/numpy (no per-element
Python work beyond the handful of switches and the breadth-first depth of the buses):

- **phase nodes** ``(bus, phase)``, phase 1/2/3, with a line-to-neutral voltage base
  ``vn_kv / sqrt(3)`` (the bus's line-to-line ``vn_kv``); node 0.. of the source bus first;
- **phase branches**: one per conductor of every line and per phase of every transformer,
  oriented away from the source (``f`` parent, ``t`` child), with the series impedance of the
  element as a block-diagonal sparse complex matrix ``Z`` [pu] (3x3, 2x2 or 1x1 blocks; mutual
  coupling kept), the LinDist3Flow drop matrices ``MP``, ``MQ`` (see below), an off-nominal
  squared ratio ``tap2`` (as the sparse branch x branch map ``Tv`` of from-side squared
  voltages, see delta secondaries below) and an ampacity ``i_max_pu`` (inf where the line has
  none);
- a node-branch incidence ``Cf``, ``Ct`` (node x phase branch, sparse);
- **load entries**: every load, capacitor and line-charging shunt as entries
  ``s = s0 (c0 + c1 u)``, ``u = U v`` (``v`` squared node voltages), spread onto the phase nodes
  by ``Wp``, ``Wq`` (see :meth:`PhaseModel.injections`).

Per-unit system: power on ``s_base_kva`` *per phase* (a phase node's power and a three-phase
total are on the same base), voltage on each node's line-to-neutral base, so
``z_base = (vn_kv / sqrt 3)^2 * 1000 / s_base_kva`` ohm and ``i_base = s_base_kva / (vn_kv /
sqrt 3)`` A. Powers inside the model are consumption-positive.

Modelling choices (why):

- **Switches** (``is_switch`` lines, closed) are contracted: their buses form one math bus named
  by the first of them in the bus table (``bus_map``). OpenDSS gives them 1 mm of near-zero
  impedance; the voltage difference across them is ~1e-9 pu.
- **Regulators** (``is_regulator``) are per-phase ideal ratios ``v_t = tap^2 v_f`` with
  ``tap = (to_kv to_tap) / (from_kv from_tap)`` referred to the bus bases; their 0.01 % leakage
  impedance is dropped (it would add a ~1e-6 pu drop; the closing loop absorbs it).
- **Other transformers** (IEEE 123's delta-delta ``xfm1``, 150 kVA, 4.16/0.48 kV) are per-phase
  branches with the same ratio and a diagonal leakage impedance ``(%r1 + %r2 + j %x)`` on the
  unit's rating, no phase shift (delta-delta and wye-wye have none). On IEEE 123 its secondary
  bus 610 carries no load, so nothing flows and only the ratio matters; the floating delta's
  line-to-neutral voltages (set by OpenDSS's ``ppm_antifloat``) differ from the primary's by the
  zero-sequence part: a floating delta secondary's line-to-neutral voltages are referred to the
  centroid of its line-to-line triangle (OpenDSS's ``ppm_antifloat`` shunts are equal), i.e.
  ``V_t = tau (V_f - V_0)``. In squared magnitudes, linearized at equal magnitudes and nominal
  angles, ``|V_a - V_0|^2 ~ (2/3) v_a + (1/6) (v_b + v_c)``: every 3-phase transformer with a
  delta secondary maps ``v_t = tau^2 [[2/3, 1/6, 1/6], ...] v_f`` (``Tv``). On IEEE 123 this
  takes plain LinDist3Flow's largest error at 610 from 1.6e-2 to 7.2e-3 pu (the rest of the
  feeder: 4.5e-3).
- **Line charging** (``c_nf_per_km``): half of each line's phase susceptance matrix ``B`` at
  each end, as a consumption ``s_phi = -j sum_psi B_phi,psi gamma_phi,psi v_phi`` (voltages
  assumed balanced in angle, ``V_phi conj(V_psi) ~ v_phi gamma_phi,psi``), linear in ``v``.
- **Loads**: wye loads split their total power equally over their phases; delta loads put it on
  the delta branches (a 2-node delta is one branch, a 3-node delta three with a third each) and
  each branch ``(i, j)`` onto its phase nodes with the standard LinDist3Flow rotation
  ``s_i = s V_i / (V_i - V_j)``, ``s_j = -s V_j / (V_i - V_j)`` at nominal angles (for a
  positive-sequence pair this is ``s e^{-j30}/sqrt3`` and ``s e^{+j30}/sqrt3``; Gan & Low 2014,
  Arnold et al. 2016, PMD's delta-load transformation). ZIP models in OpenDSS's convention
  (model 1 pq, 2 z, 5 i) on the element's rated voltage: constant Z is ``s0 rho u`` (exact in
  the squared voltage, ``u = v_i`` for wye and ``(v_i + v_j)/2 ~ |V_ij|^2 / 3`` for a delta
  branch), constant current ``s0 sqrt(rho u) ~ s0 (1 + rho u) / 2`` (tangent at 1 pu),
  ``rho = (base / rated)^2``. The closing loop corrects what these linearizations miss.
- **Capacitors** are constant-impedance entries with ``s0 = -j q_kvar`` (wye or delta).

References: H. Arnold, M. Sankur et al., "Optimal dispatch of reactive power for voltage
regulation and balancing in unbalanced distribution systems," IEEE PES GM 2016 (LinDist3Flow);
L. Gan and S. H. Low, "Convex relaxations and linear approximation for optimal power flow in
multiphase radial networks," PSCC 2014; PowerModelsDistribution.jl (``eng2math``, ``LPUBFDiag``).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from gridv2g.errors import FeederError

#: nominal phase angles of phases 1, 2, 3 [rad] (positive sequence)
_THETA = {1: 0.0, 2: -2.0 * np.pi / 3.0, 3: 2.0 * np.pi / 3.0}
_ZIP = {"pq": (1.0, 0.0), "z": (0.0, 1.0), "i": (0.5, 0.5)}  # (c0, c1 / rho)


def _angle(phase) -> np.ndarray:
    return np.vectorize(_THETA.__getitem__, otypes=[float])(np.asarray(phase, dtype=int))


def _explode_nodes(df: pd.DataFrame, column: str, key: str = "name") -> pd.DataFrame:
    """One row per (element, conductor k, phase) from a node-string column such as "1.3"."""
    out = df[[column]].copy()
    out[key] = df.index
    out["phase"] = out[column].str.split(".")
    out = out.explode("phase", ignore_index=True)
    out["phase"] = out["phase"].astype(int)
    out["k"] = out.groupby(key).cumcount()
    return out[[key, "k", "phase"]]


@dataclass
class DeviceMap:
    """How devices' total P and Q [pu] land on phase nodes (consumption-positive):
    ``p_node = pp @ p + pq @ q``, ``q_node = qp @ p + qq @ q`` (node x device, sparse).
    Wye devices split equally over their phases (``pq = qp = 0``); delta devices are rotated
    onto their phases as delta loads are (module docstring). ``buses``, ``nodes``, ``conn``:
    what each device connects to (for OpenDSS)."""

    pp: sp.csr_matrix
    pq: sp.csr_matrix
    qp: sp.csr_matrix
    qq: sp.csr_matrix
    buses: list[str]
    nodes: list[str]
    conn: list[str]

    def p(self, p_dev, q_dev):
        """Phase-node active power (node x T) of device powers (device x T)."""
        return self.pp @ p_dev + self.pq @ q_dev if self.pq.nnz else self.pp @ p_dev

    def q(self, p_dev, q_dev):
        """Phase-node reactive power (node x T) of device powers (device x T)."""
        return self.qp @ p_dev + self.qq @ q_dev if self.qp.nnz else self.qq @ q_dev


@dataclass
class PhaseModel:
    """Per-phase per-unit arrays of a radial feeder (module docstring).

    Nodes (``nn``): ``node_bus`` (math bus name), ``node_phase`` (1..3), ``vbase_kv`` (line-to-
    neutral base [kV]), ``source_nodes`` (indices of the source bus's nodes), ``bus_map``
    (feeder bus -> math bus). Phase branches (``nb``): ``branch_element`` ("line.L1",
    "transformer.reg1a"), ``branch_phase``, ``f``, ``t`` (node indices), ``tap2`` (squared
    no-load ratio, 1 on lines), ``Tv`` (sparse branch x branch: ``v_t = Tv Cf^T v`` at no load;
    ``diag(tap2)`` but for delta secondaries), ``Z`` (sparse complex, block diagonal, [pu]),
    ``MP``, ``MQ`` (LinDist3Flow drop matrices), ``i_max_pu`` (inf if unrated), ``i_base_a``.
    Incidence ``Cf``, ``Ct`` (node x branch). Load entries (``ne``): ``entry_owner`` ("load.s1a",
    "capacitor.c83", "shunt"), ``entry_load`` (row in ``feeder.load`` or -1: not scaled by a
    load profile), ``U`` (entry x node), ``c0``, ``c1`` (per entry), ``Wp``, ``Wq`` (node x
    entry: phase-node power per unit of entry function), ``source_vm_pu``.
    """

    name: str
    s_base_kva: float
    feeder: object
    bus_map: dict[str, str]
    node_bus: np.ndarray
    node_phase: np.ndarray
    vbase_kv: np.ndarray
    source_nodes: np.ndarray
    branch_element: np.ndarray
    branch_phase: np.ndarray
    f: np.ndarray
    t: np.ndarray
    tap2: np.ndarray
    Tv: sp.csr_matrix
    Z: sp.csr_matrix
    MP: sp.csr_matrix
    MQ: sp.csr_matrix
    i_max_pu: np.ndarray
    i_base_a: np.ndarray
    Cf: sp.csr_matrix
    Ct: sp.csr_matrix
    entry_owner: np.ndarray
    entry_load: np.ndarray
    U: sp.csr_matrix
    c0: np.ndarray
    c1: np.ndarray
    Wp: sp.csr_matrix
    Wq: sp.csr_matrix
    source_vm_pu: float

    # ------------------------------------------------------------------ sizes, names
    @property
    def nn(self) -> int:
        return len(self.node_bus)

    @property
    def nb(self) -> int:
        return len(self.f)

    @property
    def ne(self) -> int:
        return len(self.c0)

    @property
    def n_loads(self) -> int:
        return len(self.feeder.load)

    @property
    def node_names(self) -> list[str]:
        """``"bus.phase"`` per node (OpenDSS's node naming, lower case)."""
        return [f"{b}.{p}".lower() for b, p in zip(self.node_bus, self.node_phase, strict=True)]

    @property
    def inner_nodes(self) -> np.ndarray:
        """Boolean mask of nodes that are not the source bus's (voltage limits apply)."""
        mask = np.ones(self.nn, dtype=bool)
        mask[self.source_nodes] = False
        return mask

    def node_index(self, buses, phases) -> np.ndarray:
        """Node indices of feeder ``(bus, phase)`` pairs (contracted buses mapped); raises on
        an unknown pair."""
        key = pd.MultiIndex.from_arrays([self.node_bus, self.node_phase])
        math_bus = [self.bus_map[str(b)] for b in buses]
        idx = key.get_indexer(pd.MultiIndex.from_arrays([math_bus, np.asarray(phases, int)]))
        if (idx < 0).any():
            bad = [(b, p) for b, p, i in zip(buses, phases, idx, strict=True) if i < 0]
            raise FeederError(f"no phase node {bad[:5]} in feeder '{self.name}'")
        return idx

    def node_values(self, per_bus, default: float) -> np.ndarray:
        """Per-node array (length ``nn``) from per-bus values (dict or Series keyed by feeder
        bus, e.g. voltage limits ``{bus: vmin}``); contracted buses map to their math bus,
        nodes of buses not given get ``default``."""
        out = np.full(self.nn, float(default))
        for bus, value in dict(per_bus).items():
            out[self.node_bus == self.bus_map[str(bus)]] = float(value)
        return out

    # ------------------------------------------------------------------ devices
    def connect(self, buses, phases=None, conn=None) -> DeviceMap:
        """Map devices on feeder buses onto phase nodes.

        ``buses``: one bus per device; ``phases``: node strings (``"1.2.3"``, ``"2"``, ``"3.1"``;
        default: all the bus's nodes); ``conn``: ``"wye"`` (default) or ``"delta"`` per device.
        A wye device spreads its total P, Q equally over its phases; a delta device on 2 nodes
        is one delta branch, on 3 nodes three branches with a third each, rotated onto the
        phases (module docstring). Returns a :class:`DeviceMap` (node x device matrices).
        """
        buses = [str(b) for b in buses]
        n = len(buses)
        if phases is None or isinstance(phases, str):
            phases = [phases] * n
        phases = [
            self.feeder.bus.at[b, "nodes"] if p is None else str(p)
            for b, p in zip(buses, phases, strict=True)
        ]
        conn = ["wye"] * n if conn is None else [conn] * n if isinstance(conn, str) else list(conn)
        dev = pd.DataFrame(
            {"bus": buses, "nodes": phases, "conn": conn}, index=pd.RangeIndex(n, name="name")
        )
        branches = _device_branches(dev)
        node_i = self.node_index(branches.bus, branches.ph_i)
        has_j = branches.ph_j.to_numpy() > 0
        node_j = np.full(len(branches), -1)
        node_j[has_j] = self.node_index(branches.bus[has_j], branches.ph_j[has_j])
        ci, cj = _delta_factors(branches.ph_i.to_numpy(), branches.ph_j.to_numpy())
        share = branches.share.to_numpy()
        dev_idx = branches.device.to_numpy()
        rows = np.concatenate([node_i, node_j[has_j]])
        cols = np.concatenate([dev_idx, dev_idx[has_j]])
        c = np.concatenate([ci, cj[has_j]]) * np.concatenate([share, share[has_j]])
        shape = (self.nn, n)

        def m(values):
            return sp.csr_matrix((values, (rows, cols)), shape=shape)

        # s_node = c s_dev with s = p + jq: p_node = Re(c) p - Im(c) q, q_node = Im(c) p + Re(c) q
        return DeviceMap(
            pp=m(c.real),
            pq=m(-c.imag),
            qp=m(c.imag),
            qq=m(c.real),
            buses=buses,
            nodes=phases,
            conn=conn,
        )

    # ------------------------------------------------------------------ numeric model
    def load_function(self, v: np.ndarray, load_mult=None) -> np.ndarray:
        """Entry functions ``(c0 + c1 U v) * m`` (entry x T) at squared voltages ``v``
        (node x T); ``load_mult`` (load x T or scalar) scales the feeder's loads (entries of
        capacitors and shunts keep 1)."""
        return (self.c0[:, None] + self.c1[:, None] * (self.U @ v)) * self.entry_mult(
            load_mult, v.shape[1]
        )

    def entry_mult(self, load_mult, periods: int) -> np.ndarray:
        """(entry x T) multipliers: the load's profile, 1 for capacitors and line shunts."""
        out = np.ones((self.ne, periods))
        if load_mult is None:
            return out
        m = np.broadcast_to(np.asarray(load_mult, dtype=float), (self.n_loads, periods))
        own = self.entry_load >= 0
        out[own] = m[self.entry_load[own]]
        return out

    def entry_load_matrix(self) -> sp.csr_matrix:
        """(entry x load) selector: row e is 1 at the load owning entry e (0 rows for
        capacitors and line shunts); ``entry_mult = S @ load_mult + (capacitor/shunt rows)``."""
        own = np.flatnonzero(self.entry_load >= 0)
        return sp.csr_matrix(
            (np.ones(len(own)), (own, self.entry_load[own])), shape=(self.ne, self.n_loads)
        )

    def injections(self, v: np.ndarray, load_mult=None) -> tuple[np.ndarray, np.ndarray]:
        """Consumption ``(p, q)`` [pu] per node and period of the feeder's loads, capacitors and
        line charging at squared voltages ``v`` (node x T)."""
        g = self.load_function(v, load_mult)
        return self.Wp @ g, self.Wq @ g

    def _factors(self):
        if not hasattr(self, "_lu"):
            inner = self.inner_nodes
            A = (self.Ct - self.Cf).tocsc()[inner, :]  # flow balance, non-source nodes
            G = (self.Ct.T - self.Tv @ self.Cf.T).tocsc()  # branch voltage drop
            self._lu = (spla.splu(A.tocsc()), spla.splu(G[:, inner].tocsc()), G[:, ~inner])
        return self._lu

    def lindist(self, p: np.ndarray, q: np.ndarray, v_source_pu: float | None = None):
        """Plain LinDist3Flow, numerically: phase-branch flows ``P, Q`` and squared voltages
        ``v`` (node x T) for given nodal consumption ``p, q`` (node x T, pu), source fixed.

        Flows: ``(Ct - Cf) P = p`` at every non-source node (the radial tree fixes them);
        voltages: ``v_t - tap^2 v_f = -(MP P + MQ Q)`` per phase branch.
        """
        lu_a, lu_g, g_src = self._factors()
        inner = self.inner_nodes
        vs = self.source_vm_pu if v_source_pu is None else float(v_source_pu)
        P = lu_a.solve(np.ascontiguousarray(p[inner], dtype=float))
        Q = lu_a.solve(np.ascontiguousarray(q[inner], dtype=float))
        v = np.empty_like(p, dtype=float)
        v[~inner] = vs**2
        rhs = -(self.MP @ P + self.MQ @ Q) - g_src @ v[~inner]
        v[inner] = lu_g.solve(np.ascontiguousarray(rhs))
        return P, Q, v

    def power_flow(self, p_ext=None, q_ext=None, load_mult=None, v_source_pu=None, iters=50):
        """LinDist3Flow with the voltage-dependent loads solved to a fixed point (squared
        voltages enter the loads linearly): returns ``P, Q, v``. ``p_ext``, ``q_ext``: extra
        consumption per node and period (node x T, pu)."""
        T = 1 if p_ext is None else p_ext.shape[1]
        if load_mult is not None and np.ndim(load_mult) == 2:
            T = np.shape(load_mult)[1]
        p_ext = np.zeros((self.nn, T)) if p_ext is None else p_ext
        q_ext = np.zeros((self.nn, T)) if q_ext is None else q_ext
        v = np.ones((self.nn, T))
        for _ in range(iters):
            p, q = self.injections(v, load_mult)
            P, Q, v_new = self.lindist(p + p_ext, q + q_ext, v_source_pu)
            done = np.max(np.abs(v_new - v)) < 1e-13
            v = v_new
            if done:
                break
        return P, Q, v


def _delta_factors(ph_i: np.ndarray, ph_j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Complex shares ``s_i / s``, ``s_j / s`` of a branch's power on its phase nodes: 1 and 0
    for a wye branch (``ph_j == 0``), ``V_i / V_ij`` and ``-V_j / V_ij`` at nominal angles for
    a delta branch."""
    ci = np.ones(len(ph_i), dtype=complex)
    cj = np.zeros(len(ph_i), dtype=complex)
    d = ph_j > 0
    vi = np.exp(1j * _angle(ph_i[d]))
    vj = np.exp(1j * _angle(ph_j[d]))
    ci[d] = vi / (vi - vj)
    cj[d] = -vj / (vi - vj)
    return ci, cj


def _device_branches(dev: pd.DataFrame) -> pd.DataFrame:
    """Wye phases / delta branches of devices: one row per branch with ``device`` (row
    position), ``bus``, ``ph_i``, ``ph_j`` (0 for wye), ``share`` of the device's power and
    ``n_nodes``."""
    dev = dev.reset_index(drop=True)
    nodes = _explode_nodes(dev, "nodes", key="device")
    n = nodes.groupby("device").phase.transform("size").to_numpy()
    nodes["n"] = n
    conn = dev.conn.to_numpy()[nodes.device.to_numpy()]
    bad = sorted(set(conn) - {"wye", "delta"})
    if bad:
        raise FeederError(f"unknown connection(s) {bad}: wye or delta")
    delta = (conn == "delta") & (n >= 2)
    # a 2-node delta is one branch (first node, second node): keep the first row only
    nxt = nodes.groupby("device").phase.shift(-1)
    first = nodes.groupby("device").phase.transform("first")
    ph_j = np.where(delta, np.where(nxt.isna(), first, nxt.fillna(0)), 0).astype(int)
    keep = ~(delta & (n == 2) & (nodes.k.to_numpy() == 1))
    share = np.where(delta & (n == 2), 1.0, 1.0 / n)
    out = pd.DataFrame(
        {
            "device": nodes.device.to_numpy(),
            "bus": dev.bus.to_numpy()[nodes.device.to_numpy()],
            "ph_i": nodes.phase.to_numpy(),
            "ph_j": ph_j,
            "share": share,
            "n_nodes": n,
        }
    )
    return out[keep].reset_index(drop=True)


def build_phase_model(feeder, s_base_kva: float = 1000.0) -> PhaseModel:
    """Build the :class:`PhaseModel` of ``feeder`` (module docstring); ``s_base_kva`` is the
    per-phase power base."""
    sb = float(s_base_kva)
    bus_tab = feeder.bus
    line = feeder.line[feeder.line["closed"]]
    trafo = feeder.transformer
    source_bus = feeder.source_bus

    # --- contraction of closed switches: union of the buses each switch joins
    sw = line[line["is_switch"]]
    graph = nx.Graph()
    graph.add_nodes_from(bus_tab.index)
    graph.add_edges_from(zip(sw.from_bus, sw.to_bus, strict=True))
    order = {b: k for k, b in enumerate(bus_tab.index)}
    bus_map = {}
    for comp in nx.connected_components(graph):
        rep = source_bus if source_bus in comp else min(comp, key=order.__getitem__)
        bus_map.update(dict.fromkeys(comp, rep))
    line = line[~line["is_switch"]]

    # --- depth of every math bus from the source (orientation of the branches)
    tree = nx.Graph()
    tree.add_edges_from(
        zip(
            pd.concat([line.from_bus, trafo.from_bus]).map(bus_map),
            pd.concat([line.to_bus, trafo.to_bus]).map(bus_map),
            strict=True,
        )
    )
    tree.add_node(source_bus)
    depth = pd.Series(nx.single_source_shortest_path_length(tree, source_bus))

    # --- phase nodes of the reachable math buses, source first
    nodes = _explode_nodes(bus_tab, "nodes")
    nodes["bus"] = nodes["name"].map(bus_map)
    nodes = nodes[nodes.bus.isin(depth.index)].drop_duplicates(["bus", "phase"])
    nodes["depth"] = nodes.bus.map(depth)
    nodes["pos"] = nodes.bus.map(order)
    nodes = nodes.sort_values(["depth", "pos", "phase"], kind="stable").reset_index(drop=True)
    node_key = pd.MultiIndex.from_arrays([nodes.bus, nodes.phase])
    vbase = bus_tab.vn_kv.reindex(nodes.bus).to_numpy() / np.sqrt(3.0)
    zbase_node = vbase**2 * 1000.0 / sb  # ohm

    def node_of(bus, phase):
        idx = node_key.get_indexer(pd.MultiIndex.from_arrays([bus, phase]))
        if (idx < 0).any():
            missing = list(zip(bus[idx < 0], phase[idx < 0], strict=True))
            raise FeederError(f"phase node missing for {missing}")
        return idx

    # --- line phase branches
    lp = _explode_nodes(line, "from_nodes")
    lp = lp.merge(
        line[["from_bus", "to_bus", "linecode", "length_km", "max_i_a"]],
        left_on="name",
        right_index=True,
    )
    fb, tb = lp.from_bus.map(bus_map), lp.to_bus.map(bus_map)
    flip = (fb.map(depth) > tb.map(depth)).to_numpy()
    lp["f_bus"] = np.where(flip, tb, fb)
    lp["t_bus"] = np.where(flip, fb, tb)
    lp["element"] = "line." + lp["name"].astype(str)
    # --- transformer phase branches
    tp = _explode_nodes(trafo, "from_nodes")
    tp = tp.merge(trafo, left_on="name", right_index=True).reset_index(drop=True)
    tfb, ttb = tp.from_bus.map(bus_map), tp.to_bus.map(bus_map)
    if (tfb.map(depth) > ttb.map(depth)).any():
        raise FeederError("a transformer fed from its to-side is not supported")
    tp["f_bus"], tp["t_bus"] = tfb, ttb
    tp["element"] = "transformer." + tp["name"].astype(str)

    n_l, n_t = len(lp), len(tp)
    f = node_of(np.concatenate([lp.f_bus, tp.f_bus]), np.concatenate([lp.phase, tp.phase]))
    t = node_of(np.concatenate([lp.t_bus, tp.t_bus]), np.concatenate([lp.phase, tp.phase]))
    nb, nn = n_l + n_t, len(nodes)
    phase_b = np.concatenate([lp.phase, tp.phase]).astype(int)

    # line impedance blocks: linecode matrices (long format) x length, on the to-node base
    pb_of = pd.Series(np.arange(n_l), index=pd.MultiIndex.from_arrays([lp["name"], lp.k]))
    lm = feeder.linecode_matrix.merge(
        lp.loc[lp.k == 0, ["name", "linecode", "length_km"]], on="linecode"
    )
    rows = pb_of.reindex(pd.MultiIndex.from_arrays([lm["name"], lm["row"]])).to_numpy()
    cols = pb_of.reindex(pd.MultiIndex.from_arrays([lm["name"], lm["col"]])).to_numpy()
    zb = zbase_node[t[rows]]
    z_vals = (lm.r_ohm_per_km + 1j * lm.x_ohm_per_km).to_numpy() * lm.length_km.to_numpy() / zb
    # line charging: B [S] = 2 pi f C, per unit on the node base (B_pu = B * z_base)
    b_vals = (
        2.0
        * np.pi
        * feeder.frequency_hz
        * 1e-9
        * lm.c_nf_per_km.to_numpy()
        * lm.length_km.to_numpy()
    )

    # transformer impedance: diagonal leakage on the unit's rating, referred to the to-side;
    # regulators ideal (module docstring)
    n_ph = tp.groupby("name").phase.transform("size").to_numpy()
    to_ll = np.where(n_ph == 1, tp.to_kv * np.sqrt(3.0), tp.to_kv)  # 1-phase kv is LN
    z_pct = (tp.from_r_percent + tp.to_r_percent + 1j * tp.x_percent).to_numpy()
    z_ohm = z_pct / 100.0 * to_ll**2 * 1000.0 / (tp.sn_kva.to_numpy() * np.where(n_ph == 1, 3, 1))
    z_t = np.where(tp.is_regulator.to_numpy(bool), 0.0, z_ohm / zbase_node[t[n_l:]])
    ratio = (tp.to_kv * tp.to_tap / (tp.from_kv * tp.from_tap)).to_numpy()
    ratio = ratio * bus_tab.vn_kv.reindex(tp.from_bus).to_numpy()
    ratio = ratio / bus_tab.vn_kv.reindex(tp.to_bus).to_numpy()
    tap2 = np.concatenate([np.ones(n_l), ratio**2])
    # from-side voltage map: diag(tap2), but a 3-phase delta secondary drops the zero sequence
    tv_r, tv_c, tv_v = [np.arange(nb)], [np.arange(nb)], [tap2.copy()]
    n_ph_t = tp.groupby("name").phase.transform("size").to_numpy()
    delta_sec = (tp.to_conn.to_numpy() == "delta") & (n_ph_t == 3)
    if delta_sec.any():
        tv_v[0][n_l + np.flatnonzero(delta_sec)] *= 2.0 / 3.0
        pos = pd.Series(n_l + np.arange(n_t), index=pd.MultiIndex.from_arrays([tp["name"], tp.k]))
        sec = tp[delta_sec]
        for shift in (1, 2):
            other = pos.reindex(
                pd.MultiIndex.from_arrays([sec["name"], (sec.k.to_numpy() + shift) % 3])
            ).to_numpy()
            tv_r.append(pos.reindex(pd.MultiIndex.from_arrays([sec["name"], sec.k])).to_numpy())
            tv_c.append(other)
            tv_v.append(tap2[other] / 6.0)
    Tv = sp.csr_matrix(
        (np.concatenate(tv_v), (np.concatenate(tv_r), np.concatenate(tv_c))), shape=(nb, nb)
    )

    rows_all = np.concatenate([rows, np.arange(n_l, nb)])
    cols_all = np.concatenate([cols, np.arange(n_l, nb)])
    z_all = np.concatenate([z_vals, z_t])
    Z = sp.csr_matrix((z_all, (rows_all, cols_all)), shape=(nb, nb))
    # LinDist3Flow drops: v_t = tap^2 v_f - 2 Re[sum_psi conj(gamma_phi,psi) z_phi,psi
    # conj(S_psi)], gamma_phi,psi = e^{j(theta_phi - theta_psi)}; conj(S) = P - jQ gives
    # MP = 2 Re(conj(gamma) z), MQ = 2 Im(conj(gamma) z)
    gam = np.exp(1j * (_angle(phase_b[rows_all]) - _angle(phase_b[cols_all])))
    w = np.conj(gam) * z_all
    MP = sp.csr_matrix((2.0 * w.real, (rows_all, cols_all)), shape=(nb, nb))
    MQ = sp.csr_matrix((2.0 * w.imag, (rows_all, cols_all)), shape=(nb, nb))

    ar = np.arange(nb)
    Cf = sp.csr_matrix((np.ones(nb), (f, ar)), shape=(nn, nb))
    Ct = sp.csr_matrix((np.ones(nb), (t, ar)), shape=(nn, nb))
    i_base = sb / vbase[f]
    i_max = np.concatenate([lp.max_i_a.to_numpy(float), np.full(n_t, np.nan)]) / i_base
    i_max = np.where(np.isfinite(i_max), i_max, np.inf)

    # --- load entries: loads, capacitors, line charging
    ld = feeder.load
    # an exponential load (P ~ |V|^cvr_p, Q ~ |V|^cvr_q) is two devices, its P and its Q,
    # each with its own exponent; every other load is one device with P and Q together
    lmodel = ld.model.to_numpy(str)
    is_exp = lmodel == "exp"
    cvr_p = ld["cvr_p"].to_numpy(float) if "cvr_p" in ld else np.zeros(len(ld))
    cvr_q = ld["cvr_q"].to_numpy(float) if "cvr_q" in ld else np.zeros(len(ld))
    load_of = np.concatenate([np.arange(len(ld)), np.flatnonzero(is_exp)])
    part_s = np.concatenate(
        [
            np.where(is_exp, ld.p_kw, ld.p_kw + 1j * ld.q_kvar),
            1j * ld.q_kvar.to_numpy(float)[is_exp],
        ]
    )
    exponent = np.concatenate([cvr_p, cvr_q[is_exp]])
    part_model = np.concatenate([lmodel, lmodel[is_exp]])
    n_ld = len(load_of)
    ld_dev = pd.DataFrame(
        {
            "bus": ld.bus.to_numpy()[load_of],
            "nodes": ld.nodes.to_numpy()[load_of],
            "conn": ld.conn.to_numpy()[load_of],
        }
    )
    cap = feeder.capacitor
    cap_dev = pd.DataFrame(
        {"bus": cap.bus.to_numpy(), "nodes": cap.nodes.to_numpy(), "conn": cap.conn.to_numpy()}
    )
    both = pd.concat([ld_dev, cap_dev], ignore_index=True)
    br = _device_branches(both)
    d = br.device.to_numpy()
    is_load = d < n_ld
    s_tot = np.concatenate([part_s, -1j * cap.q_kvar.to_numpy()]) / sb
    vn = np.concatenate([ld.vn_kv.to_numpy(float)[load_of], cap.vn_kv.to_numpy(float)])[d]
    model = np.concatenate([part_model, np.full(len(cap), "z")])[d]
    expo = np.concatenate([exponent, np.zeros(len(cap))])[d]
    delta = br.ph_j.to_numpy() > 0
    # rated line-to-neutral voltage of the branch's u: 1-phase wye kv is LN, else LL / sqrt 3
    rated_ln = np.where((~delta) & (br.n_nodes.to_numpy() == 1), vn, vn / np.sqrt(3.0))
    ni = node_of(br.bus.map(bus_map).to_numpy(), br.ph_i.to_numpy())
    nj = np.full(len(br), -1)
    nj[delta] = node_of(br.bus.map(bus_map).to_numpy()[delta], br.ph_j.to_numpy()[delta])
    rho = (vbase[ni] / rated_ln) ** 2
    # tangent at the rated voltage of (|V| / V_rated)^n = (rho v)^(n/2): c0 + c1 rho v
    zip_c = np.array([_ZIP.get(m, (np.nan, np.nan)) for m in model]).reshape(-1, 2)
    exp_rows = model == "exp"
    zip_c[exp_rows, 0] = 1.0 - expo[exp_rows] / 2.0
    zip_c[exp_rows, 1] = expo[exp_rows] / 2.0
    if np.isnan(zip_c).any():
        bad = sorted(set(model[np.isnan(zip_c[:, 0])]))
        raise FeederError(f"load model(s) {bad} have no per-phase representation")
    c0 = zip_c[:, 0]
    c1 = zip_c[:, 1] * rho
    s0 = s_tot[d] * br.share.to_numpy()
    ci, cj = _delta_factors(br.ph_i.to_numpy(), br.ph_j.to_numpy())
    ne_dev = len(br)
    u_rows = np.concatenate([np.arange(ne_dev), np.flatnonzero(delta)])
    u_cols = np.concatenate([ni, nj[delta]])
    u_vals = np.concatenate([np.where(delta, 0.5, 1.0), np.full(delta.sum(), 0.5)])
    w_rows = np.concatenate([ni, nj[delta]])
    w_cols = u_rows
    w_vals = np.concatenate([ci * s0, (cj * s0)[delta]])
    names = np.concatenate(
        ["load." + ld.index.to_numpy(str)[load_of], "capacitor." + cap.index.to_numpy(str)]
    )
    owner = names[d].astype(object)
    entry_load = np.where(is_load, load_of[np.minimum(d, n_ld - 1)] if n_ld else -1, -1)

    # line charging per phase node: s_phi = -j sum_psi (B_phi,psi / 2) gamma_phi,psi v_phi at
    # both ends of the line
    gam_l = np.exp(1j * (_angle(phase_b[rows]) - _angle(phase_b[cols])))
    s_half = -1j * 0.5 * b_vals * gam_l  # consumption at v = 1 [S on ohm base -> pu below]
    sh = pd.DataFrame({"fn": f[rows], "tn": t[rows], "s": s_half})
    sh_f = sh.groupby("fn").s.sum()
    sh_t = sh.groupby("tn").s.sum()
    sh_node = sh_f.add(sh_t, fill_value=0.0)
    sh_node = sh_node[np.abs(sh_node.to_numpy()) > 0]
    sh_idx = sh_node.index.to_numpy(int)
    sh_s = sh_node.to_numpy() * zbase_node[sh_idx]  # Y [S] * z_base = Y [pu]
    n_sh = len(sh_idx)

    ne = ne_dev + n_sh
    U = sp.csr_matrix(
        (
            np.concatenate([u_vals, np.ones(n_sh)]),
            (np.concatenate([u_rows, ne_dev + np.arange(n_sh)]), np.concatenate([u_cols, sh_idx])),
        ),
        shape=(ne, nn),
    )
    W = sp.csr_matrix(
        (
            np.concatenate([w_vals, sh_s]),
            (np.concatenate([w_rows, sh_idx]), np.concatenate([w_cols, ne_dev + np.arange(n_sh)])),
        ),
        shape=(nn, ne),
    )
    c0 = np.concatenate([c0, np.zeros(n_sh)])
    c1 = np.concatenate([c1, np.ones(n_sh)])
    owner = np.concatenate([owner, np.full(n_sh, "shunt", dtype=object)])
    entry_load = np.concatenate([entry_load, np.full(n_sh, -1)]).astype(int)

    src_nodes = np.flatnonzero(nodes.bus.to_numpy() == source_bus)
    return PhaseModel(
        name=feeder.name,
        s_base_kva=sb,
        feeder=feeder,
        bus_map=bus_map,
        node_bus=nodes.bus.to_numpy(str),
        node_phase=nodes.phase.to_numpy(int),
        vbase_kv=vbase,
        source_nodes=src_nodes,
        branch_element=np.concatenate([lp.element, tp.element]).astype(str),
        branch_phase=phase_b,
        f=f,
        t=t,
        tap2=tap2,
        Tv=Tv,
        Z=Z,
        MP=MP,
        MQ=MQ,
        i_max_pu=i_max,
        i_base_a=i_base,
        Cf=Cf,
        Ct=Ct,
        entry_owner=owner,
        entry_load=entry_load,
        U=U,
        c0=c0,
        c1=c1,
        Wp=sp.csr_matrix(W.real),
        Wq=sp.csr_matrix(W.imag),
        source_vm_pu=float(feeder.source.vm_pu.iloc[0]),
    )
