"""Column schemas of the engineering feeder tables.

Every table is a pandas DataFrame indexed by the element name (str). Quantities are in SI-ish
engineering units with the unit in the column name: kV, kW, kvar, kVA, ohm, nF, A, km.

Phase conventions follow OpenDSS: a node string such as ``"1.2.3"`` lists the phase nodes an
element connects to, in conductor order (``"25r.1.3"`` in OpenDSS is bus ``25r``, nodes ``"1.3"``).
Voltage ratings of loads, capacitors and transformer windings follow OpenDSS too: line-to-line
for 2- and 3-phase elements and for delta elements, line-to-neutral for 1-phase wye elements
(the voltage across the element: line-to-line when its neutral is on a phase node).

Node strings hold phase nodes only (positive integers); ground is node 0 and never written. A
1-phase delta element lists the two nodes it spans (``"1.2"``). The neutral of a wye element is
a separate column (``neutral``, ``from_neutral``, ``to_neutral``): 0 for grounded, else the node
it is tied to, e.g. a single-phase regulator across phases A-B written ``bus1=799.1.2`` in
OpenDSS is ``nodes="1"``, ``neutral=2`` (IEEE 37's open-delta bank). Exponential (CVR) loads,
OpenDSS model 4, are ``model="exp"`` with the exponents ``cvr_p`` and ``cvr_q``.
"""

from __future__ import annotations

import numpy as np

#: name -> (dtype, default). A default of ``REQUIRED`` means the column must be given.
REQUIRED = object()

BUS = {
    "vn_kv": (float, REQUIRED),  # line-to-line base voltage [kV]
    "nodes": (str, "1.2.3"),  # phase nodes present at the bus
    "x": (float, np.nan),  # coordinates, any unit, NaN if unknown
    "y": (float, np.nan),
}

#: per-unit-length phase matrices are kept in ``Feeder.linecode_matrix`` (long format)
LINECODE = {
    "n_phases": (int, REQUIRED),
}

LINECODE_MATRIX = {
    "linecode": (str, REQUIRED),
    "row": (int, REQUIRED),  # 0-based conductor index
    "col": (int, REQUIRED),
    "r_ohm_per_km": (float, REQUIRED),  # series resistance
    "x_ohm_per_km": (float, REQUIRED),  # series reactance
    "c_nf_per_km": (float, 0.0),  # shunt capacitance (Maxwell coefficients)
}

LINE = {
    "from_bus": (str, REQUIRED),
    "to_bus": (str, REQUIRED),
    "from_nodes": (str, REQUIRED),
    "to_nodes": (str, REQUIRED),
    "linecode": (str, REQUIRED),
    "length_km": (float, REQUIRED),
    "max_i_a": (float, np.nan),  # normal ampacity [A], NaN if unknown
    "emerg_i_a": (float, np.nan),  # emergency ampacity [A]
    "is_switch": (bool, False),
    "closed": (bool, True),
}

#: load model: constant power, constant impedance, constant current magnitude (OpenDSS 1, 2, 5)
#: and exponential, P ~ V^cvr_p and Q ~ V^cvr_q (OpenDSS 4, CVRwatts and CVRvars)
LOAD_MODELS = ("pq", "z", "i", "exp")
CONNECTIONS = ("wye", "delta")

LOAD = {
    "bus": (str, REQUIRED),
    "nodes": (str, REQUIRED),
    "conn": (str, "wye"),
    "neutral": (int, 0),  # node the wye neutral is tied to, 0 = ground (0 for delta)
    "model": (str, "pq"),
    "vn_kv": (float, REQUIRED),  # rated voltage, OpenDSS convention (see module docstring)
    "p_kw": (float, REQUIRED),  # at rated voltage, all phases
    "q_kvar": (float, 0.0),
    "vmin_pu": (float, 0.95),  # OpenDSS turns the load into constant Z outside this band
    "vmax_pu": (float, 1.05),
    "cvr_p": (float, np.nan),  # model "exp": P = p_kw (V/V_rated)^cvr_p; NaN for other models
    "cvr_q": (float, np.nan),  # model "exp": Q = q_kvar (V/V_rated)^cvr_q
}

CAPACITOR = {
    "bus": (str, REQUIRED),
    "nodes": (str, REQUIRED),
    "conn": (str, "wye"),
    "neutral": (int, 0),  # node the wye neutral is tied to, 0 = ground (0 for delta)
    "vn_kv": (float, REQUIRED),  # rated voltage
    "q_kvar": (float, REQUIRED),  # rated reactive power at vn_kv, all phases (injection)
}

TRANSFORMER = {
    "from_bus": (str, REQUIRED),
    "to_bus": (str, REQUIRED),
    "from_nodes": (str, REQUIRED),
    "to_nodes": (str, REQUIRED),
    "from_conn": (str, "wye"),
    "to_conn": (str, "wye"),
    "from_neutral": (int, 0),  # node a wye winding's neutral is tied to, 0 = ground
    "to_neutral": (int, 0),
    "from_kv": (float, REQUIRED),  # winding rated voltage
    "to_kv": (float, REQUIRED),
    "sn_kva": (float, REQUIRED),  # rating of the unit (all its phases)
    "from_r_percent": (float, 0.0),  # winding resistance on sn_kva
    "to_r_percent": (float, 0.0),
    "x_percent": (float, REQUIRED),  # leakage reactance from-to on sn_kva
    "from_tap": (float, 1.0),  # per-unit tap of the winding, fixed
    "to_tap": (float, 1.0),
    "noloadloss_percent": (float, 0.0),
    "imag_percent": (float, 0.0),
    "ppm_antifloat": (float, 1.0),  # OpenDSS's tiny shunt to ground on floating windings
    "is_regulator": (bool, False),
    "bank": (str, ""),
}

SOURCE = {
    "bus": (str, REQUIRED),
    "vn_kv": (float, REQUIRED),  # line-to-line base [kV]
    "vm_pu": (float, 1.0),
    "va_degree": (float, 0.0),
    "r1_ohm": (float, 0.0),  # Thevenin impedance of the source, positive and zero sequence
    "x1_ohm": (float, 0.0),
    "r0_ohm": (float, 0.0),
    "x0_ohm": (float, 0.0),
}

TABLES = {
    "bus": BUS,
    "linecode": LINECODE,
    "linecode_matrix": LINECODE_MATRIX,
    "line": LINE,
    "load": LOAD,
    "capacitor": CAPACITOR,
    "transformer": TRANSFORMER,
    "source": SOURCE,
}

#: tables whose rows have a name (the DataFrame index); linecode_matrix is a plain long table
NAMED_TABLES = ("bus", "linecode", "line", "load", "capacitor", "transformer", "source")
