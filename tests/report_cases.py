"""Small variants of the shipped cases, one per kind of report (grid balanced with a fleet,
IEEE 123 with DER, unbalanced IEEE 123, station LP, MPC, stochastic, V2A), solved and written
to a folder with ``report.html`` as ``gridv2g run`` writes it (grid results with their AC
replays). A new kind of report is one more entry in :data:`REPORT_KINDS`."""

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
    case = small_case(kind, **names)
    result = g.solve(case)
    replays = [g.validate(result, engine=engine) for engine in REPORT_KINDS[kind][2]]
    if not replays:
        result.to_dir(folder)
        return folder
    write_tables(folder, result.tables, result.summary, "parquet")
    write_html(folder, result, replays=replays)
    return folder
