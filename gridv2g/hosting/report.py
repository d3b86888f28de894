"""``report.html`` of a hosting study: the summary, the capacity per site and policy, the
smart / uncontrolled ratios, the binding limits (at the reported size and one step above),
failed searches with their errors, and the figures (:mod:`gridv2g.hosting.plots`), each
rendered once for its PNG file and the page."""

from __future__ import annotations

from pathlib import Path

from gridv2g.hosting.plots import figure_set
from gridv2g.hosting.study import MAIN_COLUMNS
from gridv2g.report import Page

#: columns of the binding-limit table on the page (every column: hosting.csv)
LIMIT_COLUMNS = [
    c for c in MAIN_COLUMNS if c not in ("bus", "phases", "exhausted", "evaluations", "seconds")
]


def write_page(result, folder) -> Path:
    """Write the PNG figures and ``report.html`` of ``result`` (a
    :class:`~gridv2g.hosting.study.HostingResult`) into ``folder``; returns the page."""
    folder = Path(folder)
    s = result.summary
    page = Page(str(s.get("case", "hosting")), f"{s.get('feeder', '')} | EV hosting capacity")
    page.section("Summary")
    page.summary(s)
    table = result.res_hosting
    ok = table[table.status == "ok"] if "status" in table else table
    if len(ok):
        page.section("Hosting capacity")
        wide = ok.pivot_table(index="site", columns="policy", values="max_evs", aggfunc="first")
        censored = ok[ok.censored.fillna(False).astype(bool)] if "censored" in ok else ok[:0]
        page.table(wide, "Largest hosted fleet [EVs] per site and charging policy")
        if len(censored):
            page.text(
                f"{len(censored)} capacities reached the search ceiling "
                f"({s.get('max_evs_searched')} EVs): at least that many; their ratios are "
                "lower bounds.",
                cls="warn",
            )
        if len(result.ratio):
            page.table(result.ratio, "Smart over uncontrolled capacity per site [EVs / EVs]")
        page.section("Binding limits")
        page.text(
            "binding_*: the limit at the reported size (the one the next step breaks, else "
            "the one whose no-fleet headroom the fleet used most); over_*: what breaks one "
            "step above, found by its AC replay or the solver's diagnosis."
        )
        page.table(ok[[c for c in LIMIT_COLUMNS if c in ok]], "One row per site and policy")
    failed = table[table.status != "ok"] if "status" in table else table[:0]
    if len(failed):
        page.section("Failed searches")
        page.text(f"{len(failed)} of {len(table)} searches failed", cls="warn")
        cols = [c for c in ("site", "policy", "status", "error") if c in failed]
        page.table(failed[cols], "Failed searches and their errors")
    figures = figure_set(result)
    if figures:
        page.section("Figures")
        page.figures(figures, folder)
    return page.write(folder / "report.html")
