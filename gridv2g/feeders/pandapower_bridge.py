"""pandapower network of a balanced feeder: the AC power flow gridv2g validates with.

Buses keep their feeder names (``net.bus.name``), in feeder order; lines become pandapower
lines of 1 km with the branch's ohmic values, switches become closed bus-bus switches,
transformer branches become two-winding transformers whose rated voltages carry the fixed
off-nominal ratio, loads keep their ZIP shares, capacitors become shunts. The source is an
ext_grid at its per-unit voltage (its tiny Thevenin impedance, if any, is not modelled).
"""

from __future__ import annotations

import numpy as np

#: pandapower needs an ampacity; this stands for "unknown" (as in pandapower's own case33bw)
UNLIMITED_KA = 99999.0

#: reactance given to a purely resistive line (a jumper written ``r1=1e-3 x1=0`` as in IEEE 37):
#: pandapower's DC initialisation divides by the reactance. 1e-9 ohm moves no result measurably.
MIN_LINE_X_OHM = 1e-9


def to_pandapower(balanced):
    """Build a ``pandapowerNet`` of a :class:`~gridv2g.feeders.BalancedFeeder`."""
    import pandapower as pp

    net = pp.create_empty_network(name=balanced.name, f_hz=balanced.frequency_hz)
    bus = balanced.bus
    index = pp.create_buses(net, len(bus), vn_kv=bus["vn_kv"].to_numpy(), name=list(bus.index))
    lookup = dict(zip(bus.index, index, strict=True))
    src = balanced.source
    pp.create_ext_grid(net, lookup[src["bus"]], vm_pu=src["vm_pu"], va_degree=src["va_degree"])

    br = balanced.branch
    lines = br[br.kind == "line"]
    if len(lines):
        pp.create_lines_from_parameters(
            net,
            from_buses=lines.from_bus.map(lookup).to_numpy(),
            to_buses=lines.to_bus.map(lookup).to_numpy(),
            length_km=1.0,
            r_ohm_per_km=lines.r_ohm.to_numpy(),
            x_ohm_per_km=np.maximum(lines.x_ohm.to_numpy(), MIN_LINE_X_OHM),
            c_nf_per_km=lines.c_nf.to_numpy(),
            max_i_ka=lines.max_i_ka.fillna(UNLIMITED_KA).to_numpy(),
            name=list(lines.index),
        )
    switches = br[br.kind == "switch"]
    if len(switches):
        pp.create_switches(
            net,
            buses=switches.from_bus.map(lookup).to_numpy(),
            elements=switches.to_bus.map(lookup).to_numpy(),
            et="b",
            closed=True,
            name=list(switches.index),
        )
    for name, t in br[br.kind == "transformer"].iterrows():
        vn_hv = bus.vn_kv[t.from_bus]
        vn_lv = bus.vn_kv[t.to_bus] * t.tap  # rated ratio carries the fixed tap
        sn_mva = t.sn_kva / 1000.0
        z_base = vn_lv**2 / sn_mva  # pandapower refers the impedance to the rated lv voltage
        pp.create_transformer_from_parameters(
            net,
            hv_bus=lookup[t.from_bus],
            lv_bus=lookup[t.to_bus],
            sn_mva=sn_mva,
            vn_hv_kv=vn_hv,
            vn_lv_kv=vn_lv,
            vkr_percent=100.0 * t.r_ohm / z_base,
            vk_percent=100.0 * np.hypot(t.r_ohm, t.x_ohm) / z_base,
            pfe_kw=0.0,
            i0_percent=0.0,
            name=name,
        )
    load = balanced.load
    if len(load):
        pp.create_loads(
            net,
            buses=load.index.map(lookup).to_numpy(),
            p_mw=load.p_kw.to_numpy() / 1000.0,
            q_mvar=load.q_kvar.to_numpy() / 1000.0,
            const_z_p_percent=load.const_z_p_percent.to_numpy(),
            const_i_p_percent=load.const_i_p_percent.to_numpy(),
            const_z_q_percent=load.const_z_q_percent.to_numpy(),
            const_i_q_percent=load.const_i_q_percent.to_numpy(),
            name=list(load.index),
        )
    shunt = balanced.shunt
    for b, q in shunt.q_kvar.items():
        pp.create_shunt(net, lookup[b], q_mvar=-q / 1000.0, p_mw=0.0, name=f"cap_{b}")
    return net


#: transformer short-circuit voltage [%] used for the first pass of :func:`run_powerflow`
_CONTINUATION_VK_PERCENT = 0.1


def run_powerflow(net, tolerance_mva: float = 1e-9, **kwargs) -> None:
    """``pandapower.runpp`` that also converges with near-ideal voltage regulators.

    A regulator is a transformer with an off-nominal ratio and an almost zero impedance
    (IEEE 123: 0.01 %). Newton-Raphson from a flat start diverges on such a branch behind a
    line (its pi-model shunts are huge and nearly cancel). If the plain run fails, this solves
    first with every transformer's ``vk_percent`` raised to at least 0.1 %, then re-solves the
    true network from that solution (``init="results"``). The answer is the true network's
    solution; only the starting point differs. Results are in ``net.res_*`` as usual.
    """
    import pandapower as pp

    try:
        pp.runpp(net, tolerance_mva=tolerance_mva, **kwargs)
        return
    except pp.LoadflowNotConverged:
        if net.trafo.empty:
            raise
    vk = net.trafo["vk_percent"].copy()
    vkr = net.trafo["vkr_percent"].copy()
    scale = (_CONTINUATION_VK_PERCENT / vk).clip(lower=1.0)
    net.trafo["vk_percent"] = vk * scale
    net.trafo["vkr_percent"] = vkr * scale
    try:
        pp.runpp(net, tolerance_mva=tolerance_mva, **kwargs)
    finally:
        net.trafo["vk_percent"] = vk
        net.trafo["vkr_percent"] = vkr
    kwargs = {**kwargs, "init": "results"}
    pp.runpp(net, tolerance_mva=tolerance_mva, max_iteration=30, **kwargs)
