"""Small variants of the shipped cases, one per kind of report (grid balanced with a fleet,
IEEE 123 with DER, unbalanced IEEE 123, station LP, MPC, stochastic, V2A), solved and written
to a folder with ``report.html`` as ``gridv2g run`` writes it (grid results with their AC
replays); and the reports of the other verbs (a tiny hosting study, a scenario batch, both
kinds of siting), built by :data:`BUILT_KINDS`. A new kind of report is one more entry in
:data:`REPORT_KINDS` or :data:`BUILT_KINDS`."""

from __future__ import annotations

from pathlib import Path

import yaml

import gridv2g as g
from gridv2g.case import case_from_dict
from gridv2g.report import write_html
from gridv2g.result.base import write_tables

CASES = Path(__file__).resolve().parent.parent / "cases"

#: kind -> (case file, changes to its fields that keep it small, replays)
REPORT_KINDS = {
    "grid_ieee33_fleet": (
        "ieee33_ev.yaml",
        {
            "horizon": {"start": "2024-06-21T12:00", "periods": 24, "minutes": 60},
            "fleet.sessions.n": 8,
        },
        ("pandapower",),
    ),
    "grid_ieee123_der": (
        "ieee123_der.yaml",
        {"horizon": {"start": "2024-06-21T00:00", "periods": 12, "minutes": 120}},
        ("pandapower", "opendss"),
    ),
    "grid_ieee123_unbalanced": (
        "ieee123_gao2019.yaml",
        {"horizon": {"start": "2024-06-21T06:00", "periods": 24, "minutes": 60}},
        ("opendss",),
    ),
    "station_lp": (
        "station_ports_seed000.yaml",
        {"sessions.n": 8, "options.exclusive": False},  # an LP (exclusive ports: a MILP)
        (),
    ),
    "mpc": (
        "mpc_500ev_seed001.yaml",
        {
            "sessions.n": 10,
            "stations": [
                {
                    "name": "lot",
                    "p_import_max_kw": {"constant": 80},
                    "p_export_max_kw": {"constant": 80},
                }
            ],
            "mpc": {"window": 96, "penalty_per_kwh": 10.0, "compare": True},
        },
        (),
    ),
    "stochastic": (
        "station_stochastic_seed000.yaml",
        {"scenarios.count": 3, "scenarios.mean_evs": 4},
        (),
    ),
    "v2a": ("v2a_household_seed002.yaml", {}, ()),
}


def _hosting(folder: Path) -> Path:
    """A tiny hosting study (test_hosting's IEEE 33 case, buses 18 and 25, up to 20 EVs)."""
    from test_hosting import tiny

    from gridv2g.hosting import run

    raw = tiny(sites=[{"bus": "18"}, {"bus": "25"}], step=10, max_evs=20)
    run(case_from_dict(raw, "tiny_hosting.yaml"), out=folder, workers=1, progress=False)
    return folder


def _batch(folder: Path) -> Path:
    """A scenario batch's page: a sweep table with one failed scenario (its error listed)."""
    import pandas as pd

    from gridv2g.batch import SweepSpec, write_report

    rows = []
    for n in (10, 20, 30):
        failed = n == 30
        rows.append(
            {
                "fleet.sessions.n": n,
                "status": "error" if failed else "ok",
                "error": "InfeasibleError: EV ev007 cannot reach its target" if failed else None,
                "losses_kwh": None if failed else 1000.0 + n,
                "vmin_pu": None if failed else 0.95 - n / 1000,
                "seconds": 1.0,
            }
        )
    table = pd.DataFrame(rows, index=[f"n={r['fleet.sessions.n']}" for r in rows])
    spec = SweepSpec(name="tiny_sweep", base="ieee33_ev.yaml", vary={"fleet.sessions.n": [10]})
    folder.mkdir(parents=True, exist_ok=True)
    write_report(folder, table, spec, "EUR")
    return folder


def _siting(folder: Path) -> Path:
    """A per-site siting page (IEEE 33 case, a small hand-made set of decisions)."""
    import pandas as pd

    from gridv2g.siting import SitingResult
    from gridv2g.siting.report import write_per_site

    case = g.load_case(CASES / "ieee33_ev_siting.yaml")
    evaluations = pd.DataFrame(
        {
            "lot18_bus": ["18", "30", "6"],
            "lot18_s_kva": [250.0, 250.0, 150.0],
            "operating": [2735.0, 2728.6, 2740.0],
            "investment": [12.5, 12.5, 7.5],
            "feasible": [True, True, True],
        }
    )
    evaluations["total"] = evaluations.operating + evaluations.investment
    result = SitingResult(
        best=pd.DataFrame({"bus": ["30"], "s_kva": [250.0]}, index=pd.Index(["lot18"])),
        cost={"total": 2741.1, "operating": 2728.6, "investment": 12.5, "feasible": True},
        evaluations=evaluations,
        history=pd.Series([2747.5, 2741.1, 2741.1]),
    )
    write_per_site(folder, result, case)
    return folder


#: kind -> builder(folder) of the reports written by other verbs than ``run``
BUILT_KINDS = {"hosting": _hosting, "batch": _batch, "siting": _siting}


def small_case(kind: str, name: str | None = None, description: str | None = None):
    """The case of report ``kind``, made small; ``name`` / ``description`` replace its own."""
    path, changes, _ = REPORT_KINDS[kind]
    raw = yaml.safe_load((CASES / path).read_text())
    raw["base_dir"] = str(CASES)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = raw
        for key in parents:
            node = node[key]
        node[leaf] = value
    if name is not None:
        raw["name"] = name
    if description is not None:
        raw["description"] = description
    return case_from_dict(raw, path)


def write_report(kind: str, folder: Path, **names) -> Path:
    """Solve ``kind``'s small case and write its folder as ``gridv2g run`` leaves it
    (tables, PNG figures, ``report.html`` with the replays; the figures drawn once, by
    ``write_html``, where there are replays); returns the folder."""
    if kind in BUILT_KINDS:
        return BUILT_KINDS[kind](folder)
    case = small_case(kind, **names)
    result = g.solve(case)
    replays = [g.validate(result, engine=engine) for engine in REPORT_KINDS[kind][2]]
    if not replays:
        result.to_dir(folder)
        return folder
    write_tables(folder, result.tables, result.summary, "parquet")
    write_html(folder, result, replays=replays)
    return folder
