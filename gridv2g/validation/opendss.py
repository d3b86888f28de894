"""Replay an optimized schedule in OpenDSS on the full unbalanced feeder: the unbalanced truth.

The SOCP works on the balanced single-phase equivalent (:meth:`Feeder.balanced`). Here every
period's injections go back onto the multi-phase model OpenDSS solves:

- each original load element (its phases, connection and ZIP model) at its nominal kW/kvar times
  the same load profile the optimizer used for its bus;
- each DER unit as a ``Generator`` (model 1, fixed kW and kvar) and each station slot as a
  ``Load`` (model 1), spread evenly over the phases of its bus;
- the source at the case's voltage, regulators at their fixed taps (as exported).

Per period the report gives OpenDSS's losses against the model's, the substation power, the
lowest and highest phase voltage, the node-periods outside the case's own limits
(``voltage_violations``), the rated lines' worst loading and the phase-periods above their
ampacity (``ampacity_violations``; ``limits_ok`` in the summary covers both, ampacity where
the case enforces it), the largest |V_model - V_phase| over
every bus node (per phase for the unbalanced formulation; for the balanced one its error plus
the unbalance it cannot see) and the largest phase unbalance (max - min phase voltage at a
bus). Devices sit on the phases and in the connection the optimizer placed them on.

Speed: the model is compiled once; each period sets kW/kvar through OpenDSS's API and solves.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g import progress
from gridv2g.feeders.opendss_engine import device_element
from gridv2g.inputs import load_profile_columns, load_profile_values, placement
from gridv2g.validation.tables import per_element, write_report

#: a phase voltage beyond its limit by more than this counts as a violation [pu]
VOLTAGE_TOL_PU = 1e-6
#: a phase current above the line's rating by more than this counts as a violation [A]
AMPACITY_TOL_A = 1e-3


@dataclass
class OpenDSSReport:
    """``periods``: one row per period; ``res_node``: (time, bus, node) ``vm_pu``;
    ``summary``: worst figures and the replay's seconds; ``limits``: the case's default
    voltage band (vmin, vmax) [pu]; ``source_bus``: the source bus (OpenDSS's lower-case
    name; held, left out of the checks)."""

    periods: pd.DataFrame
    res_node: pd.DataFrame
    summary: dict
    limits: tuple[float, float] | None = None
    source_bus: str = ""

    def to_dir(self, directory) -> Path:
        """Write ``opendss_periods.csv`` and ``opendss.json`` (the summary) into ``directory``,
        next to the result's tables (what ``gridv2g run`` and ``validate`` write)."""
        return write_report(directory, "opendss", self.periods, self.summary)

    def figure_set(self) -> dict:
        """{file stem: Figure}: the lowest and highest voltage of each phase per period
        against the limits with the losses, and the bus x time phase voltages
        (:mod:`gridv2g.plots.replay`)."""
        from gridv2g.plots.replay import opendss_heatmap, opendss_phase_figure

        return {
            "opendss_phases": opendss_phase_figure(self),
            "opendss_heatmap": opendss_heatmap(self),
        }


def _kv(vn_kv_ll: float, nodes: str) -> float:
    """OpenDSS's kv of an element on ``nodes``: line-to-neutral for one phase, else LL."""
    return vn_kv_ll / np.sqrt(3.0) if len(nodes.split(".")) == 1 else vn_kv_ll


def _placed(table: pd.DataFrame, kind: str, prefix: str, feeder) -> list[str]:
    """The replay's elements of device rows, on the phases the optimizer placed them on."""
    buses, phases, conns = placement(table)
    return [
        device_element(kind, f"{prefix}{u}", b, feeder, ph, cn)
        for u, b, ph, cn in zip(table.index, buses, phases, conns, strict=True)
    ]


def validate_opendss(result, directory: str | Path | None = None) -> OpenDSSReport:
    """Replay every period of a solved grid ``result`` in OpenDSS (see module docstring)."""
    return replay_opendss(
        result.data,
        result.res_bus,
        result.res_line,
        result.res_ext_grid,
        result.res_der,
        result.res_station,
        directory,
        res_bus_phase=getattr(result, "res_bus_phase", None),
    )


def load_multipliers(data) -> np.ndarray:
    """(load element x period) multipliers of the feeder's original loads: the load profile the
    optimizer applied to each load's bus (:func:`gridv2g.inputs.load_profile_columns`)."""
    columns, col_of = load_profile_columns(data.load_scale.columns, data.feeder.load.bus)
    return load_profile_values(data.load_scale, data.horizon, columns)[col_of]


