"""Files of a siting run beside its tables (``gridv2g site``): PNG figures
(:mod:`gridv2g.plots.siting`) and one self-contained ``report.html``
(:class:`gridv2g.report.Page`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gridv2g.plots.siting import per_site_figures, shared_figures
from gridv2g.report import Page


def _feeder(case):
    from gridv2g.case import grid_data

    return grid_data(case).feeder


def write_per_site(folder, result, case) -> Path:
    """PNG figures and ``report.html`` of a per-site siting result
    (:class:`~gridv2g.siting.SitingResult`) of ``case`` in ``folder``; returns the report."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    currency = case.currency
    figures = per_site_figures(result, _feeder(case), currency, case.name)
    page = Page(case.name, f"{case.description} | siting ({case.siting.method})")
    page.section("Summary")
    ev = result.evaluations
    summary = {
        **{k: v for k, v in result.cost.items()},
        "decisions_solved": len(ev),
        "decisions_infeasible": int((~ev.feasible.astype(bool)).sum()),
    }
    page.summary(summary, currency)
    page.table(result.best, "Chosen sites (bus, converter rating s_kva [kVA])")
    page.section("Figures")
    page.figures(figures, folder)  # the PNG files from the same rendering
    page.section("Decisions solved")
    page.table(
        ev.sort_values("total", kind="stable"), f"Every distinct decision (money in {currency})"
    )
    return page.write(folder / "report.html")


def write_shared(folder, result, case, lots: pd.DataFrame) -> Path:
    """PNG figures and ``report.html`` of a shared-fleet siting result
    (:class:`~gridv2g.siting.swarm.SharedSitingResult`) of ``case`` in ``folder``; ``lots``:
    the candidate lots (index = lot, column ``bus``). Returns the report's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    currency = case.currency
    figures = shared_figures(result, _feeder(case), lots, currency, case.name)
    f = result.figures
    page = Page(case.name, f"{case.description} | shared-fleet siting (PSO)")
    page.section("Summary")
    page.summary({k: v for k, v in f.items() if not isinstance(v, dict | list)}, currency)
    page.table(result.best, "Chosen plan: EVs per lot and type, capacity [kW], capacity ratio")
    page.section("Figures")
    page.figures(figures, folder)  # the PNG files from the same rendering
    page.section("Full evaluations")
    page.table(result.verified, f"OpenDSS-closed evaluations (money in {currency})")
    page.section("Screening")
    screened = result.screening.sort_values("cost", kind="stable")
    page.table(screened, f"Distinct decisions screened, best first (money in {currency})")
    return page.write(folder / "report.html")
