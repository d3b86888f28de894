"""Figures of the stations and EVs of a grid result: each station's active and reactive power
against its converter rating and import / export limits, and the energy of a sample of EVs
against their targets. Object-oriented matplotlib only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from gridv2g.plots.common import LIMIT_STYLE, evenly, period_edges, shade_periods, time_axis

#: most stations drawn in one figure (the ones with most energy; the title says so)
MAX_STATIONS = 6
#: most EVs drawn in one figure (the title says how they were chosen)
MAX_EVS = 12


def station_limits(result, station: str) -> dict[str, pd.Series | float]:
    """The limits of ``station`` in the case: ``s_kva`` (converter rating [kVA]: |P|, |Q| and
    sqrt(P^2 + Q^2) are within it), and where the case sets them, ``p_import_max_kw`` and
    ``p_export_max_kw`` (fleet site limits, per period [kW]) or ``p_min_kw`` / ``p_max_kw``
    (bounds of a variable slot, per period [kW])."""
    data = result.data
    out: dict[str, pd.Series | float] = {}
    if data is None or data.stations is None:
        return out
    slots = data.stations
    if station in slots.slots.index:
        out["s_kva"] = float(slots.slots.s_kva[station])
    fleet_slot = "fleet" in slots.slots and bool(slots.slots.fleet.get(station, False))
    for key, frame in (("p_min_kw", slots.p_min_kw), ("p_max_kw", slots.p_max_kw)):
        if frame is not None and station in frame and not fleet_slot:  # fleet: +-s_kva
            out[key] = frame[station]
    fleet = data.fleet
    if fleet is not None:
        spec = fleet.stations
        for key in ("p_import_max_kw", "p_export_max_kw"):
            frame = getattr(spec, key)
            if station in frame:
                out[key] = frame[station]
    return out


def _steps(ax, series: pd.Series, **style) -> None:
    """A per-period quantity as steps over whole periods (the last period drawn too)."""
    edges = period_edges(series.index)
    values = np.append(series.to_numpy(float), series.to_numpy(float)[-1])
    ax.step(edges, values, where="post", **style)


def stations_against_limits(result, flagged: pd.Series | None = None) -> Figure:
    """One panel per station (at most :data:`MAX_STATIONS`): net import P [kW] and reactive
    power Q [kvar] per period against the converter rating +-S [kVA] and the case's import
    (and, with V2G, export) limits [kW], all dashed."""
    table = result.res_station
    p = table.p_kw.unstack("station").astype(float)
    q = table.q_kvar.unstack("station").astype(float)
    energy = p.abs().sum().sort_values(ascending=False)
    names = list(energy.index[:MAX_STATIONS])
    order = list(dict.fromkeys(table.index.get_level_values("station")))  # the case's order
    names = [n for n in order if n in names]
    n = len(names)
    cols = 1 if n == 1 else 2
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(12 if cols == 2 else 10, 2.9 * rows + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, squeeze=False).ravel())
    for ax, name in zip(axes, names, strict=False):
        lim = station_limits(result, name)
        bus = table.bus.xs(name, level="station").iloc[0]
        _steps(ax, p[name], color="tab:blue", lw=1.6, label="P net import [kW]")
        _steps(ax, q[name], color="tab:green", lw=1.2, label="Q [kvar]")
        if "s_kva" in lim:
            s = lim["s_kva"]
            ax.axhline(s, color="0.3", ls="--", lw=1.0, label="converter rating ±S [kVA]")
            ax.axhline(-s, color="0.3", ls="--", lw=1.0)
        if "p_import_max_kw" in lim:
            _steps(ax, lim["p_import_max_kw"], **LIMIT_STYLE, label="import limit [kW]")
        if "p_export_max_kw" in lim and (lim["p_export_max_kw"] > 0).any():
            _steps(
                ax, -lim["p_export_max_kw"], **{**LIMIT_STYLE, "ls": ":"}, label="export limit [kW]"
            )
        for key, ls in (("p_max_kw", "--"), ("p_min_kw", ":")):
            if key in lim:
                label = f"slot {key[2:5]} [kW]"
                _steps(ax, lim[key], **{**LIMIT_STYLE, "ls": ls}, label=label)
        shade_periods(ax, flagged)
        ax.axhline(0.0, color="0.6", lw=0.6)
        rating = f", converter {lim['s_kva']:g} kVA" if "s_kva" in lim else ""
        ax.set_title(f"station {name} at bus {bus}{rating}")
        ax.set_ylabel("kW / kvar")
        ax.grid(alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax in axes[max(0, n - cols) : n]:  # the lowest panel of each column
        ax.xaxis.set_tick_params(labelbottom=True)
        time_axis(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:n]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), fontsize=8)
    shown = f" ({n} of {p.shape[1]} with most energy)" if p.shape[1] > n else ""
    fig.suptitle(f"Station power against its limits{shown}")
    return fig


def ev_sample(result, n: int = MAX_EVS) -> list[str]:
    """At most ``n`` EVs to draw: every EV with a shortfall first (worst first), then EVs
    evenly spaced in arrival order."""
    summary = result.res_ev_summary
    short = summary.shortfall_kwh[summary.shortfall_kwh > 1e-3].sort_values(ascending=False)
    chosen = list(short.index[:n])
    sessions = _sessions(result)
    rest = [e for e in summary.index if e not in chosen]
    if sessions is not None:
        rest = list(sessions.reindex(rest).sort_values("arrival", kind="stable").index)
    return chosen + evenly(rest, n - len(chosen))


def _sessions(result) -> pd.DataFrame | None:
    fleet = getattr(result.data, "fleet", None)
    return None if fleet is None else fleet.sessions


def ev_energy(result, flagged: pd.Series | None = None, n: int = MAX_EVS) -> Figure:
    """Energy stored [kWh] of a sample of EVs (:func:`ev_sample`) while plugged in, from
    arrival to departure (end-of-period values), each target a cross at its departure."""
    chosen = ev_sample(result, n)
    e = result.res_ev.e_kwh.unstack("ev")
    plugged = result.res_ev.plugged.unstack("ev").astype(bool)
    end = e.index + pd.Timedelta(minutes=result.data.horizon.minutes)
    summary = result.res_ev_summary
    sessions = _sessions(result)
    fig = Figure(figsize=(11, 5.2), layout="constrained")
    ax = fig.subplots()
    tab20 = colormaps["tab20"].colors
    colours = [tab20[i] for i in [*range(0, 20, 2), *range(1, 20, 2)]][: len(chosen)]
    colours += ["0.4"] * (len(chosen) - len(colours))
    for ev, colour in zip(chosen, colours, strict=True):
        mask = plugged[ev].to_numpy()
        if not mask.any():
            continue
        first = int(np.argmax(mask))
        start = e.index[first]
        xs = [start, *end[mask]]
        ys = [summary.e_arrival_kwh[ev], *e[ev].to_numpy()[mask]]
        ax.plot(xs, ys, color=colour, lw=1.4, label=f"{ev} ({summary.station[ev]})")
        depart = end[mask][-1]
        if sessions is not None and ev in sessions.index:
            depart = min(pd.Timestamp(sessions.departure[ev]), end[-1])
        ax.plot([depart], [summary.e_target_kwh[ev]], "x", color=colour, ms=9, mew=2)
    ax.plot([], [], "x", color="0.3", ms=9, mew=2, label="target at departure")
    shade_periods(ax, flagged)
    time_axis(ax)
    ax.set_ylabel("energy stored [kWh]")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    total = len(summary)
    missed = int((summary.shortfall_kwh > 1e-3).sum())
    how = f"{len(chosen)} of {total}" + (", shortfalls first" if missed else "")
    how = "all" if len(chosen) == total else how + ", the rest evenly by arrival"
    ax.set_title(
        f"EV energy while plugged in ({how}); {missed} of {total} EVs short of target"
        if missed
        else f"EV energy while plugged in ({how}); every EV at its target"
    )
    return fig
