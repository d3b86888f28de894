"""Matplotlib figures of results, drawn from their tables only (no solver objects, no
inputs): grid, station and V2A results. Object-oriented matplotlib throughout: functions
return ``Figure`` objects and never switch the global backend or touch pyplot's state."""

from gridv2g.plots.grid import (
    fleet_on_feeder,
    grid_figure_set,
    save,
    substation_and_voltage,
    uncontrolled_vs_optimized,
)
from gridv2g.plots.maps import feeder_map
from gridv2g.plots.station import station_figure_set, station_power
