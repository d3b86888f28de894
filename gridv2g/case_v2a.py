"""Compatibility path: V2A case files are one case kind of :mod:`gridv2g.case`."""

from gridv2g.case import SEED002_HOUSEHOLD_BILL_PU, V2ACase, v2a_data, v2a_profile  # noqa: F401
from gridv2g.case.specs import (  # noqa: F401
    V2AObjectiveSpec,
    V2AOptionsSpec,
    V2APricesSpec,
    V2AProfileSpec,
    V2ASiteSpec,
    V2ASolverSpec,
)
