"""The OpenDSS engine as gridv2g drives it, public in one place: the shared engine instance
(:func:`dss`), one command with errors raised (:func:`run_command`) and a model compiled from
a master file (:func:`compile_model`), and the element a replay puts a device on
(:func:`device_element`). Import, export, solve and replay all go through these."""

import math

from gridv2g.feeders.opendss_import import _dss as dss
from gridv2g.feeders.opendss_import import compile_model, run_command

__all__ = ["compile_model", "device_element", "dss", "run_command"]


def device_element(kind: str, name: str, bus: str, feeder, nodes=None, conn="wye") -> str:
    """``New`` command of a 0 kW ``Load`` or ``Generator`` (model 1: constant P and Q, a
    load down to 0.5 pu) on ``bus``, on ``nodes`` (``"2"``, ``"1.2.3"``; None: every phase
    of the bus) in ``conn`` (wye or delta): where a replay sets a device's power per period.
    A single-phase wye element takes the line-to-neutral kV, a two-node delta is one phase."""
    nodes = str(feeder.bus.at[bus, "nodes"] if nodes is None else nodes)
    conn = conn or "wye"
    n = len(nodes.split("."))
    vn = float(feeder.bus.at[bus, "vn_kv"])
    kv = vn / math.sqrt(3.0) if (n == 1 and conn == "wye") else vn
    phases = 1 if (conn == "delta" and n == 2) else n
    limits = " vminpu=0.5 vmaxpu=1.5" if kind == "Load" else ""
    return (
        f"New {kind}.{name} bus1={bus}.{nodes} phases={phases} conn={conn} kv={kv:.12g} "
        f"kw=0 kvar=0 model=1{limits}"
    )
