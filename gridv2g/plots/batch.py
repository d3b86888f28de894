"""Figures of a scenario batch (:func:`gridv2g.batch.run_batch`'s summary table): key figures
of the finished scenarios against the first varied field, one line per combination of the
other varied fields, failed scenarios marked where they would be."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gridv2g.plots.common import titled
from gridv2g.units import unit_of

#: summary figures drawn when a batch has them, in this order (at most :data:`MAX_PANELS`)
KEY_FIGURES = (
    "cost",
    "term_energy_cost",
    "losses_kwh",
    "vmin_pu",
    "peak_kw",
    "ev_shortfall_kwh",
    "shortfall_kwh",
    "savings_vs_uncontrolled_percent",
    "ac_max_dv_pu",
    "objective",
    "solve_s",
)
MAX_PANELS = 6


def key_figures(table: pd.DataFrame) -> list[str]:
    """The :data:`KEY_FIGURES` of ``table`` with a finite value in a finished scenario."""
    ok = table[table.status == "ok"] if "status" in table else table
    out = []
    for name in KEY_FIGURES:
        if name in ok:
            values = pd.to_numeric(ok[name], errors="coerce")
            if np.isfinite(values.to_numpy(float)).any():
                out.append(name)
    return out[:MAX_PANELS]


def _positions(values: pd.Series) -> tuple[np.ndarray, list | None]:
    """x positions of a varied field's values: the numbers themselves, or category indices
    (with their tick labels) for anything else."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(float), None
    labels = list(dict.fromkeys(values.astype(str)))
    return values.astype(str).map(labels.index).to_numpy(float), labels


def sweep(
    table: pd.DataFrame, varied: list[str], currency: str = "currency units", name: str = ""
) -> Figure:
    """Each key figure [its unit] of the finished scenarios against the first varied field;
    one line per combination of the other varied fields; failed scenarios as red crosses
    at the bottom of every panel (their x value), named in the figure's legend."""
    figures = key_figures(table)
    x_field = varied[0]
    others = list(varied[1:])
    n = max(len(figures), 1)
    cols = 2 if n > 1 else 1
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(5.2 * cols, 3.3 * rows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    status = table.status if "status" in table else pd.Series("ok", index=table.index)
    ok = table[status == "ok"]
    failed = table[status != "ok"]
    x_all, ticks = _positions(table[x_field])
    x_of = pd.Series(x_all, index=table.index)
    groups = ok.groupby(others, sort=True) if others else [((), ok)]
    for ax, figure in zip(axes, figures, strict=False):
        for key, group in groups:
            key = key if isinstance(key, tuple) else (key,)
            label = ", ".join(f"{f} = {v}" for f, v in zip(others, key, strict=True)) or "all"
            order = x_of[group.index].sort_values()
            values = pd.to_numeric(group.loc[order.index, figure], errors="coerce")
            ax.plot(order.to_numpy(), values.to_numpy(float), marker="o", ms=4, label=label)
        if len(failed):
            bottom = ax.get_ylim()[0]
            ax.plot(
                x_of[failed.index].to_numpy(),
                np.full(len(failed), bottom),
                "x",
                color="red",
                ms=9,
                mew=2,
                label=f"failed ({len(failed)})",
            )
        unit = unit_of(figure, currency) or ("objective units" if figure == "objective" else "-")
        ax.set_ylabel(f"{figure} [{unit}]")
        ax.set_xlabel(x_field)
        if ticks is not None:
            ax.set_xticks(range(len(ticks)), ticks)
        ax.set_title(figure, fontsize=10)
        ax.legend(fontsize=7)
    for ax in axes[len(figures) :]:
        ax.set_visible(False)
    if not figures:
        axes[0].set_visible(True)
        axes[0].text(0.5, 0.5, "no finished scenario", ha="center", va="center")
        axes[0].set_title("nothing to draw")
        axes[0].set_xlabel(x_field)
        axes[0].set_ylabel("[-]")
    done = f"{len(ok)} of {len(table)} scenarios finished"
    fig.suptitle(titled(name, f"scenario batch: key figures vs {x_field} ({done})"))
    return fig


def figure_set(
    table: pd.DataFrame, varied: list[str], currency: str = "currency units", name: str = ""
) -> dict[str, Figure]:
    """{file stem: Figure} of a batch: ``batch_sweep`` (:func:`sweep`)."""
    return {"batch_sweep": sweep(table, varied, currency, name)}
