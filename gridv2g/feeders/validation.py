"""Compatibility path: the feeder input checks live in :mod:`gridv2g.feeders.checks`."""

from gridv2g.feeders.checks import *  # noqa: F403
from gridv2g.feeders.checks import normalize_table, parse_nodes  # noqa: F401
