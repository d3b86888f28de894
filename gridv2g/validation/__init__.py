"""Replays of optimized schedules on the full network, reading result tables and inputs only:
AC power flow of the balanced equivalent in pandapower (:mod:`gridv2g.validation.pandapower`)
and the unbalanced feeder in OpenDSS (:mod:`gridv2g.validation.opendss`); exports of a
schedule as a daily-mode OpenDSS run (:mod:`gridv2g.validation.opendss_daily`) and as a
pandapower time-series package (:mod:`gridv2g.validation.pandapower_export`)."""

from gridv2g.validation.opendss import OpenDSSReport, replay_opendss, validate_opendss
from gridv2g.validation.opendss_daily import export_opendss_daily, write_opendss_daily
from gridv2g.validation.pandapower import (
    NUMBA_WORTH_BUS_PERIODS,
    ValidationReport,
    numba_compiled,
    replay,
    replay_network,
    use_numba,
    validate,
)
from gridv2g.validation.pandapower_export import (
    export_pandapower_timeseries,
    run_pandapower_package,
)
from gridv2g.validation.uncontrolled import compare_uncontrolled
