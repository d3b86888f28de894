"""The grid co-optimization problem: DistFlow SOCP + DER + stations + weighted objective.

Stations are converter slots on feeder buses. A slot's active power is a fixed profile, a
bounded variable, or (``fleet`` slots) the net import of a station of an EV fleet: the per-EV
station block of :mod:`gridv2g.model.station` (charge, V2G discharge, energy, targets, limits,
storage) is then part of the same SOCP, so EV schedules and feeder flows are optimized together.

Reads top to bottom like a PowerModels problem builder: data -> per-unit network -> blocks ->
objective -> one ``cp.Problem``. Everything a re-solve may change (prices, base loads, DER
availability, station profiles and limits) is a CVXPY Parameter, so the problem is compiled
once (DPP) and re-solved with new data without rebuilding (``update`` then ``solve``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import ClassVar

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp

from gridv2g.errors import GridV2GError
from gridv2g.model import der as der_block
from gridv2g.model import objective as obj
from gridv2g.model.distflow import distflow
from gridv2g.model.network import NetworkModel, build_network
from gridv2g.profiles import Horizon


@dataclass
class DERData:
    """PV and wind units: one row per unit (index = name).

    ``units``: columns ``bus``, ``kind`` (pv / wind), ``s_kva`` (inverter rating), optional
    ``pf_min``. ``availability``: (time x unit) per unit of rating on the horizon.
    """

    units: pd.DataFrame
    availability: pd.DataFrame


@dataclass
class StationSlotData:
    """Station converters: ``slots`` (index = name) with ``bus``, ``s_kva``, ``p_variable``
    (bool) and optionally ``fleet`` (bool: the slot's active power is the net import of the
    fleet station of the same name; such slots are variable within +-``s_kva``); ``p_kw``
    (time x slot) consumption profile for fixed slots; ``p_min_kw`` / ``p_max_kw`` (time x
    slot) bounds for variable slots."""

    slots: pd.DataFrame
    p_kw: pd.DataFrame | None = None
    p_min_kw: pd.DataFrame | None = None
    p_max_kw: pd.DataFrame | None = None


@dataclass
class GridData:
    """Everything the co-optimization needs, in engineering units on one horizon.

    ``load_scale``: (time x bus) multipliers of each bus's nominal load (a single column
    ``"*"`` applies to every bus). ``price_per_kwh``: (time) energy price at the substation.
    ``reactive``: reactive dispatch on/off per device class (``pv``, ``wind``, ``station``).
    ``vmin_pu`` / ``vmax_pu``: defaults; ``bus_v_limits``: {bus: (vmin, vmax)} overrides.
    ``objective``: {term: weight} over :data:`gridv2g.model.objective.TERMS`.
    ``fleet``: a :class:`~gridv2g.problems.station.StationData` whose stations are the slots
    marked ``fleet`` (its prices serve only the money figures of the result; the grid objective
    prices energy at the substation).
    """

    feeder: object
    horizon: Horizon
    load_scale: pd.DataFrame
    price_per_kwh: pd.Series
    der: DERData | None = None
    stations: StationSlotData | None = None
    fleet: object | None = None  # StationData: EVs at the fleet slots' stations
    reactive: dict[str, bool] = field(
        default_factory=lambda: {"pv": True, "wind": True, "station": True}
    )
    curtailment: bool = True
    curtailment_cost_per_kwh: float = 0.0
    vmin_pu: float = 0.95
    vmax_pu: float = 1.05
    bus_v_limits: dict[str, tuple[float, float]] = field(default_factory=dict)
    v_source_pu: float | None = None
    ampacity: bool = True
    objective: dict[str, float] = field(default_factory=lambda: {"losses": 1.0})
    s_base_kva: float = 1000.0


def fleet_slots(stations: StationSlotData | None) -> list[str]:
    """Names of the slots whose power is a fleet station's net import (``fleet`` column)."""
    if stations is None or "fleet" not in stations.slots:
        return []
    marked = stations.slots["fleet"].fillna(False).astype(bool)
    return list(stations.slots.index[marked])


