"""Figures of the AC replays of a grid plan: pandapower's (balanced, SOCP vs AC per period) and
OpenDSS's (the unbalanced feeder, phase voltages). Drawn from the replay reports' tables only;
object-oriented matplotlib."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gridv2g.plots.common import (
    limit_line,
    shade_periods,
    time_axis,
)
from gridv2g.plots.feeder_figures import PHASE_COLOURS, voltage_panels


def validation_figure(report) -> Figure:
    """pandapower replay: SOCP against AC losses [kW] per period, the largest |V_SOCP - V_AC|
    [pu] per period against the tolerance (log scale), and the lowest and highest AC bus
    voltage [pu] (the source bus left out) against the case's limits; flagged periods
    shaded."""
    periods = report.periods
    tol = report.summary.get("tolerances", {})
    flagged = periods.flagged.astype(bool)
    fig = Figure(figsize=(10, 8), layout="constrained")
    ax_l, ax_dv, ax_v = fig.subplots(3, 1, sharex=True)
    ax_l.plot(periods.index, periods.losses_socp_kw, drawstyle="steps-post", label="SOCP plan")
    ax_l.plot(
        periods.index, periods.losses_ac_kw, drawstyle="steps-post", ls="--", label="AC power flow"
    )
    ax_l.set_ylabel("losses [kW]")
    ax_l.set_title(
        f"losses: SOCP {report.summary['losses_socp_kwh']:.6g} kWh, "
        f"AC {report.summary['losses_ac_kwh']:.6g} kWh "
        f"(tolerance {tol.get('loss_percent', float('nan')):g} % per period)"
    )
    floor = 1e-12  # |dV| of an exact relaxation is at the solver's resolution; log axis
    ax_dv.semilogy(
        periods.index,
        np.maximum(periods.max_dv_pu.to_numpy(float), floor),
        drawstyle="steps-post",
        color="tab:purple",
        label="largest |V_SOCP - V_AC|",
    )
    limit_line(ax_dv, tol.get("v_pu"), f"tolerance {tol.get('v_pu', 0):g} pu")
    ax_dv.set_ylabel("voltage difference [pu]")
    ax_dv.set_title(f"largest voltage difference per period (values below {floor:g} drawn at it)")
    vm = report.res_bus_ac.vm_pu.unstack("bus")
    source = getattr(report, "source_bus", "")
    if source in vm:
        vm = vm.drop(columns=source)
    ax_v.plot(vm.index, vm.min(axis=1), color="tab:red", label="lowest AC bus voltage")
    ax_v.plot(vm.index, vm.max(axis=1), color="tab:blue", label="highest AC bus voltage")
    limits = getattr(report, "limits", None)
    if limits is not None:
        limit_line(ax_v, limits[0], f"limits {limits[0]:g} / {limits[1]:g} pu")
        limit_line(ax_v, limits[1])
    ax_v.set_ylabel("voltage [pu]")
    ax_v.set_title(
        "AC bus voltages"
        + (f" (source bus {source} left out)" if source else "")
        + f": {report.summary.get('voltage_violations', 0)} bus-periods outside the limits"
    )
    n = int(flagged.sum())
    for ax in (ax_l, ax_dv, ax_v):
        shade_periods(ax, flagged, "flagged period")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax_v.margins(y=0.15)
    time_axis(ax_v)
    fig.suptitle(f"AC replay in pandapower: {n} of {len(periods)} periods flagged")
    return fig


def opendss_violations(report) -> pd.Series:
    """Bool by period: the OpenDSS replay finds a phase voltage outside the case's limits or
    a rated line above its ampacity."""
    periods = report.periods
    over = periods.voltage_violations > 0
    if "ampacity_violations" in periods:
        over |= periods.ampacity_violations > 0
    return over


def _phase_frame(report) -> pd.DataFrame:
    """(time x (bus, node)) OpenDSS phase voltages [pu], the source bus left out."""
    vm = report.res_node.vm_pu
    source = str(getattr(report, "source_bus", "")).lower()
    if source:
        vm = vm[vm.index.get_level_values("bus") != source]
    return vm.unstack(["bus", "node"])


def opendss_phase_figure(report) -> Figure:
    """OpenDSS replay: per phase, the lowest and highest phase voltage [pu] over the feeder's
    nodes (the source bus left out) per period against the case's limits; the model's losses
    against OpenDSS's [kW]; periods outside the limits shaded."""
    wide = _phase_frame(report)
    over = opendss_violations(report)
    fig = Figure(figsize=(10, 7), layout="constrained")
    ax_v, ax_l = fig.subplots(2, 1, sharex=True, height_ratios=[1.6, 1])
    nodes = wide.columns.get_level_values("node")
    for phase in sorted(set(nodes)):
        cols = wide.loc[:, nodes == phase]
        colour = PHASE_COLOURS.get(int(phase), "0.3")
        ax_v.plot(cols.index, cols.min(axis=1), color=colour, label=f"phase {phase}: lowest")
        ax_v.plot(
            cols.index, cols.max(axis=1), color=colour, ls="-.", label=f"phase {phase}: highest"
        )
    limits = getattr(report, "limits", None)
    if limits is not None:
        limit_line(ax_v, limits[0], f"limits {limits[0]:g} / {limits[1]:g} pu")
        limit_line(ax_v, limits[1])
    s = report.summary
    ax_v.set_ylabel("phase voltage [pu]")
    ax_v.set_title(
        f"phase voltages: lowest {s['vmin_opendss_pu']:.4f} pu, highest "
        f"{s['vmax_opendss_pu']:.4f} pu; {s['voltage_violations']} node-periods outside "
        "the limits"
    )
    ax_v.margins(y=0.15)
    periods = report.periods
    ax_l.plot(periods.index, periods.losses_socp_kw, drawstyle="steps-post", label="model")
    ax_l.plot(
        periods.index, periods.losses_opendss_kw, drawstyle="steps-post", ls="--", label="OpenDSS"
    )
    ax_l.set_ylabel("losses [kW]")
    ax_l.set_title(
        f"losses: model {s['losses_socp_kwh']:.6g} kWh, OpenDSS {s['losses_opendss_kwh']:.6g} kWh"
    )
    for ax in (ax_v, ax_l):
        shade_periods(ax, over, "voltage or ampacity outside limits")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    time_axis(ax_l)
    fig.suptitle("AC replay in OpenDSS on the unbalanced feeder")
    return fig


def opendss_heatmap(report) -> Figure:
    """OpenDSS replay: bus x time phase voltage [pu], one panel per phase (grey: the bus has
    no such phase), buses in OpenDSS's order (from the source outwards as the model lists
    them), the source bus left out; the case's limits dashed on the colour bar."""
    wide = _phase_frame(report)
    phases = sorted(set(wide.columns.get_level_values("node")))
    buses = list(dict.fromkeys(wide.columns.get_level_values("bus")))
    return voltage_panels(
        {
            f"phase {phase}": wide.xs(phase, level="node", axis=1).reindex(columns=buses).T
            for phase in phases
        },
        getattr(report, "limits", None),
        ylabel="bus (OpenDSS's order)",
        colour_label="phase voltage [pu]",
        title="OpenDSS phase voltage per bus and period (grey: no such phase)",
    )
