"""The grid co-optimization problem: network formulation + DER + stations + weighted objective.

Stations are converter slots on feeder buses. A slot's active power is a fixed profile, a
bounded variable, or (``fleet`` slots) the net import of a station of an EV fleet: the per-EV
station block of :mod:`gridv2g.model.station` (charge, V2G discharge, energy, targets, limits,
storage) is then part of the same problem, so EV schedules and feeder flows are optimized
together.

Reads top to bottom like a PowerModels problem builder: data -> formulation (per-unit network,
connection points) -> blocks -> objective -> one ``cp.Problem``. The network is whatever
:class:`~gridv2g.model.formulation.GridFormulation` the data names (``formulation``); this
module never names one. Everything a re-solve may change (prices, base loads, DER
availability, station profiles and limits, and the sizes: converter and inverter ratings, site
import and export limits) is a CVXPY Parameter, so the problem is compiled once (DPP) and
re-solved with new data without rebuilding (``update`` or ``resize``, then ``solve``).
"""

from __future__ import annotations

import copy
import dataclasses
import time

import cvxpy as cp
import numpy as np
import pandas as pd

from gridv2g.errors import GridDataError, GridV2GError, InfeasibleError
from gridv2g.inputs import (
    DERData,
    GridData,
    StationSlotData,
    check_grid_data,
    fixed_fleet,
    fleet_slots,
    load_profile_values,
    placement,
)
from gridv2g.model import der as der_block
from gridv2g.model import objective as obj
from gridv2g.model.fleet import FleetModel, fleet_block, fleet_groups, set_station_limits
from gridv2g.model.registry import grid_formulation
from gridv2g.problems.base import Problem
from gridv2g.problems.station import StationSchedule, aggregated_solve
from gridv2g.result.grid import build_result
from gridv2g.solvers import (
    INFEASIBLE,
    MILP_SOLVERS,
    MISOCP_SOLVERS,
    describe,
    describe_station,
    interior_options,
    solve_once,
)

__all__ = [
    "CoOptimization",
    "DERData",
    "GridData",
    "StationSlotData",
    "fixed_fleet",
    "fleet_slots",
]


#: share above a negative price's reward at which the exactness guard charges losses back
LOSS_GUARD_MARGIN = 0.01


