"""gridv2g: co-optimize EV charging stations (with V2G) and the distribution feeders they sit on.

The public face::

    import gridv2g as g
    case = g.load_case("cases/ieee33_der.yaml")
    result = g.solve(case)          # result.summary, result.res_bus, result.res_line, ...
    report = g.validate(result)     # AC replay in pandapower
    feeder = g.feeders.ieee123()    # the feeder model: tables, to_opendss, to_pandapower
"""

from __future__ import annotations

from gridv2g import feeders
from gridv2g.api import load_case, schedule_station, solve, validate
from gridv2g.errors import (
    FeederError,
    GridV2GError,
    GridV2GWarning,
    InfeasibleError,
    OpenDSSError,
    SolveError,
)
from gridv2g.version import __version__

__all__ = [
    "FeederError",
    "GridV2GError",
    "GridV2GWarning",
    "InfeasibleError",
    "OpenDSSError",
    "SolveError",
    "__version__",
    "feeders",
    "load_case",
    "schedule_station",
    "solve",
    "validate",
]