def replay_opendss(
    data,
    res_bus,
    res_line,
    res_ext_grid,
    res_der,
    res_station,
    directory=None,
    res_bus_phase=None,
) -> OpenDSSReport:
    """Replay result tables (as ``Result.to_dir`` writes them) of the grid case ``data``
    (:class:`~gridv2g.problems.co_optimize.GridData`) in OpenDSS."""
    from gridv2g.feeders.opendss_engine import compile_model, run_command
    from gridv2g.feeders.opendss_engine import dss as _dss

    feeder = data.feeder
    dss = _dss()
    tmp = None
    if directory is None:
        tmp = tempfile.TemporaryDirectory()
        directory = tmp.name
    try:
        master = feeder.to_opendss(Path(directory) / "dss")
        extra = []
        if data.v_source_pu is not None:
            extra.append(f"Vsource.source.pu={data.v_source_pu:.12g}")
        der_units = data.der.units if data.der is not None else pd.DataFrame(columns=["bus"])
        slots = data.stations.slots if data.stations is not None else pd.DataFrame(columns=["bus"])
        extra += _placed(der_units, "Generator", "gv2g_der_", feeder)
        extra += _placed(slots, "Load", "gv2g_slot_", feeder)
        compile_model(master, extra)
        run_command("set tolerance=1e-10")
        run_command("set maxiterations=100")
        times = data.horizon.index

        injections = {
            "der_p": per_element(res_der, "der", der_units.index, "p_kw", times),
            "der_q": per_element(res_der, "der", der_units.index, "q_kvar", times),
            "st_p": per_element(res_station, "station", slots.index, "p_kw", times),
            "st_q": per_element(res_station, "station", slots.index, "q_kvar", times),
        }
        return _replay(
            data, res_bus, res_line, res_ext_grid, der_units, slots, injections, dss, res_bus_phase
        )
    finally:
        if tmp is not None:
            tmp.cleanup()


