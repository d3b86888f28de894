"""Shared fixtures: small hand-built feeders and the shipped ones (built once per session)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gridv2g as g
from gridv2g.feeders import linecode_matrix_rows

DATA = Path(__file__).parent / "data"


def tiny_tables() -> dict:
    """Tables of a 4-bus, 3-phase radial feeder: s - a - b, a - c (12.47 kV)."""
    z = linecode_matrix_rows("lc3", np.full((3, 3), 0.05) + np.eye(3) * 0.25, np.eye(3) * 0.4)
    return {
        "bus": pd.DataFrame({"name": ["s", "a", "b", "c"], "vn_kv": 12.47, "nodes": "1.2.3"}),
        "linecode": pd.DataFrame({"name": ["lc3"], "n_phases": [3]}),
        "linecode_matrix": z,
        "line": pd.DataFrame(
            {
                "name": ["l1", "l2", "l3"],
                "from_bus": ["s", "a", "a"],
                "to_bus": ["a", "b", "c"],
                "from_nodes": "1.2.3",
                "to_nodes": "1.2.3",
                "linecode": "lc3",
                "length_km": [1.0, 0.5, 0.7],
            }
        ),
        "load": pd.DataFrame(
            {
                "name": ["ld_b", "ld_c"],
                "bus": ["b", "c"],
                "nodes": "1.2.3",
                "vn_kv": 12.47,
                "p_kw": [300.0, 200.0],
                "q_kvar": [100.0, 50.0],
            }
        ),
        "source": pd.DataFrame({"name": ["src"], "bus": ["s"], "vn_kv": [12.47]}),
    }


@pytest.fixture
def tables():
    return tiny_tables()


@pytest.fixture(scope="session")
def ieee33():
    return g.feeders.ieee33()


@pytest.fixture(scope="session")
def ieee123():
    return g.feeders.ieee123()


def ieee13_ev_case(name: str = "ieee13_ev", n_ev: int = 30, periods: int = 24) -> dict:
    """The IEEE 13 case of the unbalanced tests (tests/data/dss/ieee13): ``n_ev`` V2G EVs at
    the single-phase lateral bus 652 (a 300 kVA slot, 250 kW site limits, hard targets),
    ``periods`` x 60 min from 12:00, substation at 0.99 pu (the regulators' fixed taps put
    RG60 above 1.05 at 1.0 pu), voltage band 0.95-1.05, energy cost."""
    return {
        "name": name,
        "feeder": {"opendss": "IEEE13Nodeckt.dss"},
        "base_dir": str(DATA / "dss" / "ieee13"),
        "horizon": {"start": "2024-06-21T12:00", "periods": periods, "minutes": 60},
        "load": {"shape": "residential"},
        "prices": {"shape": "caiso"},
        "stations": [{"name": "lot652", "bus": "652", "s_kva": 300, "fleet": True}],
        "fleet": {
            "sessions": {"sampler": "seed001_lot", "n": n_ev, "seed": 1},
            "sites": [
                {
                    "name": "lot652",
                    "p_import_max_kw": {"constant": 250},
                    "p_export_max_kw": {"constant": 250},
                }
            ],
            "options": {"target": "hard", "v2g": True},
            "degradation_per_kwh": 0.02,
        },
        "options": {"vmin_pu": 0.95, "vmax_pu": 1.05, "v_source_pu": 0.99},
        "objective": {"energy_cost": 1.0},
    }
