"""The result of a grid co-optimization: pandapower-style ``res_*`` tables on a time index.

Sign conventions follow pandapower: ``res_bus.p_kw`` is the net demand at the bus (load minus
DER plus stations; negative = the bus exports), ``res_line.p_from_kw`` the flow leaving the
from-bus (toward the feeder end). Network tables come from the problem's grid formulation
(:meth:`~gridv2g.model.formulation.GridFormulation.tables`); this module adds devices, the
fleet and the summary, and names no formulation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from gridv2g import plots
from gridv2g.errors import GridV2GWarning
from gridv2g.horizon import long_table
from gridv2g.result.base import ResultBase, empty_long, expr_value, solved
from gridv2g.result.station import solved_tables

#: largest relaxation gap of an exact SOC solution (the pandapower replay's default)
RELAXATION_GAP_TOL = 1e-5

#: res_station columns that only fleet stations fill (their EVs, ports and storage)
FLEET_COLUMNS = (
    "p_import_kw",
    "p_export_kw",
    "p_charge_kw",
    "p_discharge_kw",
    "ess_p_kw",
    "ess_e_kwh",
    "occupied_ports",
)


@dataclass(kw_only=True)
class Result(ResultBase):
    """A solved grid case. ``res_bus`` (time, bus): vm_pu, p_kw, q_kvar; ``res_line`` (time,
    line); ``res_ext_grid`` (time); ``res_der`` (time, der); ``res_station`` (time, station):
    bus, fleet, p_kw (net import), q_kvar, and for fleet stations the station columns of a
    station result (:data:`FLEET_COLUMNS`); with an EV fleet ``res_ev`` (time, ev) and
    ``res_ev_summary`` (ev)."""

    TABLES: ClassVar[tuple[str, ...]] = (
        "res_bus",
        "res_line",
        "res_ext_grid",
        "res_der",
        "res_station",
        "res_ev",
        "res_ev_summary",
        "res_bus_phase",
        "res_line_phase",
    )

    name: str
    res_bus: pd.DataFrame
    res_line: pd.DataFrame
    res_ext_grid: pd.DataFrame
    res_der: pd.DataFrame
    res_station: pd.DataFrame
    res_ev: pd.DataFrame = field(default_factory=pd.DataFrame)
    res_ev_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: per-phase tables of the unbalanced formulation: (time, bus, phase) ``vm_pu`` (OpenDSS's,
    #: of the delivered plan), ``vm_model_pu``, ``error_pu``; (time, line, phase) ``p_from_kw``,
    #: ``q_from_kvar``, ``i_ka``, ``loss_kw``, ``loading_percent``
    res_bus_phase: pd.DataFrame = field(default_factory=pd.DataFrame)
    res_line_phase: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the closing loop's iterations (unbalanced formulation), one row per solve
    closing: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the inputs (:class:`~gridv2g.inputs.GridData`) the tables were solved for; replays read
    #: these and the tables, never the solver objects
    data: object = field(default=None, repr=False)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        # the network tables are written even when empty, so a replay finds them
        always = ("res_bus", "res_line", "res_ext_grid", "res_der", "res_station")
        return {n: getattr(self, n) for n in self.TABLES if n in always or len(getattr(self, n))}

    @property
    def res_site(self) -> pd.DataFrame:
        """The fleet stations' rows of ``res_station`` (the name of earlier releases)."""
        if "fleet" not in self.res_station:
            return self.res_station.iloc[:0]
        return self.res_station[self.res_station.fleet.astype(bool)]

    def node_voltages(self) -> pd.DataFrame:
        """(time x node) voltages [pu] the summary's ``vmin_pu`` / ``vmax_pu`` read
        (:func:`node_voltages`): per phase ("bus.phase") for a per-phase result, else per bus;
        the source bus left out."""
        return node_voltages(self.res_bus, self.res_bus_phase, self.data.feeder.source_bus)

    def voltage_limits(self) -> tuple[float, float] | None:
        """The case's default voltage band (vmin, vmax) [pu]; None without inputs."""
        if self.data is None:
            return None
        return float(self.data.vmin_pu), float(self.data.vmax_pu)

    def figure_set(self, flagged: pd.Series | None = None) -> dict:
        """The grid figures (:func:`gridv2g.plots.grid.grid_figure_set`); ``flagged``: bool by
        period, the periods a replay flagged (shaded on the time axes)."""
        return plots.grid_figure_set(self, flagged=flagged)