def _replay(
    data, res_bus, res_line, res_ext_grid, der_units, slots, injections, dss, res_bus_phase=None
):
    feeder = data.feeder
    times = data.horizon.index
    load_names = list(feeder.load.index)
    mult = load_multipliers(data)  # (load x period)
    p0 = feeder.load.p_kw.to_numpy()
    q0 = feeder.load.q_kvar.to_numpy()
    der_p, der_q = injections["der_p"], injections["der_q"]
    st_p, st_q = injections["st_p"], injections["st_q"]
    vm_socp = res_bus.vm_pu.unstack("bus")
    loss_socp = res_line.loss_kw.groupby("time").sum()
    source_bus = feeder.source.bus.iloc[0].lower()

    names = [n.lower() for n in dss.Circuit.AllNodeNames()]
    node_bus = np.array([n.rsplit(".", 1)[0] for n in names])
    node_num = np.array([int(n.rsplit(".", 1)[1]) for n in names])
    base_kv = {}
    for bus in dss.Circuit.AllBusNames():
        dss.Circuit.SetActiveBus(bus)
        base_kv[bus.lower()] = dss.Bus.kVBase()
    base = np.array([1000.0 * base_kv[b] for b in node_bus])
    inner = node_bus != source_bus
    bus_lower = {str(b).lower(): b for b in feeder.bus.index}
    socp_cols = [bus_lower[b] for b in node_bus]
    # the model's voltage of each OpenDSS node: per phase where the formulation has phases,
    # else the bus's (balanced) voltage
    model_vm = np.tile(np.nan, (len(data.horizon.index), len(names)))
    if res_bus_phase is not None and len(res_bus_phase):
        col = "vm_model_pu" if "vm_model_pu" in res_bus_phase else "vm_pu"
        wide = res_bus_phase[col].unstack(["bus", "phase"])
        keys = pd.MultiIndex.from_arrays([[bus_lower[b] for b in node_bus], node_num])
        model_vm = wide.reindex(columns=keys).to_numpy()
    else:
        model_vm = vm_socp[socp_cols].to_numpy()
    # the case's own limits per node (bus overrides by name)
    vmin_node = np.full(len(names), float(data.vmin_pu))
    vmax_node = np.full(len(names), float(data.vmax_pu))
    for bus, (lo_v, hi_v) in dict(data.bus_v_limits).items():
        hit = node_bus == str(bus).lower()
        vmin_node[hit], vmax_node[hit] = lo_v, hi_v

    # rated lines: OpenDSS's phase currents at the sending end against max_i_a
    rated = feeder.line[feeder.line.max_i_a.notna() & feeder.line.closed.astype(bool)]
    rated_names = [f"Line.{n}" for n in rated.index]
    rated_phases = [len(str(n).split(".")) for n in rated.from_nodes]
    rated_amps = rated.max_i_a.to_numpy(float)

    rows, vm_all = [], []
    t0 = time.perf_counter()
    # OpenDSS takes powers element by element through its API (no array setter): the loops
    # below run over elements and periods by necessity, about 3 ms per period on IEEE 123
    for k, t in enumerate(progress.bar(times, desc="OpenDSS replay", unit="period")):
        for i, name in enumerate(load_names):
            dss.Loads.Name(name)
            dss.Loads.kW(float(p0[i] * mult[i, k]))
            dss.Loads.kvar(float(q0[i] * mult[i, k]))
        for i, u in enumerate(der_units.index):
            dss.Generators.Name(f"gv2g_der_{u}")
            dss.Generators.kW(float(der_p[i, k]))
            dss.Generators.kvar(float(der_q[i, k]))
        for i, s in enumerate(slots.index):
            dss.Loads.Name(f"gv2g_slot_{s}")
            dss.Loads.kW(float(st_p[i, k]))
            dss.Loads.kvar(float(st_q[i, k]))
        dss.Solution.Solve()
        if not dss.Solution.Converged():
            raise RuntimeError(f"OpenDSS did not converge at {t}")
        volts = np.asarray(dss.Circuit.AllBusVolts()).reshape(-1, 2)
        vm = np.hypot(volts[:, 0], volts[:, 1]) / base
        vm_all.append(vm)
        socp = model_vm[k]
        dv = np.nan_to_num(np.abs(vm - socp))
        dv[~inner] = 0.0
        over = inner & ((vm > vmax_node + VOLTAGE_TOL_PU) | (vm < vmin_node - VOLTAGE_TOL_PU))
        lo = int(np.argmin(np.where(inner, vm, np.inf)))
        worst = int(np.argmax(dv))
        worst_loading, amp_over, amp_at = np.nan, 0, ""
        for name, n_ph, amps in zip(rated_names, rated_phases, rated_amps, strict=True):
            dss.Circuit.SetActiveElement(name)
            current = max(dss.CktElement.CurrentsMagAng()[0 : 2 * n_ph : 2])
            loading = 100.0 * current / amps
            if not loading <= worst_loading:  # also replaces the initial NaN
                worst_loading, amp_at = loading, name
            amp_over += int(current > amps + AMPACITY_TOL_A)
        frame = pd.DataFrame({"bus": node_bus[inner], "vm": vm[inner]})
        spread = frame.groupby("bus").vm.agg(lambda v: v.max() - v.min())
        power = dss.Circuit.TotalPower()
        rows.append(
            {
                "time": t,
                "losses_socp_kw": float(loss_socp[t]),
                "losses_opendss_kw": dss.Circuit.Losses()[0] / 1000.0,
                "substation_socp_kw": float(res_ext_grid.p_kw.loc[t]),
                "substation_opendss_kw": -power[0],
                "vmin_socp_pu": float(vm_socp.loc[t].drop(feeder.source.bus.iloc[0]).min()),
                "vmin_opendss_pu": float(vm[lo]),
                "vmin_opendss_at": f"{node_bus[lo]}.{node_num[lo]}",
                "vmax_opendss_pu": float(vm[inner].max()),
                "voltage_violations": int(over.sum()),
                "max_loading_percent": float(worst_loading),
                "max_loading_at": amp_at,
                "ampacity_violations": amp_over,
                "max_dv_pu": float(dv[worst]),
                "max_dv_at": f"{node_bus[worst]}.{node_num[worst]}",
                "max_unbalance_pu": float(spread.max()),
            }
        )
    seconds = time.perf_counter() - t0
    periods = pd.DataFrame(rows).set_index("time")
    periods["losses_error_percent"] = (
        100.0 * (periods.losses_socp_kw - periods.losses_opendss_kw) / periods.losses_opendss_kw
    )
    res_node = pd.DataFrame(
        {"vm_pu": np.concatenate(vm_all)},
        index=pd.MultiIndex.from_arrays(
            [
                np.repeat(times, len(names)),
                np.tile(node_bus, len(times)),
                np.tile(node_num, len(times)),
            ],
            names=["time", "bus", "node"],
        ),
    )
    hours = data.horizon.hours
    summary = {
        "periods": len(periods),
        "losses_socp_kwh": float(periods.losses_socp_kw.sum() * hours),
        "losses_opendss_kwh": float(periods.losses_opendss_kw.sum() * hours),
        "substation_socp_kwh": float(periods.substation_socp_kw.sum() * hours),
        "substation_opendss_kwh": float(periods.substation_opendss_kw.sum() * hours),
        "vmin_socp_pu": float(periods.vmin_socp_pu.min()),
        "vmin_opendss_pu": float(periods.vmin_opendss_pu.min()),
        "vmax_opendss_pu": float(periods.vmax_opendss_pu.max()),
        # the case's own limits, per phase node and period (tolerance VOLTAGE_TOL_PU)
        "voltage_violations": int(periods.voltage_violations.sum()),
        # rated lines (loading NaN on a feeder without ratings); a limit of the case only
        # where the case enforces ampacity
        "rated_lines": len(rated_names),
        "max_loading_percent": float(periods.max_loading_percent.max()),
        "ampacity_violations": int(periods.ampacity_violations.sum()),
        "limits_ok": bool(
            periods.voltage_violations.sum() == 0
            and (not data.ampacity or periods.ampacity_violations.sum() == 0)
        ),
        "max_dv_pu": float(periods.max_dv_pu.max()),
        "max_unbalance_pu": float(periods.max_unbalance_pu.max()),
        "replay_s": seconds,
    }
    summary["losses_error_percent"] = (
        100.0
        * (summary["losses_socp_kwh"] - summary["losses_opendss_kwh"])
        / summary["losses_opendss_kwh"]
    )
    return OpenDSSReport(
        periods=periods,
        res_node=res_node,
        summary=summary,
        limits=(float(data.vmin_pu), float(data.vmax_pu)),
        source_bus=source_bus,
    )
