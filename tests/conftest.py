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
