"""Results: one base (status, solver, objective, timings, summary, ``res_*`` tables,
``to_dir``) and one type per problem family: grid (:class:`Result`), station
(:class:`StationResult`, also MPC), V2A (:class:`V2AResult`), two-stage stochastic
(:class:`StochasticResult`)."""

from gridv2g.horizon import long_table
from gridv2g.result.base import ResultBase, write_tables
from gridv2g.result.grid import Result, build_result
from gridv2g.result.station import StationResult, baseline, money, station_tables, uncontrolled