def node_voltages(res_bus: pd.DataFrame, res_bus_phase, source_bus) -> pd.DataFrame:
    """(time x node) voltages [pu] the voltage limits hold on: with per-phase results
    (``res_bus_phase``, the unbalanced formulation) each phase node "bus.phase", else each
    bus; the source bus (held at ``v_source_pu``) left out. The summary's ``vmin_pu`` /
    ``vmin_bus`` / ``vmin_time`` (and vmax) are this frame's extremes."""
    if res_bus_phase is not None and len(res_bus_phase):
        vm = res_bus_phase.vm_pu
        vm = vm[vm.index.get_level_values("bus") != str(source_bus)]
        nodes = [
            f"{b}.{p}"
            for b, p in zip(
                vm.index.get_level_values("bus"), vm.index.get_level_values("phase"), strict=True
            )
        ]
        flat = pd.Series(
            vm.to_numpy(),
            index=pd.MultiIndex.from_arrays(
                [vm.index.get_level_values("time"), nodes], names=["time", "node"]
            ),
        )
        return flat.unstack("node")[list(dict.fromkeys(nodes))]
    wide = res_bus.vm_pu.unstack("bus")
    order = [b for b in dict.fromkeys(res_bus.index.get_level_values("bus")) if b != source_bus]
    return wide[order].rename_axis(columns="node")


def _inexact_cause(gap: np.ndarray, vm_t: pd.DataFrame, data) -> dict:
    """Why the SOC relaxation is not exact: ``periods`` (count of periods with a gap),
    ``kind`` (``upper_voltage`` or ``objective``) and ``text`` for the warning.

    The relaxation is exact when the objective increases in losses and no upper voltage limit
    binds (Gan, Li, Topcu & Low 2015, IEEE TAC 60(1)). Negative prices are guarded already (a
    loss charge), so a gap where an upper limit binds is the second case: reverse flow from
    fixed injections the network cannot carry inside vmax, which the relaxation hides with
    losses that do not exist; the AC problem then has no solution with those injections.
    """
    bad = np.flatnonzero((gap > RELAXATION_GAP_TOL).any(axis=0))
    vmax = pd.Series(float(data.vmax_pu), index=vm_t.columns)
    for bus, (_, hi) in dict(data.bus_v_limits).items():
        if bus in vmax.index:
            vmax[bus] = hi
    at_max = vm_t.iloc[bad] >= vmax - 1e-6
    binding = at_max.any(axis=0)
    if binding.any():
        buses = list(vm_t.columns[binding.to_numpy()])
        first = vm_t.index[bad][at_max.any(axis=1).to_numpy()][0]
        return {
            "periods": len(bad),
            "kind": "upper_voltage",
            "text": (
                f"The upper voltage limit binds there (bus(es) {buses[:8]}"
                f"{' ...' if len(buses) > 8 else ''}, first at {first}): the injections "
                "cannot be carried inside vmax_pu, and the relaxation holds the voltage down "
                "with losses that do not exist. Allow curtailment (options.curtailment), let "
                "inverters absorb reactive power, or raise vmax_pu."
            ),
        }
    return {
        "periods": len(bad),
        "kind": "objective",
        "text": "Look for terms of the objective that reward losses or consumption; replay "
        "the plan (g.validate) to see the AC truth.",
    }


