"""The unbalanced grid formulation: per-phase LinDist3Flow closed against OpenDSS.

:class:`UnbalancedLinDist3Flow` implements :class:`~gridv2g.model.formulation.GridFormulation`
on the per-phase model of the full feeder (:mod:`gridv2g.feeders.phase_model`): connection
points are phase nodes (``"bus.phase"``), devices sit on their phases (wye or delta), the
feeder's loads keep their ZIP models on their phases inside the block, and every rated phase
conductor has its ampacity cone (:mod:`gridv2g.model.unbalanced`).

A linear model alone is 3e-3..5e-3 pu off on IEEE 123 and blind to losses, so the formulation
*closes* (``closes = True``): the problem's solve becomes the loop of
:mod:`gridv2g.model.unbalanced_closing` (solve, replay every period in OpenDSS on the full
feeder with the stations, PV and wind on their phases, correct the model through its
Parameters, re-solve) until the OpenDSS replay meets every phase-voltage and ampacity limit and
the objective settles. The plan returned is the last one replayed; :attr:`report` keeps the
iterations, and the tables carry OpenDSS's voltages and unbalance of that plan.
"""

from __future__ import annotations

from collections.abc import Sequence

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp

from gridv2g.errors import FeederError, GridV2GError
from gridv2g.feeders.phase_model import DeviceMap, build_phase_model
from gridv2g.horizon import long_table
from gridv2g.inputs import load_profile_columns, placement
from gridv2g.model.formulation import GridFormulation
from gridv2g.model.unbalanced import UnbalancedBlock, unbalanced

#: complex rotation a = exp(j 120 deg), for symmetrical components
_A = np.exp(2j * np.pi / 3)


def unbalance_factor_percent(va, vb, vc) -> np.ndarray:
    """IEC voltage unbalance factor 100 |V2| / |V1| of phase phasors (any common shape)."""
    v1 = (va + _A * vb + _A**2 * vc) / 3.0
    v2 = (va + _A**2 * vb + _A * vc) / 3.0
    return 100.0 * np.abs(v2) / np.abs(v1)


