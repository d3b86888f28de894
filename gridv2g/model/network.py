"""The per-unit "math model" of a balanced feeder: index maps and arrays, built once.

Following PowerModelsDistribution's ``eng2math``, one function turns the engineering model (a
:class:`~gridv2g.feeders.BalancedFeeder`, SI units, string names) into what the formulation
blocks need: integer bus and branch indices, incidence matrices, per-unit r, x, shunts, tap
ratios and limits. Nothing here knows CVXPY; the blocks in :mod:`gridv2g.model` read these
arrays, and results are mapped back through the same index maps.

Per-unit system: ``s_base_kva`` (three-phase) and each bus's own line-to-line base ``vn_kv``, so
``z_base = vn_kv**2 / (s_base_kva / 1000)`` ohm. Branch impedances are referred to their to-bus.

Near-ideal branches (``|z| < z_ideal_pu``, e.g. voltage regulators of 0.01 % impedance) are
kept as ideal ratios (``ideal``): r = x = 0 and no current variable in the relaxation. Their
impedance would not be seen by a losses objective, which then leaves their squared current
free and the relaxation inexact (measured on IEEE 123: gap ~1 on every regulator).

Zero-impedance branches (switches) are contracted: the buses they join form one math bus, and
every feeder bus maps to the math bus of its group (``bus_map``). Branches are oriented away
from the source (``from`` = parent), as DistFlow requires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp

from gridv2g.errors import FeederError


@dataclass
class NetworkModel:
    """Per-unit arrays of a radial feeder (see module docstring).

    Attributes (``nb`` math buses, ``nl`` branches; index 0 is the source bus):
      ``bus_names`` math bus -> representative feeder bus name; ``bus_map`` feeder bus name ->
      math bus index; ``branch_names``; ``f``, ``t`` (from/to math bus of each branch);
      ``r``, ``x`` [pu]; ``tap`` (off-nominal ratio, v_to = tap**2 v_from at no load);
      ``i_max`` [pu current, inf if none]; ``ideal`` (bool: near-zero impedance, modelled as
      an ideal ratio); ``b_shunt`` [pu, per math bus: capacitors and half
      the line charging of each adjacent line, injected as ``b * v``]; ``p_load``, ``q_load``
      [pu, per math bus, the feeder's nominal loads]; ``vn_kv`` per math bus;
      ``Cf``, ``Ct`` (nb x nl incidence of branch from/to buses, sparse).
    """

    name: str
    s_base_kva: float
    bus_names: list[str]
    bus_map: dict[str, int]
    vn_kv: np.ndarray
    branch_names: list[str]
    f: np.ndarray
    t: np.ndarray
    r: np.ndarray
    x: np.ndarray
    tap: np.ndarray
    i_max: np.ndarray
    ideal: np.ndarray
    b_shunt: np.ndarray
    p_load: np.ndarray
    q_load: np.ndarray
    Cf: sp.csr_matrix
    Ct: sp.csr_matrix
    source_vm_pu: float

    @property
    def nb(self) -> int:
        return len(self.bus_names)

    @property
    def nl(self) -> int:
        return len(self.branch_names)

    def z_base_ohm(self, bus: np.ndarray | int) -> np.ndarray:
        """Impedance base [ohm] of math bus(es)."""
        return self.vn_kv[bus] ** 2 / (self.s_base_kva / 1000.0)

    def i_base_ka(self, bus: np.ndarray | int) -> np.ndarray:
        """Current base [kA] of math bus(es): s_base / (sqrt(3) vn)."""
        return (self.s_base_kva / 1000.0) / (math.sqrt(3.0) * self.vn_kv[bus])

    def bus_index(self, names) -> np.ndarray:
        """Math bus indices of feeder bus names; unknown names raise FeederError."""
        out = []
        for name in names:
            try:
                out.append(self.bus_map[str(name)])
            except KeyError:
                raise FeederError(f"unknown bus '{name}' on feeder '{self.name}'") from None
        return np.asarray(out, dtype=int)


#: branches with |z| below this [pu] are ideal ratios (see the module docstring)
Z_IDEAL_PU = 1e-4


def build_network(
    balanced, s_base_kva: float = 1000.0, z_ideal_pu: float = Z_IDEAL_PU
) -> NetworkModel:
    """Build the :class:`NetworkModel` of a :class:`~gridv2g.feeders.BalancedFeeder`."""
    branch = balanced.branch
    bus = balanced.bus
    # contract zero-impedance branches (switches): union of their buses
    groups = nx.Graph()
    groups.add_nodes_from(bus.index)
    sw = branch[branch.kind == "switch"]
    groups.add_edges_from(zip(sw.from_bus, sw.to_bus, strict=True))
    root_name = balanced.source["bus"]
    comp_of = {}
    for comp in nx.connected_components(groups):
        rep = root_name if root_name in comp else min(comp, key=list(bus.index).index)
        for b in comp:
            comp_of[b] = rep
    real = branch[branch.kind != "switch"]
    tree = nx.Graph()
    tree.add_nodes_from(set(comp_of.values()))
    for name, br in real.iterrows():
        tree.add_edge(comp_of[br.from_bus], comp_of[br.to_bus], name=name)
    # math buses in breadth-first order from the source; branches by their to-bus
    order = [root_name] + [b for _, b in nx.bfs_edges(tree, root_name)]
    index = {b: i for i, b in enumerate(order)}
    parent = dict(nx.bfs_predecessors(tree, root_name))
    nb = len(order)
    bus_map = {b: index[comp_of[b]] for b in bus.index}

    names, f, t = [], [], []
    r, x, tap, i_max = [], [], [], []
    s_base_mva = s_base_kva / 1000.0
    for child in order[1:]:
        name = tree.edges[parent[child], child]["name"]
        br = real.loc[name]
        forward = comp_of[br.to_bus] == child
        if not forward and br.kind == "transformer":
            raise FeederError(
                f"transformer '{name}' is fed from its to-bus '{br.to_bus}'; "
                "transformers must be given from the source side"
            )
        vn_to = bus.vn_kv[br.to_bus if forward else br.from_bus]
        z_base = vn_to**2 / s_base_mva
        names.append(name)
        f.append(index[parent[child]])
        t.append(index[child])
        r.append(br.r_ohm / z_base)
        x.append(br.x_ohm / z_base)
        tap.append(br.tap)
        i_base = s_base_mva / (math.sqrt(3.0) * vn_to)
        i_max.append(br.max_i_ka / i_base if np.isfinite(br.max_i_ka) else np.inf)

    vn = np.array([bus.vn_kv[b] for b in order])
    f_arr, t_arr = np.asarray(f, dtype=int), np.asarray(t, dtype=int)
    r_arr, x_arr = np.asarray(r), np.asarray(x)
    ideal = np.hypot(r_arr, x_arr) < z_ideal_pu
    r_arr[ideal] = 0.0
    x_arr[ideal] = 0.0
    # shunts: capacitors (q at 1 pu) and half the charging of each line at either end
    b_shunt = np.zeros(nb)
    if len(balanced.shunt):
        idx = np.array([bus_map[b] for b in balanced.shunt.index])
        np.add.at(b_shunt, idx, balanced.shunt.q_kvar.to_numpy() / s_base_kva)
    lines = branch[(branch.kind == "line") & (branch.c_nf > 0)]
    if len(lines):
        omega = 2.0 * math.pi * balanced.frequency_hz
        vn_line = bus.vn_kv[lines.from_bus].to_numpy()
        # Q [Mvar] = omega C V^2 for the whole line (three phases, V line-to-line)
        q_half = 0.5 * omega * lines.c_nf.to_numpy() * 1e-9 * vn_line**2 / s_base_mva
        for col in ("from_bus", "to_bus"):
            np.add.at(b_shunt, lines[col].map(bus_map).to_numpy(), q_half)
    p_load = np.zeros(nb)
    q_load = np.zeros(nb)
    if len(balanced.load):
        idx = np.array([bus_map[b] for b in balanced.load.index])
        np.add.at(p_load, idx, balanced.load.p_kw.to_numpy() / s_base_kva)
        np.add.at(q_load, idx, balanced.load.q_kvar.to_numpy() / s_base_kva)
    nl = len(names)
    cols = np.arange(nl)
    Cf = sp.csr_matrix((np.ones(nl), (f_arr, cols)), shape=(nb, nl))
    Ct = sp.csr_matrix((np.ones(nl), (t_arr, cols)), shape=(nb, nl))
    return NetworkModel(
        name=balanced.name,
        s_base_kva=s_base_kva,
        bus_names=order,
        bus_map=bus_map,
        vn_kv=vn,
        branch_names=names,
        f=f_arr,
        t=t_arr,
        r=r_arr,
        x=x_arr,
        tap=np.asarray(tap),
        i_max=np.asarray(i_max),
        ideal=ideal,
        b_shunt=b_shunt,
        p_load=p_load,
        q_load=q_load,
        Cf=Cf,
        Ct=Ct,
        source_vm_pu=float(balanced.source["vm_pu"]),
    )


def branch_table(net: NetworkModel) -> pd.DataFrame:
    """The math branches as a table (names, buses, per-unit values), for inspection."""
    return pd.DataFrame(
        {
            "from_bus": [net.bus_names[i] for i in net.f],
            "to_bus": [net.bus_names[i] for i in net.t],
            "r_pu": net.r,
            "x_pu": net.x,
            "tap": net.tap,
            "i_max_pu": net.i_max,
            "ideal": net.ideal,
        },
        index=pd.Index(net.branch_names, name="branch"),
    )
