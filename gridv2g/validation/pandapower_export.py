"""Export an optimized schedule as a pandapower time-series package a planner runs without gridv2g.

:func:`export_pandapower_timeseries` writes a folder:

- ``net.json``: the balanced feeder as the AC replay solves it (:func:`replay_network`), written
  by pandapower's own ``to_json``: each feeder load as a constant-power load named
  ``load_<bus>`` (the optimizer's and the replay's load model: ZIP shares set to zero), each
  DER unit as a static generator ``der_<unit>``, each station slot (fleet slots included) as a
  load ``station_<slot>``, the ext_grid at the case's source voltage [pu];
- ``profiles.csv``: one row per period, ``time`` (ISO) and one column per controlled element
  and quantity (``<element>_<name>_<p_mw|q_mvar>``) in MW and Mvar: loads at nominal x the
  case's load profile, DER from ``res_der``, stations from ``res_station``;
- ``controls.csv``: column -> (pandapower element table, index in net.json, name, variable);
- ``run_timeseries.py``: :mod:`gridv2g.validation.pandapower_package_script`, copied verbatim
  (``DFData`` + ``ConstControl`` + ``run_timeseries`` + ``OutputWriter`` -> ``res_bus_vm_pu.csv``);
- ``README.txt``: what the folder holds and how to run it.

The elements' sum at each bus is the replay's net demand (``res_bus.p_kw``, ``q_kvar``): a bus
where it is not (a device the export does not know) gets a load ``residual_<bus>`` carrying the
difference, with a warning. :func:`run_pandapower_package` runs a package in this process with
the same code as the script. Nothing is pickled and nothing read back is evaluated.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g.errors import GridV2GWarning
from gridv2g.inputs import load_profile_columns, load_profile_values
from gridv2g.validation import pandapower_package_script as script
from gridv2g.validation.pandapower import numba_compiled, replay_network
from gridv2g.validation.tables import per_element

#: a bus whose elements miss the replay's net demand by more than this [kW, kvar] gets a
#: residual load (1e-6 kW moves no voltage measurably: ~1e-12 pu on IEEE 33)
RESIDUAL_KW = 1e-6

README = """gridv2g schedule as a pandapower time series ({periods} periods of {minutes:g} min)

net.json           pandapower network (pandapower.from_json): balanced feeder, constant-power
                   loads load_<bus>, DER as sgen der_<unit>, stations as load station_<slot>
profiles.csv       one row per period: time, then one column per element and quantity [MW, Mvar]
controls.csv       column -> element table, index in net.json, name, variable
run_timeseries.py  DFData + ConstControl + run_timeseries + OutputWriter; needs pandapower only