class UnbalancedLinDist3Flow(GridFormulation):
    """Per-phase LinDist3Flow on the full feeder, closed against OpenDSS (module docstring).
    Options of the closing loop (:func:`~gridv2g.model.unbalanced_closing.close`) can be set
    on :attr:`closing_options`."""

    name = "unbalanced"
    #: the problem's solve is the closing loop against OpenDSS
    closes = True

    def __init__(self, feeder, s_base_kva: float = 1000.0):
        super().__init__(feeder, s_base_kva)
        self.pm = build_phase_model(feeder, self.s_base_kva)
        if self.pm.n_loads != len(feeder.load):
            raise GridV2GError("phase model and feeder disagree on the loads")
        self.L: sp.csr_matrix | None = None  # load x profile column
        self.report = None  # ClosingReport of the last closed solve
        self.closing_options: dict = {}
        self._replay = None
        self._replay_key = None

    # ---------------------------------------------------------------- placing
    @property
    def points(self) -> list[str]:
        return self.pm.node_names

    def connection(self, buses, phases=None, conn=None) -> DeviceMap:
        buses = [str(b) for b in buses]
        unknown = sorted(set(buses) - set(self.feeder.bus.index))
        if unknown:
            raise FeederError(f"unknown bus(es) {unknown} in feeder '{self.feeder.name}'")
        return self.pm.connect(buses, phases, conn)

    def load_matrices(self, columns):
        load = self.feeder.load
        self.check_profile_columns(columns)
        columns, col_of = load_profile_columns(columns, pd.Index(load.bus.astype(str)))
        n = len(load)
        self.L = sp.csr_matrix((np.ones(n), (np.arange(n), col_of)), shape=(n, len(columns)))
        # the feeder's loads live inside the block (ZIP on their phases): nothing here
        empty = sp.csr_matrix((self.pm.nn, len(columns)))
        return columns, empty, empty

    def bus_load_kw(self, columns: Sequence[str], buses: Sequence[str]):
        load = self.feeder.load
        _, cols = load_profile_columns([c for c in columns if c != "1"], pd.Index(load.bus))
        pos = {b: i for i, b in enumerate(buses)}
        rows = np.array([pos[str(b)] for b in load.bus], dtype=int)
        m_p = np.zeros((len(buses), len(columns)))
        m_q = np.zeros((len(buses), len(columns)))
        np.add.at(m_p, (rows, cols), load.p_kw.to_numpy(float))
        np.add.at(m_q, (rows, cols), load.q_kvar.to_numpy(float))
        return m_p, m_q

    def v_limits(self, vmin_pu, vmax_pu, overrides):
        lo = {b: v[0] for b, v in overrides.items()}
        hi = {b: v[1] for b, v in overrides.items()}
        return self.pm.node_values(lo, vmin_pu), self.pm.node_values(hi, vmax_pu)

    # ---------------------------------------------------------------- block
    def block(
        self,
        periods,
        p_demand,
        q_demand,
        vmin_pu,
        vmax_pu,
        v_source_pu,
        ampacity,
        elastic,
        load_profile=None,
    ) -> UnbalancedBlock:
        load_mult = None
        if load_profile is not None:
            if self.L is None:
                raise GridV2GError("load_matrices() must come before block()")
            load_mult = self.L @ load_profile
        return unbalanced(
            self.pm,
            periods,
            p_demand,
            q_demand,
            vmin_pu,
            vmax_pu,
            v_source_pu=v_source_pu,
            ampacity=ampacity,
            elastic=elastic,
            load_mult=load_mult,
        )

    def substation_p(self, block: UnbalancedBlock):
        return block.p_sub_total

    def losses_kwh(self, block: UnbalancedBlock, hours: float):
        # OpenDSS's losses at the last replayed point (constants to the optimizer)
        return cp.sum(block.loss_p) * self.s_base_kva * hours

    def losses_kw(self, block: UnbalancedBlock):
        return cp.sum(block.loss_p, axis=0) * self.s_base_kva

    def voltage_deviation(self, block: UnbalancedBlock):
        return cp.sum(cp.abs(block.v[np.flatnonzero(self.pm.inner_nodes), :] - 1.0))

    # ---------------------------------------------------------------- closing
    def close(self, co, solver: str, **options):
        """Run the closing loop on the co-optimization ``co`` (stations and DER replayed on
        their phases); returns and keeps the :class:`ClosingReport`."""
        from gridv2g.model.unbalanced_closing import OpenDSSPhaseReplay, close

        buses, phases, conn, p_parts, q_parts = [], [], [], [], []
        data = co.data
        # the replay's devices are loads: DER generate (consumption -p), stations consume
        parts = ((co.der, data.der, -1.0), (co.stations, data.stations, 1.0))
        for block, devices, sign in parts:
            if block is None:
                continue
            b, ph, cn = placement(devices.units if sign < 0 else devices.slots)
            buses, phases, conn = buses + b, phases + ph, conn + cn
            p_parts.append(sign * block.p)
            q_parts.append(sign * block.q)
        devices = self.connection(buses, phases, conn) if buses else None
        key = (tuple(buses), tuple(phases), tuple(conn), data.v_source_pu)
        if self._replay is None or self._replay_key != key:
            self._replay = OpenDSSPhaseReplay(self.pm, devices, v_source_pu=data.v_source_pu)
            self._replay_key = key
        p_dev = cp.vstack(p_parts) if p_parts else None
        q_dev = cp.vstack(q_parts) if q_parts else None
        settings = {**self.closing_options, **options}
        self.report = close(
            co.problem, co.grid, self._replay, p_dev, q_dev, solver=solver, **settings
        )
        return self.report

    # ---------------------------------------------------------------- tables
    def tables(self, block: UnbalancedBlock, times) -> dict:
        pm, sb, T = self.pm, self.s_base_kva, len(times)
        feeder = self.feeder
        vm_nodes = block.vm_pu()
        # per feeder bus and phase (contracted buses take their math bus's nodes)
        fb = feeder.bus
        bus_col, ph_col = [], []
        for bus, nodes in zip(fb.index, fb.nodes.astype(str), strict=True):
            for ph in nodes.split("."):
                if ph and ph != "0":
                    bus_col.append(str(bus))
                    ph_col.append(int(ph))
        idx = pm.node_index(bus_col, ph_col)
        keys = pd.MultiIndex.from_arrays([bus_col, ph_col], names=["bus", "phase"])
        vm_model = vm_nodes[idx]
        rep = self.report.replay if self.report is not None else None
        if rep is not None:
            vm = rep.vm_model[idx]  # OpenDSS's voltages of the delivered plan
        else:
            vm = vm_model
        res_bus_phase = _long3(
            {"vm_pu": vm, "vm_model_pu": vm_model, "error_pu": np.abs(vm - vm_model)},
            times,
            keys,
        )
        # per bus: the mean of its phases, and its worst phases, and the IEC unbalance factor
        frame = pd.DataFrame(vm.T, index=pd.Index(times, name="time"), columns=keys)
        by_bus = frame.T.groupby(level="bus", sort=False)
        buses = list(fb.index.astype(str))
        mean = by_bus.mean().reindex(buses).to_numpy()
        vmin = by_bus.min().reindex(buses).to_numpy()
        vmax = by_bus.max().reindex(buses).to_numpy()
        res_bus = pd.DataFrame(
            {
                "vm_pu": long_table(mean, times, buses, "bus"),
                "vm_min_pu": long_table(vmin, times, buses, "bus"),
                "vm_max_pu": long_table(vmax, times, buses, "bus"),
                "vuf_percent": long_table(self._vuf(rep, buses, T), times, buses, "bus"),
            }
        )
        # per phase branch: sending-end power, current |S| / |V_f|, loading
        P, Q = block.P.value, block.Q.value
        vf = vm_nodes[pm.f]
        i_ka = np.hypot(P, Q) / np.maximum(vf, 1e-6) * pm.i_base_a[:, None] / 1000.0
        if rep is not None and len(block.limited):
            i_ka[block.limited] = rep.i_branch_a / 1000.0
        rated = np.isfinite(pm.i_max_pu)
        i_max_ka = pm.i_max_pu * pm.i_base_a / 1000.0
        loading = np.full_like(i_ka, np.nan)
        loading[rated] = 100.0 * i_ka[rated] / i_max_ka[rated, None]
        loss_kw = block.loss_p.value * sb
        bkeys = pd.MultiIndex.from_arrays(
            [pm.branch_element, pm.branch_phase], names=["line", "phase"]
        )
        res_line_phase = _long3(
            {
                "p_from_kw": P * sb,
                "q_from_kvar": Q * sb,
                "i_ka": i_ka,
                "loss_kw": loss_kw,
                "loading_percent": loading,
            },
            times,
            bkeys,
        )
        # per element: sums over its phases, the worst phase's current and loading
        elements = pd.unique(pm.branch_element)
        first = pd.Series(np.arange(pm.nb)).groupby(pm.branch_element).first()
        first = first.reindex(elements).to_numpy()
        grp = pd.Series(pm.branch_element)

        def per_element(values, how):
            df = pd.DataFrame(values).groupby(grp.to_numpy(), sort=False)
            return getattr(df, how)().reindex(elements).to_numpy()

        node_bus = np.asarray(pm.node_bus, dtype=object)
        res_line = pd.DataFrame(
            {
                "from_bus": long_table(
                    np.repeat(node_bus[pm.f[first]][:, None], T, 1), times, elements, "line"
                ),
                "to_bus": long_table(
                    np.repeat(node_bus[pm.t[first]][:, None], T, 1), times, elements, "line"
                ),
                "p_from_kw": long_table(per_element(P * sb, "sum"), times, elements, "line"),
                "q_from_kvar": long_table(per_element(Q * sb, "sum"), times, elements, "line"),
                "i_ka": long_table(per_element(i_ka, "max"), times, elements, "line"),
                "loss_kw": long_table(per_element(loss_kw, "sum"), times, elements, "line"),
                "loading_percent": long_table(per_element(loading, "max"), times, elements, "line"),
            }
        )
        p_sub = block.p_sub_total.value * sb
        q_sub = block.q_sub_total.value * sb
        if rep is not None:
            p_sub = rep.substation_kw
        res_ext_grid = pd.DataFrame(
            {"p_kw": p_sub, "q_kvar": q_sub}, index=pd.Index(times, name="time")
        )
        gap = np.abs(vm - vm_model) if rep is not None else np.zeros((1, T))
        return {
            "res_bus": res_bus,
            "res_line": res_line,
            "res_ext_grid": res_ext_grid,
            "res_bus_phase": res_bus_phase,
            "res_line_phase": res_line_phase,
            "gap": gap,
            "rated_lines": len(set(pm.branch_element[rated])),
        }

    def _vuf(self, rep, buses, T) -> np.ndarray:
        """IEC unbalance factor [%] per feeder bus with three phases, from OpenDSS's phasors
        of the delivered plan (NaN elsewhere, and without a replay)."""
        out = np.full((len(buses), T), np.nan)
        if rep is None or rep.vc_node is None:
            return out
        pos = {n: i for i, n in enumerate(rep.node_names)}
        ids = np.array([[pos.get(f"{b.lower()}.{p}", -1) for p in (1, 2, 3)] for b in buses])
        full = (ids >= 0).all(axis=1)  # buses with three phase nodes
        va, vb, vc = (rep.vc_node[ids[full, k]] for k in range(3))
        out[full] = unbalance_factor_percent(va, vb, vc)
        return out

    def diagnose(self, block: UnbalancedBlock, vmin_pu, vmax_pu, times, tol=1e-6):
        pm = self.pm
        inner = np.flatnonzero(pm.inner_nodes)
        names = np.array(pm.node_names)
        rows = []
        v = block.v.value
        for kind, limit in (("vmin", vmin_pu), ("vmax", vmax_pu)):
            slack = block.slacks[f"v_{kind[1:]}"].value
            # the limit the model held: the case's, or backed off by a closing loop; the
            # voltage needed is reported from the case's limit by the model's own distance
            # beyond the held one (a back-off must not read as a violation, nor hide one)
            held = block.params[f"v_{kind[1:]}2"].value
            for r, t in zip(*np.nonzero(slack > tol), strict=True):
                i = inner[r]
                vm = float(np.sqrt(max(v[i, t], 0.0)))
                shift = 0.0 if held is None else float(limit[i]) - float(np.sqrt(held[r, t]))
                rows.append(
                    {
                        "limit": kind,
                        "element": names[i],
                        "time": times[t],
                        "limit_value": float(limit[i]),
                        "needed_value": vm + shift,
                    }
                )
        if "ampacity" in block.slacks:
            # the cone is |S| <= s_max + slack, s_max the rating as apparent power (I_max at
            # 1 pu, or I_max |V_f| less a back-off after closing corrections): the current
            # needed is the rating scaled by (s_max + slack) / s_max, so a back-off neither
            # reads as a violation nor hides one
            slack = block.slacks["ampacity"].value
            cap = block.params["s_max"].value
            for r, t in zip(*np.nonzero(slack > tol), strict=True):
                b = block.limited[r]
                rating_ka = float(pm.i_max_pu[b] * pm.i_base_a[b] / 1000.0)
                scale = (cap[r, t] + slack[r, t]) / max(cap[r, t], 1e-9)
                rows.append(
                    {
                        "limit": "ampacity",
                        "element": f"{pm.branch_element[b]}.{pm.branch_phase[b]}",
                        "time": times[t],
                        "limit_value": rating_ka,
                        "needed_value": float(rating_ka * scale),
                    }
                )
        cols = ["limit", "element", "time", "limit_value", "needed_value"]
        return pd.DataFrame(rows, columns=cols)


def _long3(columns: dict, times, keys: pd.MultiIndex) -> pd.DataFrame:
    """(time, *keys) long table of (key x period) arrays."""
    index = pd.MultiIndex.from_tuples(
        [(t, *k) for t in times for k in keys], names=["time", *keys.names]
    )
    return pd.DataFrame(
        {name: np.asarray(v).T.reshape(-1) for name, v in columns.items()}, index=index
    )
