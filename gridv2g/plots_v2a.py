"""Compatibility path: the V2A figures live in :mod:`gridv2g.plots.v2a`."""

from gridv2g.plots.v2a import *  # noqa: F403
from gridv2g.plots.v2a import DISCHARGE_COLUMNS, STATUS_COLORS  # noqa: F401
