"""Figures of a hosting study (object-oriented matplotlib, no pyplot): capacity per site and
policy as grouped bars, and the feeder map coloured by capacity, one panel per policy."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

#: colours of the policies in every figure
POLICY_COLORS = {
    "uncontrolled": "tab:gray",
    "smart": "tab:blue",
    "smart_v2g": "tab:green",
    "smart_q": "tab:purple",
}


def bar_figure(result) -> Figure:
    """Grouped bars: the largest hosted fleet [EVs] per site (x) and policy (colour); a
    hatched bar is censored (the search's ceiling was hosted: at least that)."""
    table = result.res_hosting
    ok = table[table.status == "ok"]
    sites = list(dict.fromkeys(table.site))
    policies = [p for p in POLICY_COLORS if p in set(table.policy)]
    fig = Figure(figsize=(max(6.0, 1.3 * len(sites) + 2.0), 4.2), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / max(len(policies), 1)
    x = np.arange(len(sites))
    for j, policy in enumerate(policies):
        rows = ok[ok.policy == policy].set_index("site").reindex(sites)
        values = rows.max_evs.to_numpy(float)
        bars = ax.bar(
            x + (j - (len(policies) - 1) / 2) * width,
            np.nan_to_num(values),
            width,
            label=policy,
            color=POLICY_COLORS[policy],
        )
        for bar, censored in zip(bars, rows.censored.fillna(False).astype(bool), strict=True):
            if censored:
                bar.set_hatch("//")
    ax.set_xticks(x, sites, rotation=30 if len(sites) > 6 else 0)
    ax.set_xlabel("site (bus or bus.phase)")
    ax.set_ylabel("hosting capacity [EVs]")
    ax.set_title(f"{result.summary['case']}: largest hosted EV fleet by charging policy")
    ax.legend(
        title="policy\n(hatched: at the\nsearch ceiling)",
        fontsize="small",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    ax.grid(axis="y", alpha=0.3)
    return fig


def map_figures(result) -> list[tuple[str, Figure]]:
    """One figure with a feeder map per policy (:func:`gridv2g.plots.maps.feeder_map`),
    the candidate buses coloured by hosting capacity [EVs] on one colour scale for all
    panels (a bus with several phase sites shows their sum; other buses small and grey)."""
    from gridv2g.plots.maps import feeder_map

    table = result.res_hosting
    ok = table[table.status == "ok"]
    policies = [p for p in POLICY_COLORS if p in set(ok.policy)]
    if not policies:
        return []
    per_bus = ok.groupby(["policy", "bus"]).max_evs.sum().astype(float)
    scale = (0.0, float(per_bus.max()) or 1.0)
    cols = min(len(policies), 2)
    rows = -(-len(policies) // cols)
    fig = Figure(figsize=(7.5 * cols, 5.5 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, policy in zip(axes, policies, strict=False):
        values = per_bus.loc[policy]
        feeder_map(
            result.feeder,
            values,
            ax=ax,
            title=f"{policy}",
            bus_label="hosting capacity [EVs]",
            bus_range=scale,
            annotate=list(values.index),
        )
    for ax in axes[len(policies) :]:
        ax.set_visible(False)
    fig.suptitle(f"{result.summary['case']}: EV hosting capacity per site and charging policy")
    return [("hosting_map", fig)]


def figure_set(result) -> dict[str, Figure]:
    """The figures of a hosting study, {file stem: Figure}: the bars, then the maps."""
    return {"hosting_bars": bar_figure(result), **dict(map_figures(result))}