def fixed_fleet(data: GridData, net_kw: pd.DataFrame) -> GridData:
    """``data`` with its fleet replaced by fixed station profiles: each fleet slot consumes
    ``net_kw[slot]`` (time x station, kW; e.g. the uncontrolled baseline's or a station-only
    schedule's net import). The grid then only dispatches DER and reactive power around it:
    the sequential plan a joint solve is compared with."""
    import dataclasses

    st = data.stations
    marked = fleet_slots(st)
    missing = sorted(set(marked) - set(net_kw.columns))
    if missing:
        raise GridV2GError(f"fixed_fleet: no profile for fleet slot(s) {missing}")
    slots = st.slots.copy()
    slots.loc[marked, "p_variable"] = False
    slots["fleet"] = False
    index = data.horizon.index
    p_kw = st.p_kw.copy() if st.p_kw is not None else pd.DataFrame(0.0, index, slots.index)
    p_kw.loc[:, marked] = net_kw.reindex(index)[marked].to_numpy()
    stations = StationSlotData(slots=slots, p_kw=p_kw, p_min_kw=st.p_min_kw, p_max_kw=st.p_max_kw)
    return dataclasses.replace(data, fleet=None, stations=stations)


class CoOptimization:
    """Build once, update Parameters, solve: the grid co-optimization of one case."""

    #: Clarabel's duality-gap tolerances tightened from 1e-8 to 1e-9, as its feasibility one
    #: is (:data:`gridv2g.solvers.DEFAULT_OPTIONS`). With a money objective (energy cost at
    #: 0.04-0.13 per kWh) the losses weigh little, and at 1e-8 the SOC gap of lightly loaded
    #: branches reached 5.5e-5 (``cases/ieee33_ev.yaml``); at 1e-9 it is 1.1e-6 there and on
    #: IEEE 123 x 96 it falls from 2.5e-6 to 6.6e-9, at the same solve time. (At 1e-10 the
    #: IEEE 33 DER case ends "inaccurate" and is retried at Clarabel's defaults.)
    default_options: ClassVar[dict] = {
        "CLARABEL": {"tol_feas": 1e-9, "tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9}
    }

    def __init__(self, data: GridData, dpp: bool = True, elastic: bool = False):
        """Build the problem. ``dpp=False`` skips DPP compilation (one-shot solves);
        ``elastic=True`` builds the diagnosis version: voltage and ampacity limits get slacks
        and the objective is their sum (:func:`gridv2g.solvers.diagnose`)."""
        t0 = time.perf_counter()
        self.data = data
        self.dpp = dpp
        self.elastic = elastic
        unknown = set(data.objective) - set(obj.TERMS)
        if unknown:
            raise GridV2GError(
                f"unknown objective term(s) {sorted(unknown)}; valid: {list(obj.TERMS)}"
            )
        self.balanced = data.feeder.balanced()
        self.net: NetworkModel = build_network(self.balanced, data.s_base_kva)
        net, T = self.net, data.horizon.periods
        self.T = T
        self.hours = data.horizon.hours
        sb = data.s_base_kva

        # --- parameters: base load profiles and prices. The base load is nominal load x
        # profile: (bus x profile) constants times a (profile x period) Parameter, so a
        # re-solve can change every profile while the Parameter stays small (DPP compile
        # time grows with the number of Parameter entries: a (bus x period) Parameter made
        # the IEEE 123 x 96 compile take minutes).
        self.load_columns, self.M_p, self.M_q = self._load_matrices()
        self.load_profile = cp.Parameter((len(self.load_columns), T), name="load-profile")
        self.price = cp.Parameter(T, name="source-price")

        # --- blocks
        p_dem = self.M_p @ self.load_profile
        q_dem = self.M_q @ self.load_profile
        self.der = self.stations = None
        constraints = []
        if data.der is not None and len(data.der.units):
            u = data.der.units
            self.der = der_block.der(
                net.nb,
                net.bus_index(u.bus),
                u.s_kva.to_numpy(dtype=float) / sb,
                T,
                reactive=u.kind.map(lambda k: data.reactive.get(k, True)).to_numpy(bool),
                curtailment=data.curtailment,
                pf_min=u["pf_min"].to_numpy(float) if "pf_min" in u else None,
            )
            p_dem = p_dem - self.der.C @ self.der.p
            q_dem = q_dem - self.der.C @ self.der.q
            constraints += self.der.all_constraints()
        if data.stations is not None and len(data.stations.slots):
            s = data.stations.slots
            self.stations = der_block.station_slots(
                net.nb,
                net.bus_index(s.bus),
                s.s_kva.to_numpy(dtype=float) / sb,
                T,
                reactive=np.full(len(s), data.reactive.get("station", True)),
                p_variable=s.p_variable.to_numpy(bool),
            )
            p_dem = p_dem + self.stations.C @ self.stations.p
            q_dem = q_dem + self.stations.C @ self.stations.q
            constraints += self.stations.all_constraints()
        self.fleet = None
        if data.fleet is not None:
            constraints += self._connect_fleet()
        vmin, vmax = self._v_limits()
        self.grid = distflow(
            net,
            T,
            p_dem,
            q_dem,
            vmin,
            vmax,
            data.v_source_pu,
            ampacity=data.ampacity,
            elastic=elastic,
        )
        constraints += self.grid.all_constraints()

        # --- objective
        self.terms = self._terms()
        if elastic:
            expr = sum(cp.sum(slack) for slack in self.grid.slacks.values())
        else:
            expr = sum(w * self.terms[name] for name, w in self.weights.items() if w)
        self.problem = cp.Problem(cp.Minimize(expr), constraints)
        self.timings = {"build_s": time.perf_counter() - t0}
        self.update()

    @property
    def weights(self) -> dict[str, float]:
        """Objective weights: the case's, plus weight 1 on the fleet terms it leaves out."""
        weights = dict(self.data.objective)
        if self.fleet is not None:
            for term in obj.FLEET_TERMS:
                weights.setdefault(term, 1.0)
        return weights

    @property
    def integer(self) -> bool:
        """Binaries (ports, exclusiveness) make the problem a mixed-integer SOCP."""
        return self.fleet is not None and self.fleet.block.integer

    def _connect_fleet(self) -> list:
        """Build the fleet's station block and tie each fleet slot's active power to its
        station's net import (kW -> pu). Raises naming stations without a slot or slots
        without a station."""
        from gridv2g.problems.station import FleetModel, fleet_block

        data = self.data
        fleet = data.fleet
        sites = list(fleet.stations.stations.index)
        marked = fleet_slots(data.stations)
        missing = [s for s in sites if s not in marked]
        extra = [s for s in marked if s not in sites]
        if missing or extra:
            raise GridV2GError(
                f"fleet stations and fleet slots must match by name: stations without a fleet "
                f"slot on the feeder {missing}; fleet slots without a station {extra}"
            )
        ev, ess, ports, block = fleet_block(fleet)
        self.fleet = FleetModel(ev=ev, ess=ess, ports=ports, block=block)
        pos = data.stations.slots.index.get_indexer(sites)
        return [
            *block.all_constraints(),
            self.stations.p[pos, :] == block.net_kw / data.s_base_kva,
        ]

    # ------------------------------------------------------------------ data -> parameters
    def _v_limits(self) -> tuple[np.ndarray, np.ndarray]:
        net, data = self.net, self.data
        vmin = np.full(net.nb, data.vmin_pu)
        vmax = np.full(net.nb, data.vmax_pu)
        for bus, (lo, hi) in data.bus_v_limits.items():
            i = net.bus_index([bus])[0]
            vmin[i], vmax[i] = lo, hi
        return vmin, vmax

    def _terms(self) -> dict[str, cp.Expression]:
        net, sb, h = self.net, self.data.s_base_kva, self.hours
        terms = {
            "losses": obj.losses_kwh(net.r, self.grid.l, sb, h),
            "energy_cost": obj.energy_cost(self.price, self.grid.p_sub, sb, h),
            "voltage_deviation": obj.voltage_deviation(self.grid.v),
        }
        if self.der is not None:
            avail = cp.multiply(
                np.repeat(self.der_s_pu[:, None], self.T, axis=1), self.der.params["availability"]
            )
            terms["curtailment"] = self.data.curtailment_cost_per_kwh * obj.curtailment_kwh(
                avail, self.der.p, sb, h
            )
        else:
            terms["curtailment"] = cp.Constant(0.0)
        terms["ev_degradation"] = terms["ev_shortfall"] = cp.Constant(0.0)
        if self.fleet is not None:
            fleet, b = self.data.fleet, self.fleet.block
            terms["ev_degradation"] = fleet.degradation_per_kwh * h * cp.sum(b.d)
            if fleet.soft_target:
                terms["ev_shortfall"] = fleet.shortfall_penalty_per_kwh * cp.sum(b.shortfall)
        return terms

    @property
    def der_s_pu(self) -> np.ndarray:
        return self.data.der.units.s_kva.to_numpy(dtype=float) / self.data.s_base_kva

    def _load_matrices(self) -> tuple[list[str], sp.csr_matrix, sp.csr_matrix]:
        """Profile columns and (math bus x profile) nominal-load matrices [pu].

        ``load_scale`` columns are ``"*"`` (every bus) or feeder bus names (that bus's own
        profile; buses not named keep their nominal load through a constant column ``"1"``).
        """
        net, data = self.net, self.data
        columns = [str(c) for c in data.load_scale.columns]
        balanced = self.balanced.load
        sb = data.s_base_kva
        if columns == ["*"]:
            col_of = {b: 0 for b in balanced.index}
        else:
            unknown = sorted(set(columns) - set(data.feeder.bus.index))
            if unknown:
                raise GridV2GError(
                    f"load profile columns {unknown} are not buses of '{data.feeder.name}'"
                )
            pos = {c: k for k, c in enumerate(columns)}
            rest = [b for b in balanced.index if b not in pos]
            if rest:
                columns = [*columns, "1"]
            col_of = {b: pos.get(b, len(columns) - 1) for b in balanced.index}
        rows = np.array([net.bus_map[b] for b in balanced.index], dtype=int)
        cols = np.array([col_of[b] for b in balanced.index], dtype=int)
        shape = (net.nb, len(columns))
        m_p = sp.csr_matrix((balanced.p_kw.to_numpy() / sb, (rows, cols)), shape=shape)
        m_q = sp.csr_matrix((balanced.q_kvar.to_numpy() / sb, (rows, cols)), shape=shape)
        return columns, m_p, m_q

    def load_profile_values(self) -> np.ndarray:
        """(profile x period) multipliers from ``load_scale`` (constant column "1" = 1)."""
        scale = self.data.load_scale.reindex(self.data.horizon.index)
        scale.columns = [str(c) for c in scale.columns]
        out = np.ones((len(self.load_columns), self.T))
        for k, col in enumerate(self.load_columns):
            if col in scale.columns:
                out[k] = scale[col].to_numpy(float)
        return out

    def load_pu(self) -> tuple[np.ndarray, np.ndarray]:
        """Base load per math bus and period [pu]: nominal loads x their profiles."""
        values = self.load_profile_values()
        return self.M_p @ values, self.M_q @ values

    def update(self, **changes) -> None:
        """Set the Parameters from ``self.data`` (after replacing fields given in ``changes``,
        e.g. ``update(price_per_kwh=new_series)``). No rebuild; the next solve reuses the
        compiled problem."""
        for key, value in changes.items():
            if key == "availability":
                self.data.der.availability = value
            elif hasattr(self.data, key):
                setattr(self.data, key, value)
            else:
                raise GridV2GError(f"update: unknown field '{key}'")
        index = self.data.horizon.index
        self.load_profile.value = self.load_profile_values()
        self.price.value = self.data.price_per_kwh.reindex(index).to_numpy(float)
        if self.der is not None:
            avail = self.data.der.availability.reindex(index)[self.data.der.units.index]
            self.der.params["availability"].value = avail.to_numpy(float).T
        if self.stations is not None:
            st, sb = self.data.stations, self.data.s_base_kva
            zeros = np.zeros((len(st.slots), self.T))

            def table(df):
                if df is None:
                    return zeros
                return df.reindex(index)[st.slots.index].to_numpy(float).T / sb

            self.stations.params["p_profile"].value = table(st.p_kw)
            self.stations.params["p_min"].value = table(st.p_min_kw)
            self.stations.params["p_max"].value = table(st.p_max_kw)
        if self.fleet is not None:
            from gridv2g.problems.station import set_station_limits

            set_station_limits(self.fleet.block, self.data.fleet)

    # ------------------------------------------------------------------ solve
    def solve(self, solver: str = "CLARABEL", **options):
        """Solve (compiling on the first call) and return a :class:`~gridv2g.result.Result`."""
        from gridv2g.result import build_result
        from gridv2g.solvers import MISOCP_SOLVERS, check_solver, run_solver

        if self.integer and check_solver(solver) not in MISOCP_SOLVERS:
            raise GridV2GError(
                f"{solver} cannot solve this case: the fleet's ports / exclusiveness binaries "
                f"make it a mixed-integer SOCP; use one of {list(MISOCP_SOLVERS)}, or drop "
                "ports and exclusiveness (the LP relaxation of a station is often exact enough)"
            )
        run_solver(self, solver, **options)
        return build_result(self, solver)
