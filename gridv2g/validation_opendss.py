"""Compatibility path: the OpenDSS replay lives in :mod:`gridv2g.validation.opendss`."""

from gridv2g.validation.opendss import *  # noqa: F403
from gridv2g.validation.opendss import OpenDSSReport, load_multipliers  # noqa: F401
