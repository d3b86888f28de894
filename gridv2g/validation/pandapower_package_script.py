"""Run a gridv2g schedule as a pandapower time series (written by gridv2g as run_timeseries.py).

Needs pandapower, pandas and numpy only. Run it in the package folder::

    python run_timeseries.py            # writes res_bus_vm_pu.csv next to net.json

The folder holds ``net.json`` (pandapower's ``to_json``: the balanced feeder, one constant-power
load per loaded bus, one static generator per DER unit, one load per station slot, the source
voltage), ``profiles.csv`` (one row per period: ``time`` and one column per controlled element
and quantity, in MW and Mvar, pandapower's signs: loads consume, sgens generate) and
``controls.csv`` (which column drives which element: ``column``, ``element`` table, ``index``
in net.json, ``name``, ``variable``).

Every (element table, variable) pair gets one ``ConstControl`` over a ``DFData`` of the profiles;
``run_timeseries`` solves every period with :func:`run_powerflow` (Newton-Raphson to 1e-9 MVA,
each period from the previous solution; a continuation step for near-ideal regulators) and an
``OutputWriter`` logs ``res_bus.vm_pu``. The result, ``res_bus_vm_pu.csv``, has one row per
period (``time``) and one column per bus (pandapower's bus names) in pu.

This file is a copy of ``gridv2g/validation/pandapower_package_script.py``: gridv2g's
``run_pandapower_package`` runs the same :func:`run_package`. Its :func:`run_powerflow`
repeats ``gridv2g.feeders.pandapower_bridge.run_powerflow`` on purpose: the package runs
with pandapower alone, without gridv2g installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

#: Newton-Raphson tolerance [MVA] (gridv2g's AC replay uses the same)
TOLERANCE_MVA = 1e-9
#: transformer short-circuit voltage [%] of the continuation step of :func:`run_powerflow`
CONTINUATION_VK_PERCENT = 0.1
#: the output: one row per period, one column per bus, vm_pu
OUTPUT = "res_bus_vm_pu.csv"
#: bus-periods above which compiling pandapower's numba kernels (~2.3 s) pays off
NUMBA_WORTH_BUS_PERIODS = 65_000


def run_powerflow(net, **kwargs) -> None:
    """``pandapower.runpp`` of one period, as gridv2g's replay solves it.

    The first period starts from pandapower's ``init="auto"``, later ones from the previous
    solution. A regulator (a transformer with an off-nominal ratio and almost no impedance)
    can make Newton-Raphson diverge: then the period is solved first with every transformer's
    ``vk_percent`` raised to at least 0.1 % and re-solved on the true network from there, so
    the answer is the true network's solution."""
    import pandapower as pp

    kwargs.pop("recycle", None)  # run_control's hints: every period is solved in full
    kwargs.pop("only_v_results", None)
    init = "results" if net.converged and len(net.res_bus) else "auto"
    options = {"tolerance_mva": TOLERANCE_MVA, "init": init, **kwargs}
    try:
        pp.runpp(net, **options)
        return
    except pp.LoadflowNotConverged:
        if net.trafo.empty:
            raise
    vk = net.trafo["vk_percent"].copy()
    vkr = net.trafo["vkr_percent"].copy()
    scale = (CONTINUATION_VK_PERCENT / vk).clip(lower=1.0)
    net.trafo["vk_percent"] = vk * scale
    net.trafo["vkr_percent"] = vkr * scale
    try:
        pp.runpp(net, **options)
    finally:
        net.trafo["vk_percent"] = vk
        net.trafo["vkr_percent"] = vkr
    pp.runpp(net, **{**options, "init": "results", "max_iteration": 30})


def run_package(directory=".", write: bool = True, numba: bool | None = None) -> pd.DataFrame:
    """Load the package in ``directory``, run every period and return ``vm_pu`` [pu] as a
    (time x bus name) table; with ``write`` also save it as ``res_bus_vm_pu.csv`` there.
    ``numba=None`` uses pandapower's numba kernels only when the run repays compiling them
    (more than ``NUMBA_WORTH_BUS_PERIODS`` bus-periods); the solution is the same either way."""
    import pandapower as pp
    from pandapower.control import ConstControl
    from pandapower.timeseries import DFData, OutputWriter, run_timeseries

    directory = Path(directory)
    net = pp.from_json(str(directory / "net.json"))
    profiles = pd.read_csv(directory / "profiles.csv", float_precision="round_trip")
    controls = pd.read_csv(directory / "controls.csv")
    times = profiles.pop("time")
    data = DFData(profiles)  # rows 0..T-1 are the time steps
    for (element, variable), rows in controls.groupby(["element", "variable"], sort=False):
        ConstControl(
            net,
            element=element,
            variable=variable,
            element_index=rows["index"].tolist(),
            data_source=data,
            profile_name=rows["column"].tolist(),
        )
    steps = range(len(profiles))
    writer = OutputWriter(net, steps, output_path=None, log_variables=[("res_bus", "vm_pu")])
    if numba is None:
        numba = len(net.bus) * len(steps) > NUMBA_WORTH_BUS_PERIODS
    run_timeseries(net, time_steps=steps, run=run_powerflow, verbose=False, numba=numba)
    vm = writer.output["res_bus.vm_pu"]
    vm = vm.reindex(index=list(steps), columns=net.bus.index)
    vm.columns = net.bus.name.astype(str).to_numpy()
    vm.index = pd.Index(times, name="time")
    if write:
        vm.to_csv(directory / OUTPUT)
    return vm


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    result = run_package(folder)
    print(f"{len(result)} periods x {result.shape[1]} buses -> {folder / OUTPUT}")
