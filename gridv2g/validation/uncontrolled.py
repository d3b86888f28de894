"""Uncontrolled charging against the optimized plan, both on the full feeder in OpenDSS.

Seed 004 (Gao, Wu & Xu 2019, Sect. 5.2, Figs. 4-7) compares the stations' uncontrolled
charging (every EV at full power from arrival until its target: :func:`uncontrolled`) with
the optimized plan: cost, losses, load curve and phase voltages. :func:`compare_uncontrolled`
replays both in OpenDSS with the stations on their phases (and the DER at the plan's output),
so the two columns are measured the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridv2g.feeders.phase_model import build_phase_model
from gridv2g.inputs import placement
from gridv2g.result.station import baseline
from gridv2g.validation.opendss import load_multipliers
from gridv2g.validation.tables import per_element


def _devices(data):
    """Buses, phases, connections of the DER (generation) then the station slots."""
    buses, phases, conn = [], [], []
    for devices, table in ((data.der, "units"), (data.stations, "slots")):
        if devices is not None:
            b, ph, cn = placement(getattr(devices, table))
            buses, phases, conn = buses + b, phases + ph, conn + cn
    return buses, phases, conn


def compare_uncontrolled(result, nodes=()) -> dict:
    """Replay ``result``'s plan and the uncontrolled charging of its fleet in OpenDSS.

    ``nodes``: ``(bus, phase)`` pairs whose voltage to tabulate (e.g. seed 004's
    ``[("31", 3), ("107", 2)]``). Returns ``summary`` (a DataFrame, columns ``uncontrolled``
    and ``optimized``: cost, substation energy and peak, losses, lowest and highest phase
    voltage, node-periods outside the case's limits), ``load`` (time x {uncontrolled,
    optimized}) substation kW, and ``voltage`` (time x (bus.phase, case)) pu.
    """
    from gridv2g.model.unbalanced_closing import OpenDSSPhaseReplay

    data = result.data
    if data.fleet is None:
        raise ValueError("compare_uncontrolled needs a grid result with an EV fleet")
    times = data.horizon.index
    T = len(times)
    pm = build_phase_model(data.feeder, data.s_base_kva)
    buses, phases, conn = _devices(data)
    devices = pm.connect(buses, phases, conn) if buses else None
    replay = OpenDSSPhaseReplay(pm, devices, v_source_pu=data.v_source_pu)
    mult = load_multipliers(data)

    der_names = data.der.units.index if data.der is not None else []
    slots = data.stations.slots
    der_p = -per_element(result.res_der, "der", der_names, "p_kw", times)
    der_q = -per_element(result.res_der, "der", der_names, "q_kvar", times)
    st_p = per_element(result.res_station, "station", slots.index, "p_kw", times)
    st_q = per_element(result.res_station, "station", slots.index, "q_kvar", times)
    # uncontrolled: the fleet stations' slots draw the baseline's net import, no reactive
    base = baseline(data.fleet)["net"]
    sites = list(data.fleet.stations.stations.index)
    st_unc = st_p.copy()
    for k, site in enumerate(sites):
        st_unc[slots.index.get_loc(site)] = np.asarray(base)[k]
    q_unc = np.where(np.isin(slots.index, sites)[:, None], 0.0, st_q)
    price = data.price_per_kwh.reindex(times).to_numpy(float)
    h = data.horizon.hours
    lo = pm.node_values({b: v[0] for b, v in data.bus_v_limits.items()}, data.vmin_pu)
    hi = pm.node_values({b: v[1] for b, v in data.bus_v_limits.items()}, data.vmax_pu)
    out, load, voltage = {}, {}, {}
    for case, (sp, sq) in {"uncontrolled": (st_unc, q_unc), "optimized": (st_p, st_q)}.items():
        rep = replay.run(mult, np.vstack([der_p, sp]), np.vstack([der_q, sq]), periods=T)
        inner = np.isin(rep.node_model, np.flatnonzero(pm.inner_nodes))
        nm = np.maximum(rep.node_model, 0)
        vm = rep.vm_node[inner]
        broken = (vm > hi[nm[inner], None] + 1e-6) | (vm < lo[nm[inner], None] - 1e-6)
        out[case] = {
            "cost": float(price @ rep.substation_kw * h),
            "substation_kwh": float(rep.substation_kw.sum() * h),
            "peak_kw": float(rep.substation_kw.max()),
            "losses_kwh": float(rep.losses_kw.sum() * h),
            "vmin_pu": float(vm.min()),
            "vmax_pu": float(vm.max()),
            "voltage_violations": int(broken.sum()),
            "stations_peak_kw": float(sp[np.isin(slots.index, sites)].sum(axis=0).max()),
        }
        load[case] = rep.substation_kw
        pos = {n: i for i, n in enumerate(rep.node_names)}
        for bus, phase in nodes:
            voltage[(f"{bus}.{phase}", case)] = rep.vm_node[pos[f"{str(bus).lower()}.{phase}"]]
    index = pd.Index(times, name="time")
    return {
        "summary": pd.DataFrame(out),
        "load": pd.DataFrame(load, index=index),
        "voltage": pd.DataFrame(voltage, index=index),
    }
