"""Feeders: the engineering model, the shipped IEEE feeders, OpenDSS import and export.

- :class:`Feeder`: multi-phase tables in engineering units, validated at construction.
- :func:`ieee33`, :func:`ieee123`: the shipped feeders; :data:`SHIPPED` lists them.
- :func:`from_opendss`: any radial OpenDSS model; ``Feeder.to_opendss`` writes one back.
- ``Feeder.balanced()``: the single-phase equivalent the SOCP uses; ``to_pandapower()``.
"""

from __future__ import annotations

from gridv2g.feeders.balanced import BalancedFeeder
from gridv2g.feeders.library import (
    IEEE123_FIXED_TAPS,
    SHIPPED,
    ieee33,
    ieee123,
    load_feeder,
    networks_dir,
)
from gridv2g.feeders.model import Feeder, linecode_matrix_rows
from gridv2g.feeders.opendss_import import from_opendss
from gridv2g.feeders.opendss_solve import OpenDSSSolution, solve_opendss

__all__ = [
    "IEEE123_FIXED_TAPS",
    "SHIPPED",
    "BalancedFeeder",
    "Feeder",
    "OpenDSSSolution",
    "from_opendss",
    "ieee33",
    "ieee123",
    "linecode_matrix_rows",
    "load_feeder",
    "networks_dir",
    "solve_opendss",
]