def build_result(co, solver: str) -> Result:
    """Map a solved :class:`~gridv2g.problems.co_optimize.CoOptimization` back to tables."""
    data, T = co.data, co.T
    sb, hours = data.s_base_kva, co.hours
    times = data.horizon.index
    net_tables = co.formulation.tables(co.grid, times)
    gap = net_tables["gap"]
    feeder_buses = list(data.feeder.bus.index)
    p_kw, q_kvar = _bus_demand_kw(co, feeder_buses)
    res_bus = net_tables["res_bus"].assign(
        p_kw=long_table(p_kw, times, feeder_buses, "bus"),
        q_kvar=long_table(q_kvar, times, feeder_buses, "bus"),
    )
    res_line = net_tables["res_line"]
    res_ext_grid = net_tables["res_ext_grid"]

    res_der = empty_long(["bus", "kind", "p_kw", "q_kvar", "p_available_kw", "curtailed_kw"], "der")
    if co.der is not None:
        units = data.der.units
        avail = co.der.params["p_available"].value * sb  # availability x rating
        p = co.der.p.value * sb
        res_der = pd.DataFrame(
            {
                "bus": long_table(
                    np.repeat(units.bus.to_numpy()[:, None], T, 1), times, units.index, "der"
                ),
                "kind": long_table(
                    np.repeat(units.kind.to_numpy()[:, None], T, 1), times, units.index, "der"
                ),
                "p_kw": long_table(p, times, units.index, "der"),
                "q_kvar": long_table(co.der.q.value * sb, times, units.index, "der"),
                "p_available_kw": long_table(avail, times, units.index, "der"),
                "curtailed_kw": long_table(np.maximum(avail - p, 0.0), times, units.index, "der"),
            }
        )
    res_station = empty_long(["bus", "fleet", "p_kw", "q_kvar"], "station")
    if co.stations is not None:
        slots = data.stations.slots
        fleet = slots["fleet"].fillna(False).astype(bool) if "fleet" in slots else False
        fleet = pd.Series(fleet, index=slots.index, dtype=bool)
        res_station = pd.DataFrame(
            {
                "bus": long_table(
                    np.repeat(slots.bus.to_numpy()[:, None], T, 1), times, slots.index, "station"
                ),
                "fleet": long_table(
                    np.repeat(fleet.to_numpy()[:, None], T, 1), times, slots.index, "station"
                ),
                "p_kw": long_table(co.stations.p.value * sb, times, slots.index, "station"),
                "q_kvar": long_table(co.stations.q.value * sb, times, slots.index, "station"),
            }
        )

    # ---- summary
    p_sub = res_ext_grid.p_kw
    vm_t = res_bus.vm_pu.unstack("bus").drop(columns=data.feeder.source_bus, errors="ignore")
    phase_tables = {
        k: net_tables[k] for k in ("res_bus_phase", "res_line_phase") if k in net_tables
    }
    low = high = node_voltages(
        res_bus, phase_tables.get("res_bus_phase"), data.feeder.source_bus
    ).stack()
    vmin_at, vmax_at = low.idxmin(), high.idxmax()
    losses_kw = res_line.loss_kw.groupby("time").sum()
    status, objective = co.problem.status, float(co.problem.value)
    summary = {
        "feeder": data.feeder.name,
        "status": status,
        "objective": objective,
        "solver": solver,
        "formulation": co.formulation.name,
        "periods": T,
        "minutes_per_period": data.horizon.minutes,
        "losses_kwh": float(losses_kw.sum() * hours),
        "substation_kwh": float(p_sub.sum() * hours),
        "peak_kw": float(p_sub.max()),
        "valley_kw": float(p_sub.min()),
        "peak_valley_kw": float(p_sub.max() - p_sub.min()),
        "voltage_deviation": float((vm_t - 1.0).abs().to_numpy().sum()),
        "vmin_pu": float(low.min()),
        "vmin_bus": str(vmin_at[1]),
        "vmin_time": vmin_at[0],
        "vmax_pu": float(high.max()),
        "vmax_bus": str(vmax_at[1]),
        "vmax_time": vmax_at[0],
        "max_relaxation_gap": float(np.max(gap)) if gap.size else 0.0,
        # a feeder without line ratings says so: nothing was enforced, loading is NaN
        "rated_lines": net_tables["rated_lines"],
        "ampacity_enforced": bool(data.ampacity and net_tables["rated_lines"] > 0),
        "der_kwh": float(res_der.p_kw.sum() * hours) if len(res_der) else 0.0,
        "curtailed_kwh": float(res_der.curtailed_kw.sum() * hours) if len(res_der) else 0.0,
        **{f"{k}": float(v) for k, v in co.timings.items()},
    }
    fleet_tables = {}
    if co.fleet is not None:
        f = co.fleet
        _, _, res_ev, res_site, res_ev_summary, _ = solved_tables(
            data.fleet, f.ev, f.ess, f.ports, f.block, f.schedule
        )
        fleet_tables = {"res_ev": res_ev, "res_ev_summary": res_ev_summary}
        # one station table: the fleet stations' own columns join their slots' rows
        site = res_site.drop(columns="p_kw")[list(FLEET_COLUMNS)]
        res_station = res_station.join(site)
        summary.update(
            evs=len(res_ev_summary),
            ev_charged_kwh=float(res_ev_summary.charged_kwh.sum()),
            ev_discharged_kwh=float(res_ev_summary.discharged_kwh.sum()),
            ev_shortfall_kwh=float(res_ev_summary.shortfall_kwh.sum()),
            fleet_peak_kw=float(res_site.p_kw.groupby("time").sum().max()),
        )
    for term, expr in co.terms.items():
        summary[f"term_{term}"] = expr_value(expr)
    if getattr(co, "guard", None) is not None:
        summary["term_loss_guard"] = expr_value(co.guard)
    if not co.formulation.closes:
        # a relaxation that is not exact is said by the solve itself, not only by a replay
        exact = summary["max_relaxation_gap"] <= RELAXATION_GAP_TOL
        summary["relaxation_exact"] = bool(exact)
        if not exact:
            cause = _inexact_cause(gap, vm_t, data)
            summary["relaxation_inexact_periods"] = cause["periods"]
            summary["relaxation_inexact_cause"] = cause["kind"]
            warnings.warn(
                f"{data.feeder.name}: the SOC relaxation is not exact (largest gap "
                f"{summary['max_relaxation_gap']:.2g} > {RELAXATION_GAP_TOL:g}, in "
                f"{cause['periods']} period(s)): the plan's losses and voltages are not "
                f"physical. {cause['text']}",
                GridV2GWarning,
                stacklevel=4,
            )
    closing = pd.DataFrame()
    report = getattr(co.formulation, "report", None)
    if report is not None:
        closing = report.iterations
        s = report.summary
        summary.update(
            closing_converged=bool(s["converged"]),
            closing_iterations=int(s["iterations"]),
            model_error_pu=float(s["model_error_pu"]),
            losses_error_percent=float(s["losses_error_percent"]),
            opendss_violation_pu=float(s["violation_pu"]),
        )
        if "vuf_percent" in res_bus:
            summary["vuf_max_percent"] = float(res_bus.vuf_percent.max())
    return Result(
        **solved(co, solver),
        name=data.feeder.name,
        res_bus=res_bus,
        res_line=res_line,
        res_ext_grid=res_ext_grid,
        res_der=res_der,
        res_station=res_station,
        summary=summary,
        data=data,
        closing=closing,
        **fleet_tables,
        **phase_tables,
    )


def _bus_demand_kw(co, feeder_buses: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Net demand [kW, kvar] per feeder bus and period: profiled load - DER + stations."""
    data, sb = co.data, co.data.s_base_kva
    pos = {b: i for i, b in enumerate(feeder_buses)}
    m_p, m_q = co.formulation.bus_load_kw(co.load_columns, feeder_buses)
    profile = co.load_profile.value
    p, q = m_p @ profile, m_q @ profile
    devices = []  # (buses, block, sign): DER inject, stations consume
    if co.der is not None:
        devices.append((data.der.units.bus, co.der, -1.0))
    if co.stations is not None:
        devices.append((data.stations.slots.bus, co.stations, 1.0))
    for buses, block, sign in devices:
        idx = np.array([pos[b] for b in buses])
        np.add.at(p, idx, sign * block.p.value * sb)
        np.add.at(q, idx, sign * block.q.value * sb)
    return p, q
