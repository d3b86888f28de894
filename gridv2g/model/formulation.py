"""Grid formulations are choices: one small interface, one implementation per network model.

A problem asks its formulation for the network block and the connection points of its devices
(injections per connection point and period) and never names the formulation (compare
PowerModels.jl, where ``build_opf_bf`` never names ``SOCBFPowerModel``). An implementation:

- is built once from the engineering :class:`~gridv2g.feeders.Feeder` (its own per-unit
  mathematical model; per-unit lives inside the formulation);
- places devices: :meth:`GridFormulation.connection` gives the (point x device) matrix that
  turns device powers into injections at its connection points (a bus, or bus phases);
- places the feeder's nominal loads on the same points with a profile per column
  (:meth:`GridFormulation.load_matrices`);
- builds the network block over T periods from the net demand per point and period
  (:meth:`GridFormulation.block`) and exposes the expressions objectives need (substation
  power, losses, squared voltages);
- maps the solved block back to engineering tables (:meth:`GridFormulation.tables`) and
  names the limits an elastic solve had to move (:meth:`GridFormulation.diagnose`).

:class:`BalancedDistFlow` is the balanced branch-flow SOCP of :mod:`gridv2g.model.distflow` on
the single-phase equivalent (:meth:`Feeder.balanced`): exact and fast on balanced feeders such
as IEEE 33. :mod:`gridv2g.model.unbalanced_formulation` holds the per-phase one;
:data:`gridv2g.model.registry.FORMULATIONS` lists them by the name case files use.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp

from gridv2g.errors import GridV2GError
from gridv2g.feeders.phase_model import DeviceMap
from gridv2g.horizon import long_table
from gridv2g.inputs import load_profile_columns
from gridv2g.model import objective as obj
from gridv2g.model.der import incidence
from gridv2g.model.distflow import DistFlowBlock, distflow, relaxation_gap, squared_current
from gridv2g.model.network import NetworkModel, build_network


class GridFormulation(ABC):
    """The interface every grid formulation implements (see the module docstring)."""

    #: the name case files use (``formulation:``)
    name: ClassVar[str]

    def __init__(self, feeder, s_base_kva: float = 1000.0):
        self.feeder = feeder
        self.s_base_kva = float(s_base_kva)

    @property
    @abstractmethod
    def points(self) -> list[str]:
        """Names of the connection points (rows of every injection matrix)."""

    def check_profile_columns(self, columns) -> None:
        """Load-profile columns are ``"*"`` or buses of the feeder; others raise, named."""
        named = [str(c) for c in columns if str(c) != "*"]
        unknown = sorted(set(named) - set(self.feeder.bus.index))
        if unknown:
            raise GridV2GError(
                f"load profile columns {unknown} are not buses of '{self.feeder.name}'"
            )

    #: True when the problem's solve is a loop that closes the model against a power flow
    #: (:meth:`close`); the balanced SOCP is solved once
    closes: ClassVar[bool] = False

    @abstractmethod
    def connection(self, buses: Sequence[str], phases=None, conn=None) -> DeviceMap:
        """How devices (at ``buses``, on ``phases`` such as ``"1.2.3"`` or ``"2"``, default
        the bus's phases; ``conn`` wye or delta) inject at the connection points: a
        :class:`~gridv2g.feeders.phase_model.DeviceMap` (``p(p_dev, q_dev)``,
        ``q(p_dev, q_dev)``: point x period). Unknown buses raise FeederError."""

    @abstractmethod
    def load_matrices(self, columns: Sequence[str]):
        """``(columns, M_p, M_q)``: the feeder's nominal loads as (point x profile) matrices
        [pu]. ``columns`` are ``["*"]`` (one profile for every load) or feeder bus names
        (their own profile; the rest get a constant column ``"1"``, appended)."""

    @abstractmethod
    def bus_load_kw(self, columns: Sequence[str], buses: Sequence[str]):
        """(feeder bus x profile) nominal loads [kW, kvar] on the profile ``columns`` of
        :meth:`load_matrices`, for the per-bus demand of result tables."""

    @abstractmethod
    def v_limits(self, vmin_pu: float, vmax_pu: float, overrides: dict) -> tuple:
        """Per-point voltage limits [pu] from defaults and {bus: (vmin, vmax)} overrides."""

    @abstractmethod
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
    ):
        """The network block: variables and named constraints over (element x period) for the
        net demand ``p_demand``, ``q_demand`` (point x period expressions, pu). A formulation
        that keeps the feeder's loads inside its block (voltage-dependent) takes the
        (profile x period) ``load_profile`` Parameter of :meth:`load_matrices`' columns."""

    def close(self, co, solver: str, **options):
        """The solve loop of a closing formulation (``closes``); others never get here."""
        raise NotImplementedError

    @abstractmethod
    def substation_p(self, block) -> cp.Expression:
        """Active power drawn from the substation per period [pu]."""

    @abstractmethod
    def losses_kwh(self, block, hours: float) -> cp.Expression:
        """Active losses over the horizon [kWh]."""

    @abstractmethod
    def losses_kw(self, block) -> cp.Expression:
        """Active losses per period [kW] (length T)."""

    @abstractmethod
    def voltage_deviation(self, block) -> cp.Expression:
        """Sum of |v - 1| over points and periods (v the squared voltage, pu)."""

    @abstractmethod
    def tables(self, block, times: pd.DatetimeIndex) -> dict:
        """``res_bus`` (vm_pu per feeder bus), ``res_line``, ``res_ext_grid`` and ``gap``
        (the formulation's model error per element and period, 0 = exact)."""

    @abstractmethod
    def diagnose(self, block, vmin_pu, vmax_pu, times, tol: float = 1e-6) -> pd.DataFrame:
        """Rows ``limit, element, time, limit_value, needed_value`` of an elastic solve."""


class BalancedDistFlow(GridFormulation):
    """Baran & Wu's DistFlow with Farivar & Low's SOC relaxation on the balanced equivalent
    (:mod:`gridv2g.model.distflow`; per-unit arrays from :mod:`gridv2g.model.network`).
    Connection points are the math buses (switch-contracted feeder buses)."""

    name = "balanced_socp"

    def __init__(self, feeder, s_base_kva: float = 1000.0):
        super().__init__(feeder, s_base_kva)
        self.balanced = feeder.balanced()
        self.net: NetworkModel = build_network(self.balanced, self.s_base_kva)

    @property
    def points(self) -> list[str]:
        return list(self.net.bus_names)

    def connection(self, buses, phases=None, conn=None) -> DeviceMap:
        # a balanced model spreads every device over the three phases: phases and the
        # connection do not matter
        c = incidence(self.net.nb, self.net.bus_index(buses))
        zero = sp.csr_matrix(c.shape)
        n = c.shape[1]
        return DeviceMap(c, zero, zero, c, [str(b) for b in buses], [""] * n, ["wye"] * n)

    def load_matrices(self, columns):
        net, sb = self.net, self.s_base_kva
        load = self.balanced.load
        self.check_profile_columns(columns)
        columns, col_of = load_profile_columns(columns, load.index)
        rows = np.array([net.bus_map[b] for b in load.index], dtype=int)
        shape = (net.nb, len(columns))
        m_p = sp.csr_matrix((load.p_kw.to_numpy() / sb, (rows, col_of)), shape=shape)
        m_q = sp.csr_matrix((load.q_kvar.to_numpy() / sb, (rows, col_of)), shape=shape)
        return columns, m_p, m_q

    def bus_load_kw(self, columns: Sequence[str], buses: Sequence[str]):
        """(feeder bus x profile) nominal loads [kW, kvar] on the profile ``columns`` of
        :meth:`load_matrices`, for the per-bus demand of result tables."""
        load = self.balanced.load
        _, cols = load_profile_columns([c for c in columns if c != "1"], load.index)
        pos = {b: i for i, b in enumerate(buses)}
        rows = np.array([pos[b] for b in load.index], dtype=int)
        m_p = np.zeros((len(buses), len(columns)))
        m_q = np.zeros((len(buses), len(columns)))
        np.add.at(m_p, (rows, cols), load.p_kw.to_numpy())
        np.add.at(m_q, (rows, cols), load.q_kvar.to_numpy())
        return m_p, m_q

    def v_limits(self, vmin_pu, vmax_pu, overrides):
        net = self.net
        vmin = np.full(net.nb, float(vmin_pu))
        vmax = np.full(net.nb, float(vmax_pu))
        for bus, (lo, hi) in overrides.items():
            i = net.bus_index([bus])[0]
            vmin[i], vmax[i] = lo, hi
        return vmin, vmax

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
    ):
        # the feeder's loads are constant power in the net demand already (load_matrices)
        return distflow(
            self.net,
            periods,
            p_demand,
            q_demand,
            vmin_pu,
            vmax_pu,
            v_source_pu,
            ampacity=ampacity,
            elastic=elastic,
        )

    def substation_p(self, block: DistFlowBlock):
        return block.p_sub

    def losses_kwh(self, block: DistFlowBlock, hours: float):
        return obj.losses_kwh(self.net.r, block.l, self.s_base_kva, hours)

    def losses_kw(self, block: DistFlowBlock):
        return self.s_base_kva * (self.net.r @ block.l)

    def voltage_deviation(self, block: DistFlowBlock):
        return obj.voltage_deviation(block.v)

    def tables(self, block: DistFlowBlock, times) -> dict:
        net, sb, T = self.net, self.s_base_kva, len(times)
        P, Q, L, V = block.P.value, block.Q.value, block.l.value, block.v.value
        feeder_buses = list(self.feeder.bus.index)
        midx = np.array([net.bus_map[b] for b in feeder_buses])
        vm = np.sqrt(np.maximum(V[midx, :], 0.0))
        i_pu = np.sqrt(squared_current(P, Q, L, V, net))
        i_ka = i_pu * net.i_base_ka(net.t)[:, None]
        # an unrated branch has no loading: NaN, never 0 (100 i / inf)
        rated = np.isfinite(net.i_max)
        loading = np.full_like(i_pu, np.nan)
        loading[rated] = 100.0 * i_pu[rated] / net.i_max[rated, None]
        gap = relaxation_gap(P, Q, L, V, net)
        names = net.branch_names
        bus_names = np.array(net.bus_names)

        def long(values, level, elements):
            return long_table(values, times, elements, level)

        res_line = pd.DataFrame(
            {
                "from_bus": long(np.repeat(bus_names[net.f][:, None], T, 1), "line", names),
                "to_bus": long(np.repeat(bus_names[net.t][:, None], T, 1), "line", names),
                "p_from_kw": long(P * sb, "line", names),
                "q_from_kvar": long(Q * sb, "line", names),
                "i_ka": long(i_ka, "line", names),
                "loss_kw": long(net.r[:, None] * L * sb, "line", names),
                "loading_percent": long(loading, "line", names),
                "relaxation_gap": long(gap, "line", names),
            }
        )
        return {
            "res_bus": pd.DataFrame({"vm_pu": long(vm, "bus", feeder_buses)}),
            "res_line": res_line,
            "res_ext_grid": pd.DataFrame(
                {"p_kw": block.p_sub.value * sb, "q_kvar": block.q_sub.value * sb},
                index=pd.Index(times, name="time"),
            ),
            "gap": gap,
            "rated_lines": int(rated.sum()),
        }

    def diagnose(self, block: DistFlowBlock, vmin_pu, vmax_pu, times, tol=1e-6):
        net = self.net
        rows = []
        v = block.v.value
        for kind, limit in (("vmin", vmin_pu), ("vmax", vmax_pu)):
            slack = block.slacks[f"v_{kind[1:]}"].value
            for i, t in zip(*np.nonzero(slack > tol), strict=True):
                rows.append(
                    {
                        "limit": kind,
                        "element": net.bus_names[i + 1],
                        "time": times[t],
                        "limit_value": float(limit[i + 1]),
                        "needed_value": float(np.sqrt(max(v[i + 1, t], 0.0))),
                    }
                )
        if "ampacity" in block.slacks and block.slacks["ampacity"].size:
            slack = block.slacks["ampacity"].value
            for k, t in zip(*np.nonzero(slack > tol), strict=True):
                b = block.limited[k]
                i_base = net.i_base_ka(net.t[b])
                rows.append(
                    {
                        "limit": "ampacity",
                        "element": net.branch_names[b],
                        "time": times[t],
                        "limit_value": float(net.i_max[b] * i_base),
                        "needed_value": float(np.sqrt(block.l.value[b, t]) * i_base),
                    }
                )
        cols = ["limit", "element", "time", "limit_value", "needed_value"]
        return pd.DataFrame(rows, columns=cols)