Run:  python run_timeseries.py     -> res_bus_vm_pu.csv (time x bus, vm in pu)
"""


def export_pandapower_timeseries(result, directory) -> Path:
    """Write the time-series package of a solved grid ``result`` into ``directory`` (created
    if missing; see the module docstring) and return its path. Profiles in MW and Mvar,
    voltages in pu; running it reproduces :func:`gridv2g.validate`'s AC voltages
    (``res_bus_ac``) to the power flow's tolerance."""
    import pandapower as pp

    data = result.data
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    times = data.horizon.index
    T = len(times)

    net, buses = replay_network(data.feeder, data.v_source_pu)
    net.load.drop(net.load.index, inplace=True)  # the replay's per-bus loads: rebuilt by device
    lookup = dict(zip(net.bus.name.astype(str), net.bus.index, strict=True))
    columns: dict[str, np.ndarray] = {}
    controls: list[dict] = []

    def add(element: str, name: str, bus: str, p_kw: np.ndarray, q_kvar: np.ndarray) -> None:
        create = pp.create_sgen if element == "sgen" else pp.create_load
        index = create(net, lookup[str(bus)], p_mw=0.0, q_mvar=0.0, name=name)
        for variable, values in (("p_mw", p_kw), ("q_mvar", q_kvar)):
            column = f"{name}_{variable}"
            if column in columns:
                raise ValueError(f"export_pandapower_timeseries: two elements named {name!r}")
            columns[column] = values / 1000.0
            controls.append(
                {
                    "column": column,
                    "element": element,
                    "index": int(index),
                    "name": name,
                    "variable": variable,
                }
            )

    pos = {b: i for i, b in enumerate(buses)}
    p_sum = np.zeros((T, len(buses)))
    q_sum = np.zeros((T, len(buses)))

    load = data.feeder.balanced().load
    cols, col_of = load_profile_columns(data.load_scale.columns, load.index)
    mult = load_profile_values(data.load_scale, data.horizon, cols)[col_of].T  # (period x load)
    for k, bus in enumerate(load.index):
        p = load.p_kw.iloc[k] * mult[:, k]
        q = load.q_kvar.iloc[k] * mult[:, k]
        add("load", f"load_{bus}", bus, p, q)
        p_sum[:, pos[str(bus)]] += p
        q_sum[:, pos[str(bus)]] += q

    devices = []  # (element, prefix, units table, result table, level, sign at the bus)
    if data.der is not None and len(data.der.units):
        devices.append(("sgen", "der", data.der.units, result.res_der, "der", -1.0))
    if data.stations is not None and len(data.stations.slots):
        devices.append(("load", "station", data.stations.slots, result.res_station, "station", 1.0))
    for element, prefix, units, table, level, sign in devices:
        p = per_element(table, level, units.index, "p_kw", times).T  # (period x unit)
        q = per_element(table, level, units.index, "q_kvar", times).T
        for k, (unit, bus) in enumerate(units.bus.items()):
            add(element, f"{prefix}_{unit}", bus, p[:, k], q[:, k])
            p_sum[:, pos[str(bus)]] += sign * p[:, k]
            q_sum[:, pos[str(bus)]] += sign * q[:, k]

    # the replay applies res_bus's net demand: whatever the devices above miss stays exact
    p_bus = result.res_bus.p_kw.unstack("bus").reindex(index=times, columns=buses).to_numpy()
    q_bus = result.res_bus.q_kvar.unstack("bus").reindex(index=times, columns=buses).to_numpy()
    dp, dq = p_bus - p_sum, q_bus - q_sum
    missing = np.flatnonzero((np.abs(dp) > RESIDUAL_KW).any(0) | (np.abs(dq) > RESIDUAL_KW).any(0))
    if len(missing):
        names = [buses[i] for i in missing]
        warnings.warn(
            f"export_pandapower_timeseries: loads, DER and stations miss the net demand at "
            f"bus(es) {names[:8]} (up to {np.abs(dp).max():.3g} kW, {np.abs(dq).max():.3g} "
            "kvar); exported as residual_<bus> loads",
            GridV2GWarning,
            stacklevel=2,
        )
        for i in missing:
            add("load", f"residual_{buses[i]}", buses[i], dp[:, i], dq[:, i])

    pp.to_json(net, str(directory / "net.json"))
    profiles = pd.DataFrame(columns)
    profiles.insert(0, "time", [t.isoformat() for t in times])
    profiles.to_csv(directory / "profiles.csv", index=False)
    pd.DataFrame(controls).to_csv(directory / "controls.csv", index=False)
    shutil.copyfile(script.__file__, directory / "run_timeseries.py")
    (directory / "README.txt").write_text(README.format(periods=T, minutes=data.horizon.minutes))
    return directory


def run_pandapower_package(
    directory, write: bool = False, numba: bool | None = None
) -> pd.DataFrame:
    """Run a package of :func:`export_pandapower_timeseries` in this process (the code of its
    ``run_timeseries.py``) and return ``vm_pu`` [pu] as a (time x bus) table, times parsed;
    ``write`` also saves ``res_bus_vm_pu.csv`` in the package as the script does. ``numba=None``
    uses pandapower's numba kernels when they are compiled already or the run repays them."""
    if numba is None and numba_compiled():
        numba = True
    vm = script.run_package(directory, write=write, numba=numba)
    vm.index = pd.DatetimeIndex(pd.to_datetime(vm.index), name="time")
    return vm
