"""Run a hosting study: one search per (site, policy), through the batch engine's runners.

Each (site, policy) search is one task for :mod:`gridv2g.parallel` (local worker processes
by default, a Dask cluster on request), given the case as plain data (a mapping, validated
again where it runs) and returning a plain row. Each finished row is written at once to
``OUT/hosting/<site>__<policy>.json`` (atomically, :mod:`gridv2g.store`), with the hash of
its inputs (the case mapping and the files it names, the site, the policy, the solver, the
gridv2g version); a rerun skips rows finished with the same hash and retries failed ones
(``resume=False`` recomputes all). A task that fails is recorded with its error and the
others go on; one that kills its worker process fails alone.
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gridv2g import store
from gridv2g.case import CaseError, case_from_dict, expand_shorthands, load_case, output_folder
from gridv2g.case.build import load_feeder_spec
from gridv2g.case.yamlio import load_yaml_file
from gridv2g.errors import GridV2GError
from gridv2g.hosting.policies import POLICIES, SiteStudy
from gridv2g.hosting.search import largest_hosted
from gridv2g.hosting.sites import Site, resolve_sites
from gridv2g.parallel import DaskRunner, ProcessRunner, WorkerLost

log = logging.getLogger(__name__)

#: columns of the hosting table shown first (every column: :func:`search_task`)
MAIN_COLUMNS = [
    "site",
    "bus",
    "phases",
    "policy",
    "max_evs",
    "max_kw",
    "peak_kw",
    "censored",
    "binding_kind",
    "binding_element",
    "binding_time",
    "binding_value",
    "binding_limit",
    "binding_source",
    "exhausted",
    "over_evs",
    "over_kind",
    "over_element",
    "over_time",
    "over_value",
    "over_limit",
    "evaluations",
    "seconds",
]


def search_task(raw: dict, label: str, root, lift: bool, site: dict, policy: str, solver) -> dict:
    """One (site, policy) search, run in a worker; never raises: a failure is a row with
    ``status="error"`` and the error's text.

    Row: ``site, bus, phases, policy``; ``max_evs`` (largest hosted fleet [EVs]), ``max_kw``
    (sum of those EVs' charger ratings [kW]), ``peak_kw`` (the fleet's peak net import in
    the policy's plan at that size [kW]), ``energy_kwh`` (its net energy [kWh]);
    ``censored`` (the search's ceiling ``max_evs`` is hosted: the capacity is at least
    that); ``base_ok`` (the feeder without EVs meets its limits); ``binding_*`` (the limit
    that binds at ``max_evs``: kind, element, time, value, limit, relative margin, and
    ``binding_source``, how it was found: :func:`binding_limit`); ``exhausted`` (the limits
    whose no-fleet headroom the fleet used up at ``max_evs``, 95 % or more: the binding set,
    :func:`gridv2g.hosting.verify.exhausted`);
    ``over_*`` (the check one step above: evs, hosted, kind, element, time, value, limit,
    margin, reason); every field of both checks as ``at_*`` and ``over_*``;
    ``evaluations`` and ``checked`` (sizes evaluated, ``+`` hosted / ``-`` not, in order);
    ``formulation``, ``engine`` (pandapower or opendss), ``warnings`` (how many the search
    raised, e.g. solver accuracy) and ``first_warning``, ``seconds``."""
    t0 = time.perf_counter()
    row: dict = {"site": site["name"], "bus": site["bus"], "phases": site["phases"]}
    row["policy"] = policy
    try:
        case = case_from_dict(raw, label, root=root, lift_limits=lift)
        study = SiteStudy(case, Site(**site), policy, solver)
        step, k_max = case.hosting.step, case.hosting.max_evs // case.hosting.step
        # a search solves a dozen problems, some near the feeder's limits where the solver
        # may warn of an inaccurate solution: every plan is judged in AC anyway, so the
        # warnings go into the row (count and first text) instead of the terminal
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # temporary folders the closing loop's replays leave to the collector: noise
            warnings.simplefilter("ignore", ResourceWarning)
            found = largest_hosted(lambda k: study.check(k * step), k_max)
        row["warnings"] = len(caught)
        row["first_warning"] = str(caught[0].message) if caught else ""
        at, over = found.at, found.above
        row.update(
            {
                "status": "ok",
                "max_evs": found.k * step,
                "max_kw": at.charger_kw,
                "peak_kw": at.peak_kw if found.k else 0.0,
                "energy_kwh": at.energy_kwh if found.k else 0.0,
                "censored": found.censored,
                "base_ok": bool(found.checks[0].hosted) if 0 in found.checks else True,
                "formulation": study.formulation,
                "engine": "pandapower" if study.formulation == "balanced_socp" else "opendss",
                "evaluations": len(found.checks),
                "checked": ",".join(
                    f"{k * step}{'+' if c.hosted else '-'}" for k, c in found.checks.items()
                ),
            }
        )
        lim, source = binding_limit(at, over)
        row.update(
            {
                "binding_kind": lim.kind,
                "binding_element": lim.element,
                "binding_time": lim.time,
                "binding_value": lim.value,
                "binding_limit": lim.limit,
                "binding_margin": lim.margin,
                "binding_source": source,
                "exhausted": at.exhausted,
            }
        )
        row.update(at.as_dict("at"))
        if over is not None:
            row.update(over.as_dict("over"))
            row.update({f"over_{k}": v for k, v in (("kind", over.limit.kind),)})
        else:
            row.update({"over_evs": None, "over_hosted": None, "over_kind": "ceiling"})
    except Exception as exc:  # the study keeps going: the failure is this row's result
        row["status"] = "error"
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc(limit=6)
    row["seconds"] = time.perf_counter() - t0
    return row


def binding_limit(at, over) -> tuple:
    """The limit that binds at the reported size ``at`` (a Check) and how it was found:

    - ``violated above``: the limit the next step breaks in AC, read at the reported size;
    - ``diagnosed above``: the limit the next step's infeasibility diagnosis names, read at
      the reported size;
    - ``headroom used``: otherwise (the next step fails without naming an element of the
      replay, or the size is the search's ceiling), the limit whose headroom the fleet used
      most (:func:`gridv2g.hosting.verify.judge`)."""
    from gridv2g.hosting.verify import limit_at

    if over is not None and at.replayed is not None and over.limit.element:
        kind = over.limit.kind.removeprefix("infeasible_")
        found = limit_at(at.replayed, kind, over.limit.element)
        if found is not None:
            source = "diagnosed above" if over.limit.kind.startswith("infeasible") else None
            return found, source or "violated above"
    return at.limit, "headroom used"


@dataclass
class HostingResult:
    """``res_hosting``: one row per (site, policy) (:func:`search_task`; main columns first);
    ``ratio``: per site, each smart policy's hosting capacity over the uncontrolled one [EVs
    / EVs]; ``summary``: case, feeder, policies, sites, rows ok and failed, ``wall_s``, the
    definitions of the columns' units; ``feeder``: the feeder (for the map)."""

    res_hosting: pd.DataFrame
    ratio: pd.DataFrame
    summary: dict
    feeder: object = None
    figures: list = field(default_factory=list)

    def to_dir(self, folder, figures: bool = True) -> Path:
        """Write ``hosting.parquet`` and ``.csv``, ``ratio.csv`` and ``.parquet``,
        ``hosting.json`` (the summary) and, with ``figures``, the PNG figures
        (:mod:`gridv2g.hosting.plots`) and ``report.html`` (:mod:`gridv2g.hosting.report`)
        into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        table = self.res_hosting
        store.write_atomically(folder / "hosting.csv", lambda p: table.to_csv(p, index=False))
        flat = table.astype({c: str for c in table.columns if table[c].dtype == object})
        store.write_atomically(folder / "hosting.parquet", lambda p: flat.to_parquet(p))
        store.write_atomically(folder / "ratio.csv", self.ratio.to_csv)
        store.write_atomically(folder / "ratio.parquet", self.ratio.to_parquet)
        text = json.dumps(self.summary, indent=2, default=str) + "\n"
        store.write_atomically(folder / "hosting.json", lambda p: p.write_text(text))
        if figures:  # the PNG figures and report.html
            from gridv2g.hosting.report import write_page

            write_page(self, folder)
            self.figures = sorted(folder.glob("hosting_*.png"))
        return folder


def ratio_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per site, each smart policy's ``max_evs`` over the uncontrolled one (NaN where the
    uncontrolled capacity is 0 or a row failed); a ``>=`` sign is not kept: a censored
    capacity makes its ratio a lower bound (see the ``censored`` column)."""
    ok = table[table.status == "ok"]
    if ok.empty or "uncontrolled" not in set(ok.policy):
        return pd.DataFrame()
    wide = ok.pivot_table(index="site", columns="policy", values="max_evs", aggfunc="first")
    unc = wide["uncontrolled"].where(wide["uncontrolled"] > 0)
    out = pd.DataFrame(index=wide.index)
    for policy in POLICIES:
        if policy != "uncontrolled" and policy in wide:
            out[f"{policy}_over_uncontrolled"] = wide[policy] / unc
    return out


def _raw_of(case_or_path, allow_outside: bool):
    """(case, raw mapping, label, root) of a case file or a loaded Case."""
    if isinstance(case_or_path, str | Path):
        path = Path(case_or_path)
        case = load_case(path, allow_outside=allow_outside)
        raw, _ = load_yaml_file(path)
        raw = expand_shorthands(raw)
        raw.setdefault("base_dir", str(path.resolve().parent))
        root = None if allow_outside else str(path.resolve().parent)
        return case, raw, path.name, root
    case = case_or_path
    raw = case.model_dump(mode="json", by_alias=True, exclude_unset=True)
    raw["base_dir"] = case.base_dir
    return case, raw, case.name, case._root


def run(
    case_or_path,
    out=None,
    workers: int | None = None,
    dask: bool = False,
    address: str | None = None,
    resume: bool = True,
    progress: bool = True,
    allow_outside: bool = False,
    lift_limits: bool = False,
    solver: str | None = None,
    dashboard_address: str | None = "127.0.0.1:8787",
    figures: bool = True,
) -> HostingResult:
    """Hosting capacity of every site under every policy of a case's ``hosting`` section;
    rows kept in ``out/hosting/`` as they finish (default ``out/<case>_hosting``), the table,
    ratios, summary and figures written to ``out``. See the module docstring."""
    t0 = time.perf_counter()
    case, raw, label, root = _raw_of(case_or_path, allow_outside)
    if case.hosting is None:
        raise CaseError(f"case '{case.name}' has no hosting section")
    feeder = load_feeder_spec(case)
    sites = resolve_sites(case.hosting, feeder, case.name)
    folder = Path(out) if out else output_folder(Path("out"), f"{case.name}_hosting")
    rows_dir = folder / "hosting"
    rows_dir.mkdir(parents=True, exist_ok=True)
    tasks = []
    for site in sites:
        for policy in case.hosting.policies:
            tid = f"{site.key}__{policy}"
            site_dict = {"name": site.name, "bus": site.bus, "phases": site.phases}
            digest = store.input_hash(raw, {"site": site_dict, "policy": policy, "solver": solver})
            tasks.append((tid, site_dict, policy, digest))
    ids = [t[0] for t in tasks]
    if len(set(ids)) != len(ids):
        raise CaseError(f"case '{case.name}': two sites share a file name: {sorted(ids)}")
    todo = [t for t in tasks if not (resume and store.done(rows_dir / f"{t[0]}.json", t[3]))]
    by_id = {t[0]: t for t in tasks}
    log.info("hosting '%s': %d searches, %d to run", case.name, len(tasks), len(todo))

    def keep(tid, row) -> None:
        row = {**row, "id": tid, "input_hash": by_id[tid][3]}
        store.write_row(rows_dir / f"{tid}.json", row)
        bar.update()

    def lost(tid, result) -> None:
        if isinstance(result, WorkerLost):
            _, site_dict, policy, _ = by_id[tid]
            result = {
                "site": site_dict["name"],
                "bus": site_dict["bus"],
                "phases": site_dict["phases"],
                "policy": policy,
                "status": "error",
                "error": result.reason,
            }
        keep(tid, result)

    bar = store.progress(len(todo), f"hosting {case.name}", "search", progress)
    calls = [(t[0], (raw, label, root, lift_limits, t[1], t[2], solver)) for t in todo]
    if calls:
        n_workers = workers or os.cpu_count() or 1
        if dask or address:
            try:
                runner = DaskRunner(address, workers, dashboard_address)
            except GridV2GError as exc:
                raise CaseError(str(exc)) from None
            with runner:
                runner.run(search_task, calls, lost)
        elif n_workers == 1:  # no process pool: easier to debug, same rows
            for tid, args in calls:
                lost(tid, search_task(*args))
        else:
            with ProcessRunner(min(n_workers, len(calls))) as runner:
                runner.run(search_task, calls, lost)
    bar.close()
    rows = [json.loads((rows_dir / f"{t[0]}.json").read_text()) for t in tasks]
    table = pd.DataFrame(rows)
    table = table.drop(columns=["traceback"], errors="ignore")
    first = [c for c in MAIN_COLUMNS if c in table]
    table = table[first + [c for c in table.columns if c not in first]]
    ratio = ratio_table(table)
    failed = table[table.status != "ok"]
    summary = {
        "case": case.name,
        "feeder": feeder.name,
        "sites": [s.name for s in sites],
        "policies": list(case.hosting.policies),
        "step_evs": case.hosting.step,
        "max_evs_searched": case.hosting.max_evs,
        "searches": len(table),
        "ok": int(len(table) - len(failed)),
        "failed": len(failed),
        "ran_now": len(todo),
        "folder": str(folder),
        # the searches' own seconds (kept in their rows, so resumed runs still say it)
        "search_seconds_sum": float(table.seconds.sum()),
        "wall_s": time.perf_counter() - t0,
        "units": {
            "max_evs": "EVs: the largest fleet on the step grid whose plan is hosted",
            "max_kw": "kW: sum of the charger ratings of those EVs",
            "peak_kw": "kW: the fleet's peak net import in the policy's plan at max_evs",
            "binding_value": "pu for voltage limits, A for ampacity",
            "binding_margin": "relative to the limit; negative when violated",
        },
    }
    if len(ratio):
        summary["ratio_mean"] = {c: float(ratio[c].mean()) for c in ratio}
    result = HostingResult(table, ratio, summary, feeder)
    result.to_dir(folder, figures=figures)
    summary["wall_s"] = time.perf_counter() - t0  # figures included
    store.write_atomically(
        folder / "hosting.json",
        lambda p: p.write_text(json.dumps(summary, indent=2, default=str) + "\n"),
    )
    return result
