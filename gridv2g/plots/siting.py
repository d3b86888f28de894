"""Figures of siting results (:mod:`gridv2g.siting`), from their tables: the swarm's
convergence, the chosen sites on the feeder map and the cost breakdown of the best decisions.

``per_site_figures`` takes a :class:`~gridv2g.siting.SitingResult` (each fleet site picks a
bus and a converter size), ``shared_figures`` a
:class:`~gridv2g.siting.swarm.SharedSitingResult` (seed 004: 5-8 lots sharing one fleet).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gridv2g.plots.common import titled
from gridv2g.plots.maps import feeder_map

#: decisions shown in a cost breakdown
TOP = 8


def convergence(history: pd.Series, currency: str, what: str, case: str = "") -> Figure:
    """The swarm's best cost [currency] after each iteration (0: the initial swarm)."""
    fig = Figure(figsize=(8, 3.8), layout="constrained")
    ax = fig.subplots()
    values = pd.Series(history, dtype=float)
    ax.step(np.arange(len(values)), values.to_numpy(), where="post", marker="o", ms=4, label=what)
    if len(values):
        ax.axhline(values.iloc[-1], color="0.5", ls=":", lw=1, label=f"final {values.iloc[-1]:.6g}")
    ax.set_xlabel("iteration (0: initial swarm)")
    ax.set_ylabel(f"best cost [{currency}]")
    ax.legend(fontsize=8)
    ax.set_title(titled(case, f"particle swarm convergence: {what}"))
    return fig


def _breakdown(labels, parts: dict[str, np.ndarray], currency: str, title: str) -> Figure:
    """Horizontal stacked bars of cost parts [currency], one bar per decision."""
    fig = Figure(figsize=(9, 1.2 + 0.45 * len(labels)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(labels))
    left = np.zeros(len(labels))
    for k, (name, values) in enumerate(parts.items()):
        values = np.nan_to_num(np.asarray(values, dtype=float))
        ax.barh(y, values, left=left, color=f"C{k}", label=name)
        left += values
    for yk, total in zip(y, left, strict=True):
        ax.text(total, yk, f" {total:.6g}", va="center", fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_ylabel("decision (best first)")
    first = np.nan_to_num(np.asarray(next(iter(parts.values())), dtype=float))
    low, high = (float(first.min()), float(left.max())) if len(left) else (0.0, 1.0)
    if low > 0.5 * high:  # totals close together: zoom in so their differences show
        span = max(high - low, 1e-6 * high)
        ax.set_xlim(low - 0.5 * span, high + 0.35 * span)
        ax.set_xlabel(f"cost per day [{currency}] (axis not from 0)")
    else:
        ax.set_xlim(0, high * 1.18 if high > 0 else 1)
        ax.set_xlabel(f"cost per day [{currency}]")
    ax.legend(
        fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.4 / len(labels)), ncol=2
    )
    ax.set_title(title)
    return fig


# ---------------------------------------------------------------- per-site siting
def per_site_figures(result, feeder, currency: str, case: str = "") -> dict[str, Figure]:
    """{file stem: Figure} of a per-site siting result: ``siting_convergence`` (PSO runs
    only), ``siting_map`` (every candidate bus coloured by the best feasible total cost of a
    decision with a site there [currency/day], the chosen buses annotated) and
    ``siting_costs`` (operating + investment of the best feasible decisions)."""
    figures = {}
    if len(result.history):
        figures["siting_convergence"] = convergence(
            result.history, currency, "best total cost (operating + investment)", case
        )
    ev = result.evaluations
    feasible = ev[ev.feasible.astype(bool)]
    bus_columns = [c for c in ev.columns if c.endswith("_bus")]
    best_at = {}
    for column in bus_columns:
        for bus, total in feasible.groupby(column)["total"].min().items():
            best_at[str(bus)] = min(best_at.get(str(bus), np.inf), float(total))
    chosen = [str(b) for b in result.best.bus]
    sizes = ", ".join(f"{s} at bus {r.bus} ({r.s_kva:g} kVA)" for s, r in result.best.iterrows())
    figures["siting_map"] = feeder_map(
        feeder,
        bus_values=pd.Series(best_at, dtype=float) if best_at else None,
        bus_label=f"best total cost with a site here [{currency}/day]",
        annotate=chosen,
        title=titled(case, f"candidate buses and the chosen sites: {sizes}"),
    )
    top = feasible.sort_values("total", kind="stable").head(TOP)
    size_columns = [c for c in ev.columns if c.endswith("_s_kva")]
    labels = [
        ", ".join(
            f"{b[: -len('_bus')]}: bus {row[b]}, {row[s]:g} kVA"
            for b, s in zip(bus_columns, size_columns, strict=True)
        )
        for _, row in top.iterrows()
    ]
    if len(top):
        figures["siting_costs"] = _breakdown(
            labels,
            {"operating (the day's objective)": top.operating, "investment": top.investment},
            currency,
            titled(case, f"cost of the {len(top)} best feasible decisions (of {len(ev)} solved)"),
        )
    return figures


# ---------------------------------------------------------------- shared-fleet siting
def shared_figures(result, feeder, lots: pd.DataFrame, currency: str, case: str = ""):
    """{file stem: Figure} of a shared-fleet siting result: ``siting_convergence`` (best
    screening cost per generation), ``siting_map`` (each candidate lot's bus coloured by the
    capacity it gets [kW], 0 for lots not opened, the opened ones annotated) and
    ``siting_costs`` (energy and station cost of the fully evaluated decisions, OpenDSS-closed;
    the MILP reference in the title when solved). ``lots``: the candidate lots (index = lot,
    column ``bus``)."""
    figures = {}
    if len(result.history):
        figures["siting_convergence"] = convergence(
            result.history, currency, "best screening cost", case
        )
    capacity = pd.Series(0.0, index=[str(b) for b in lots.bus])
    best = result.best
    for _, row in best.iterrows():
        capacity[str(row.bus)] = capacity.get(str(row.bus), 0.0) + float(row.capacity_kw)
    capacity = capacity.groupby(level=0).max()
    chosen = [str(b) for b in best.bus]
    figures["siting_map"] = feeder_map(
        feeder,
        bus_values=capacity,
        bus_label="station capacity [kW] (0: candidate not opened)",
        annotate=chosen,
        title=titled(case, f"{len(best)} stations opened of {len(lots)} candidate lots"),
    )
    v = result.verified
    if len(v):
        order = v.assign(_c=v.cost.where(v.feasible.astype(bool), np.inf)).sort_values("_c")
        labels = [
            f"{str(d)[:70]}{'...' if len(str(d)) > 70 else ''}" + ("" if ok else " (infeasible)")
            for d, ok in zip(order.decision, order.feasible, strict=True)
        ]
        f = result.figures
        milp = f" ; MILP reference {f['milp_cost']:.6g}" if "milp_cost" in f else ""
        figures["siting_costs"] = _breakdown(
            labels,
            {"energy cost (OpenDSS-closed)": order.energy_cost, "station cost": order.station_cost},
            currency,
            titled(case, f"full evaluation of the best screened decisions{milp}"),
        )
    return figures
