"""The OpenDSS engine as gridv2g drives it, public in one place: the shared engine instance
(:func:`dss`), one command with errors raised (:func:`run_command`) and a model compiled from
a master file (:func:`compile_model`). Import, export, solve and replay all go through these."""

from gridv2g.feeders.opendss_import import _dss as dss
from gridv2g.feeders.opendss_import import compile_model, run_command

__all__ = ["compile_model", "dss", "run_command"]