class CoOptimization(Problem):
    """Build once, update Parameters, solve: the grid co-optimization of one case."""

    kind = "grid"
    integer_solvers = MISOCP_SOLVERS
    integer_why = (
        "the fleet's ports / exclusiveness binaries make it a mixed-integer SOCP; or drop "
        "ports and exclusiveness (the LP relaxation of a station is often exact enough)"
    )

    def __init__(
        self,
        data: GridData,
        dpp: bool = True,
        elastic: bool = False,
        split: np.ndarray | None = None,
    ):
        """Build the problem. ``dpp=False`` skips DPP compilation (one-shot solves);
        ``elastic=True`` builds the diagnosis version: voltage and ampacity limits get slacks
        and the objective is their sum (:meth:`diagnose`). A fleet with ``aggregate`` enters
        as flexibility groups (``split``: their refinement key) and each solve ends with the
        per-EV disaggregation (:mod:`gridv2g.problems.disaggregate`)."""
        t0 = time.perf_counter()
        self._split = split
        check_grid_data(data)
        self.data = data
        self.dpp = dpp
        self.elastic = elastic
        unknown = set(data.objective) - set(obj.TERMS)
        if unknown:
            raise GridV2GError(
                f"unknown objective term(s) {sorted(unknown)}; valid: {list(obj.TERMS)}"
            )
        self.formulation = form = grid_formulation(data.formulation, data.feeder, data.s_base_kva)
        T = data.horizon.periods
        self.T = T
        self.hours = data.horizon.hours

        # --- parameters: base load profiles and prices. The base load is nominal load x
        # profile: (bus x profile) constants times a (profile x period) Parameter, so a
        # re-solve can change every profile while the Parameter stays small (DPP compile
        # time grows with the number of Parameter entries: a (bus x period) Parameter made
        # the IEEE 123 x 96 compile take minutes).
        self.load_columns, self.M_p, self.M_q = form.load_matrices(data.load_scale.columns)
        self.load_profile = cp.Parameter((len(self.load_columns), T), name="load-profile")
        self.price = cp.Parameter(T, name="source-price")

        # --- blocks
        p_dem = self.M_p @ self.load_profile
        q_dem = self.M_q @ self.load_profile
        self.der = self.stations = None
        constraints = []
        if data.der is not None and len(data.der.units):
            u = data.der.units
            self.der_map = form.connection(*placement(u))
            self.der = der_block.der(
                self.der_map.pp,
                T,
                reactive=u.kind.map(lambda k: data.reactive.get(k, True)).to_numpy(bool),
                curtailment=data.curtailment,
                pf_min=u["pf_min"].to_numpy(float) if "pf_min" in u else None,
            )
            # devices on their connection points (phases; delta devices rotated)
            p_dem = p_dem - self.der_map.p(self.der.p, self.der.q)
            q_dem = q_dem - self.der_map.q(self.der.p, self.der.q)
            constraints += self.der.all_constraints()
        if data.stations is not None and len(data.stations.slots):
            s = data.stations.slots
            self.station_map = form.connection(*placement(s))
            self.stations = der_block.station_slots(
                self.station_map.pp,
                T,
                reactive=np.full(len(s), data.reactive.get("station", True)),
                p_variable=s.p_variable.to_numpy(bool),
            )
            p_dem = p_dem + self.station_map.p(self.stations.p, self.stations.q)
            q_dem = q_dem + self.station_map.q(self.stations.p, self.stations.q)
            constraints += self.stations.all_constraints()
        self.fleet = None
        if data.fleet is not None:
            constraints += self._connect_fleet()
        self.vmin_pu, self.vmax_pu = form.v_limits(data.vmin_pu, data.vmax_pu, data.bus_v_limits)
        self.grid = form.block(
            T,
            p_dem,
            q_dem,
            self.vmin_pu,
            self.vmax_pu,
            data.v_source_pu,
            data.ampacity,
            elastic,
            load_profile=self.load_profile,
        )
        constraints += self.grid.all_constraints()

        # --- objective
        self.terms = self._terms()
        # exactness guard: a negative energy price rewards losses, and the SOC relaxation
        # then invents them (gap ~1, every period off in AC). The known sufficient condition
        # for exactness is an objective increasing in losses (Farivar & Low 2013; Gan et al.
        # 2015), so where the price is negative the losses are charged at least that price
        # back, plus LOSS_GUARD_MARGIN: the objective's loss coefficient stays positive.
        self.loss_guard = cp.Parameter(T, nonneg=True, name="loss-guard")
        self.guard = guard = self.hours * (self.loss_guard @ form.losses_kw(self.grid))
        if elastic:
            expr = sum(cp.sum(slack) for slack in self.grid.slacks.values())
        else:
            expr = sum(w * self.terms[name] for name, w in self.weights.items() if w) + guard
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
        groups = fleet_groups(fleet, self._split)
        ev, ess, ports, block = fleet_block(fleet, groups=groups)
        self.fleet = FleetModel(ev=ev, ess=ess, ports=ports, block=block, groups=groups)
        pos = data.stations.slots.index.get_indexer(sites)
        return [
            *block.all_constraints(),
            self.stations.p[pos, :] == block.net_kw / data.s_base_kva,
        ]

    # ------------------------------------------------------------------ data -> parameters
    def _terms(self) -> dict[str, cp.Expression]:
        form, sb, h = self.formulation, self.data.s_base_kva, self.hours
        terms = {
            "losses": form.losses_kwh(self.grid, h),
            "energy_cost": obj.energy_cost(self.price, form.substation_p(self.grid), sb, h),
            "voltage_deviation": form.voltage_deviation(self.grid),
        }
        if self.der is not None:
            # available power = availability x rating: one Parameter (DPP allows no product
            # of two), set by update()
            terms["curtailment"] = self.data.curtailment_cost_per_kwh * obj.curtailment_kwh(
                self.der.params["p_available"], self.der.p, sb, h
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
        """The DER ratings of ``self.data`` [pu]."""
        return self.data.der.units.s_kva.to_numpy(dtype=float) / self.data.s_base_kva

    @property
    def station_s_pu(self) -> np.ndarray:
        """The station slots' converter ratings of ``self.data`` [pu]."""
        return self.data.stations.slots.s_kva.to_numpy(dtype=float) / self.data.s_base_kva

    def load_profile_values(self) -> np.ndarray:
        """(profile x period) multipliers from ``load_scale`` (constant column "1" = 1)."""
        return load_profile_values(self.data.load_scale, self.data.horizon, self.load_columns)

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
        check_grid_data(self.data)
        index = self.data.horizon.index
        self.load_profile.value = self.load_profile_values()
        self.price.value = self.data.price_per_kwh.reindex(index).to_numpy(float)
        w = float(self.data.objective.get("energy_cost", 0.0))
        self.loss_guard.value = np.maximum(-w * self.price.value, 0.0) * (1.0 + LOSS_GUARD_MARGIN)
        if self.der is not None:
            avail = self.data.der.availability.reindex(index)[self.data.der.units.index]
            rating = self.der_s_pu
            self.der.params["rating"].value = rating
            self.der.params["p_available"].value = avail.to_numpy(float).T * rating[:, None]
        if self.stations is not None:
            self.stations.params["rating"].value = self.station_s_pu
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
            set_station_limits(self.fleet.block, self.data.fleet)

    def resize(
        self,
        station_s_kva=None,
        der_s_kva=None,
        import_limit_kw=None,
        export_limit_kw=None,
    ) -> None:
        """Change sizes without a rebuild: the next solve re-solves the same problem (with
        ``dpp=True`` the compiled one; with ``dpp=False`` every solve compiles anyway).

        Each argument maps names to new values (a dict or a Series; names left out keep
        theirs): ``station_s_kva`` {slot: converter rating [kVA]}; ``der_s_kva`` {DER unit:
        inverter rating [kVA]} (the availability stays per unit of rating, so the available
        power scales with it); ``import_limit_kw`` / ``export_limit_kw`` {fleet station: site
        limit [kW]}, constant over the horizon.

        A variable slot's power bounds that sit at its old rating (``p_max_kw`` = ``s_kva``,
        ``p_min_kw`` = ``-s_kva``: what a case gives when it names no bounds) move to the new
        rating; other bounds stay. A fleet slot's bounds are always ``+-s_kva``.

        ``self.data`` becomes a copy holding the new tables (the caller's data objects are
        not changed). Unknown names raise a GridV2GError listing the valid ones; negative or
        non-finite values a GridDataError naming the item; the new data then passes
        :func:`~gridv2g.inputs.check_grid_data` (e.g. a fixed slot profile above a shrunk
        rating) before any Parameter changes.
        """
        data = self.data
        changes = {}
        units_index = data.der.units.index if self.der is not None else ()
        der_new = _sizes(der_s_kva, units_index, "DER unit", "s_kva", "kVA")
        if der_new is not None:
            units = data.der.units.copy()
            units["s_kva"] = units["s_kva"].astype(float)
            units.loc[der_new.index, "s_kva"] = der_new.to_numpy()
            changes["der"] = dataclasses.replace(data.der, units=units)
        slots_index = data.stations.slots.index if self.stations is not None else ()
        slot_new = _sizes(station_s_kva, slots_index, "station slot", "s_kva", "kVA")
        if slot_new is not None:
            changes["stations"] = _resized_slots(data.stations, slot_new)
        sites = data.fleet.stations.stations.index if self.fleet is not None else ()
        limits = {}
        for key, values in (
            ("p_import_max_kw", import_limit_kw),
            ("p_export_max_kw", export_limit_kw),
        ):
            new = _sizes(values, sites, "fleet station", key, "kW")
            if new is not None:
                frame = getattr(data.fleet.stations, key).copy().astype(float)
                frame[list(new.index)] = np.broadcast_to(new.to_numpy(), (len(frame), len(new)))
                limits[key] = frame
        if limits:
            spec = dataclasses.replace(data.fleet.stations, **limits)
            changes["fleet"] = dataclasses.replace(data.fleet, stations=spec)
        if not changes:
            return
        candidate = dataclasses.replace(data, **changes)
        check_grid_data(candidate)
        self.data = candidate
        self.update()

    # ------------------------------------------------------------------ solve hooks
    def run_solver(self, name: str, **options) -> str:
        """:meth:`run_once`; in scale mode followed by the per-EV disaggregation, splitting
        groups and solving again while a group's profile has no per-EV schedules."""
        if self.fleet is None or self.fleet.groups is None or self.elastic:
            return self.run_once(name, **options)
        options = interior_options(name, options)
        return aggregated_solve(self, lambda: self.run_once(name, **options))

    def rebuild(self, split: np.ndarray) -> None:
        """Build the problem again with finer flexibility groups (``split``)."""
        self.__init__(self.data, dpp=self.dpp, split=split)

    def fleet_parts(self):
        """(fleet data, ev, groups, block) of the fleet in this problem."""
        f = self.fleet
        return self.data.fleet, f.ev, f.groups, f.block

    @property
    def schedule(self):
        return None if self.fleet is None else self.fleet.schedule

    @schedule.setter
    def schedule(self, value) -> None:
        self.fleet.schedule = value

    def run_once(self, name: str, **options) -> str:
        """One timed solve, or, for a formulation that closes against a power flow (the
        unbalanced one), its loop: solve, replay in OpenDSS, correct, re-solve, until the
        replay meets every limit (:meth:`GridFormulation.close`; raises ClosingError if it
        does not converge). The elastic diagnosis version is solved once."""
        if not self.formulation.closes or self.elastic:
            return super().run_solver(name, **options)
        from gridv2g.model.unbalanced_closing import ClosingError

        t0 = time.perf_counter()
        try:
            report = self.formulation.close(self, name, **options)
        except ClosingError:
            if self.problem.status in INFEASIBLE:
                return self.problem.status  # the template diagnoses which limits bind
            raise
        self.timings.update(
            solve_s=float(report.summary["solve_s"]),
            replay_s=float(report.summary["replay_s"]),
            closing_iterations=int(report.summary["iterations"]),
            total_s=time.perf_counter() - t0,
        )
        return self.problem.status

    def result(self, solver: str):
        """A :class:`~gridv2g.result.Result` of the solved problem."""
        return build_result(self, solver)

    def diagnose(self, solver: str, tol: float = 1e-6) -> None:
        """Solve the elastic version and raise an InfeasibleError listing every limit that
        must be relaxed (``diagnosis``: limit, element, time, limit_value, needed_value), or
        naming the EVs when the fleet's own targets are what cannot be met."""
        data = self.data
        elastic = CoOptimization(copy.copy(data), dpp=False, elastic=True)
        if self.formulation.closes:
            # a closed formulation failed inside its loop: the model that was infeasible is
            # the one corrected against OpenDSS (its corrections and limit back-offs are the
            # block's Parameters); the elastic copy starts from the same state, so it finds
            # the limits that bind that model, not the uncorrected one's
            for name, par in self.grid.params.items():
                twin = elastic.grid.params.get(name)
                if twin is not None and par.value is not None and twin.shape == par.shape:
                    twin.value = par.value
        solve_once(elastic.problem, solver, "the diagnosis (limits relaxed)", ignore_dpp=True)
        solved = elastic.problem.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
        if not solved and data.fleet is not None:
            # the grid's limits are relaxed already: the fleet's own limits (targets against
            # windows, chargers, site limits) are what cannot be met; name the EVs
            station_solver = solver if solver in MILP_SOLVERS or not elastic.integer else "HIGHS"
            table = StationSchedule(data.fleet).shortfalls(station_solver)
            if table.empty:
                raise InfeasibleError(
                    "the EV fleet meets its targets on its own, but not through its station "
                    "slots: check the slots' converter ratings (s_kva) against the sites' "
                    f"import and export limits ({list(data.stations.slots.s_kva.items())})"
                )
            raise InfeasibleError(
                "the EV fleet cannot meet its targets even with the feeder's limits relaxed: "
                + describe_station(table),
                diagnosis=table,
            )
        if not solved:
            raise InfeasibleError(
                "infeasible even with voltage and ampacity limits relaxed (status "
                f"{elastic.problem.status}): the loads cannot be served at all"
            )
        table = elastic.formulation.diagnose(
            elastic.grid, elastic.vmin_pu, elastic.vmax_pu, data.horizon.index, tol
        )
        raise InfeasibleError(describe(table), diagnosis=table)


def _sizes(values, valid, item: str, what: str, unit: str) -> pd.Series | None:
    """``values`` ({name: number} or a Series) checked against the ``valid`` names: a float
    Series, or None when ``values`` is None. Unknown names raise a GridV2GError listing the
    valid ones; a negative, non-finite or non-numeric value a GridDataError naming the item."""
    if values is None:
        return None
    values = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    valid = list(valid)
    unknown = [k for k in values.index if k not in valid]
    if unknown:
        raise GridV2GError(f"resize {what}: unknown {item}(s) {unknown}; valid: {valid}")
    out = {}
    for name, value in values.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise GridDataError(
                f"resize: {item} '{name}': {what} {value!r} is not a number ({unit})"
            ) from None
        if not np.isfinite(number) or number < 0:
            raise GridDataError(
                f"resize: {item} '{name}': {what} must be finite and >= 0 {unit}, got {value!r}"
            )
        out[name] = number
    return pd.Series(out, dtype=float)


def _resized_slots(st: StationSlotData, new: pd.Series) -> StationSlotData:
    """A copy of ``st`` with the converter ratings ``new`` [kVA] (slot -> value): variable
    slots' bounds at their old rating follow it, fleet slots' bounds are +-the rating."""
    old = st.slots.s_kva.astype(float).copy()
    slots = st.slots.copy()
    slots["s_kva"] = old.to_numpy(copy=True)
    slots.loc[new.index, "s_kva"] = new.to_numpy()
    fleet = set(fleet_slots(st))
    variable = set(slots.index[slots.p_variable.astype(bool)])
    p_min = None if st.p_min_kw is None else st.p_min_kw.copy().astype(float)
    p_max = None if st.p_max_kw is None else st.p_max_kw.copy().astype(float)
    for name, s_kva in new.items():
        if name not in variable:
            continue
        for frame, sign in ((p_min, -1.0), (p_max, 1.0)):
            if frame is None or name not in frame:
                continue
            at_rating = (frame[name] == sign * old[name]) | (name in fleet)
            frame.loc[at_rating, name] = sign * s_kva
    return dataclasses.replace(st, slots=slots, p_min_kw=p_min, p_max_kw=p_max)
