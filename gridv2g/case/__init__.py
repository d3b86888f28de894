"""Case files: YAML validated once at load time against a schema with units and defaults, and
turned into the inputs the problems consume.

A case says which problem to solve (``problem``: a grid co-optimization by default, station
scheduling, two-stage stochastic station scheduling or a V2A site; :data:`CASE_KINDS`) and
gives every input. :mod:`~gridv2g.case.specs` holds the schemas, :mod:`~gridv2g.case.load`
reads and validates files (unknown fields rejected with the valid ones listed, file and line
named, YAML loaded safely), :mod:`~gridv2g.case.build` turns a case into
:mod:`gridv2g.inputs` data. ``gridv2g schema`` prints the JSON Schema.
"""

from gridv2g.case.build import (
    fleet_data,
    grid_data,
    horizon_of,
    load_feeder_spec,
    profile_frame,
    sessions_of,
    station_data,
    station_spec_and_prices,
    stochastic_data,
    v2a_data,
    v2a_profile,
)
from gridv2g.case.load import (
    CASE_KINDS,
    case_from_dict,
    case_schema,
    expand_shorthands,
    load_case,
    output_folder,
)
from gridv2g.case.specs import *  # noqa: F403
from gridv2g.case.specs import (
    SEED002_HOUSEHOLD_BILL_PU,
    Case,
    CaseError,
    StationCase,
    StochasticCase,
    V2ACase,
)
