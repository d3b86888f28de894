"""The feeders gridv2g ships: IEEE 33-bus and IEEE 123-bus.

Each is a function returning a fresh :class:`Feeder` (like ``pandapower.networks``). The data
files live in the repository's ``networks/`` folder, shipped inside the wheel as
``gridv2g/networks``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g.errors import FeederError
from gridv2g.feeders.model import Feeder, linecode_matrix_rows

#: Regulator tap steps (0.00625 pu each) of Kersting's published IEEE 123-bus solution.
IEEE123_FIXED_TAPS = {
    "reg1a": 7,
    "reg2a": -1,
    "reg3a": 0,
    "reg3c": -1,
    "reg4a": 8,
    "reg4b": 1,
    "reg4c": 5,
}
REGULATOR_STEP_PU = 0.00625

#: Phase conductor of each IEEE 123-bus line configuration; the OpenDSS line codes 1-12 are
#: Kersting's configurations 1-12 (W. H. Kersting, "Radial distribution test feeders", IEEE PES
#: Winter Meeting 2001, 123-node feeder data: overhead configurations 1-8 336,400 26/7 ACSR
#: phases (4/0 6/1 ACSR neutral), 9-11 single-phase 1/0 ACSR (1/0 ACSR neutral); underground
#: configuration 12 three 1/0 AA concentric-neutral cables).
IEEE123_LINECODE_CONDUCTOR = {
    **{str(code): "336,400 26/7 ACSR" for code in range(1, 9)},
    **{str(code): "1/0 ACSR" for code in (9, 10, 11)},
    "12": "1/0 AA CN 15 kV cable",
}

#: Normal ampacity [A] of those phase conductors, from the conductor and cable tables of the
#: IEEE test-feeder report (Kersting 2001: Table 3 "Conductor Data", ampacity at 50 degC, and
#: Table 5 "Concentric Neutral 15 kV All Aluminum Cable", ampacity in a 4 inch duct), the same
#: figures as Kersting, "Distribution System Modeling and Analysis", conductor appendix.
#: 336,400 26/7 ACSR and 1/0 ACSR also appear with these ratings in the OpenDSS manual's line
#: constants example (``Wiredata.ACSR336 ... NormAmps=530``, ``Wiredata.ACSR1/0 ...
#: NormAmps=230``). The underground cable is rated as a cable in duct (175 A), not with the
#: bare 1/0 AA overhead conductor's 310 A.
IEEE123_CONDUCTOR_AMPS = {
    "336,400 26/7 ACSR": 530.0,
    "1/0 ACSR": 230.0,
    "1/0 AA CN 15 kV cable": 175.0,
}


def ieee123_line_ratings(line: pd.DataFrame) -> pd.DataFrame:
    """The IEEE 123-bus line table with ``max_i_a`` set from each line's configuration.

    Every line whose line code is one of Kersting's configurations 1-12 gets the normal
    ampacity of its phase conductor (:data:`IEEE123_CONDUCTOR_AMPS`). Switches stay unrated
    (NaN): the test-feeder data give no switch ratings, and every closed switch is in series
    with a rated line of the same current (or feeds a dead-end open point), so a rating copied
    from its neighbour would only repeat that line's constraint. ``emerg_i_a`` stays unknown.
    """
    amps = {code: IEEE123_CONDUCTOR_AMPS[c] for code, c in IEEE123_LINECODE_CONDUCTOR.items()}
    out = line.copy()
    rated = ~out["is_switch"].astype(bool) & out["linecode"].isin(amps.keys())
    out["max_i_a"] = np.where(rated, out["linecode"].map(amps), np.nan).astype(float)
    return out


def ieee123_tap_commands(taps: Mapping[str, int] | None = None) -> list[str]:
    """OpenDSS commands setting regulator taps (default: Kersting's), tap = 1 + 0.00625 step."""
    taps = IEEE123_FIXED_TAPS if taps is None else taps
    return [
        f"Transformer.{name}.wdg=2 Tap={1.0 + REGULATOR_STEP_PU * step!r}"
        for name, step in taps.items()
    ]


def networks_dir() -> Path:
    """Folder of the shipped feeder data: inside the installed package, else the source tree."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "networks", here.parent / "networks"):
        if (candidate / "ieee33").is_dir():
            return candidate
    raise FileNotFoundError(
        f"gridv2g's feeder data was not found in {here / 'networks'} nor {here.parent / 'networks'}"
    )


def ieee33() -> Feeder:
    """IEEE 33-bus radial feeder of Baran & Wu (1989), 12.66 kV, 3715 kW + 2300 kvar.

    M. E. Baran and F. F. Wu, "Network reconfiguration in distribution systems for loss
    reduction and load balancing," IEEE Trans. Power Delivery 4(2), 1401-1407, 1989.

    Built as a balanced three-phase feeder: each branch is a 1 km line whose phase matrices are
    diagonal with the published R and X [ohm], so its positive-sequence impedance is exactly the
    published one; loads are three-phase wye constant-power loads; the source is an ideal
    1.0 pu bus 1. Published AC power flow: 202.68 kW losses, minimum voltage 0.9131 pu at bus 18.

    No branch ratings (``line.max_i_a`` NaN): Baran & Wu give none and no published rating could
    be verified (see ``networks/ieee33/README.md``), so ``ampacity`` enforces nothing here.
    """
    folder = networks_dir() / "ieee33"
    br = pd.read_csv(folder / "branches.csv", dtype={"from_bus": str, "to_bus": str})
    ld = pd.read_csv(folder / "loads.csv", dtype={"bus": str})
    vn_kv = 12.66
    names = [str(i) for i in range(1, 34)]
    bus = pd.DataFrame({"name": names, "vn_kv": vn_kv, "nodes": "1.2.3"})
    line_names = [f"{a}-{b}" for a, b in zip(br.from_bus, br.to_bus, strict=True)]
    eye = np.eye(3)
    linecode_matrix = pd.concat(
        [
            linecode_matrix_rows(n, r * eye, x * eye)
            for n, r, x in zip(line_names, br.r_ohm, br.x_ohm, strict=True)
        ],
        ignore_index=True,
    )
    line = pd.DataFrame(
        {
            "name": line_names,
            "from_bus": br.from_bus,
            "to_bus": br.to_bus,
            "from_nodes": "1.2.3",
            "to_nodes": "1.2.3",
            "linecode": line_names,
            "length_km": 1.0,
        }
    )
    load = pd.DataFrame(
        {
            "name": [f"load{b}" for b in ld.bus],
            "bus": ld.bus,
            "nodes": "1.2.3",
            "conn": "wye",
            "model": "pq",
            "vn_kv": vn_kv,
            "p_kw": ld.p_kw.astype(float),
            "q_kvar": ld.q_kvar.astype(float),
            # constant power down to 0.5 pu, as in the published solution (OpenDSS would
            # otherwise turn loads below 0.95 pu into constant impedance)
            "vmin_pu": 0.5,
        }
    )
    source = pd.DataFrame({"name": ["source"], "bus": ["1"], "vn_kv": [vn_kv], "vm_pu": [1.0]})
    return Feeder(
        name="ieee33",
        description="IEEE 33-bus feeder, Baran & Wu (1989)",
        bus=bus,
        linecode=pd.DataFrame({"name": line_names, "n_phases": 3}),
        linecode_matrix=linecode_matrix,
        line=line,
        load=load,
        source=source,
    )


def ieee123(taps: Mapping[str, int] | None = None) -> Feeder:
    """IEEE 123-bus unbalanced test feeder (Kersting), 4.16 kV, from its OpenDSS model.

    W. H. Kersting, "Radial distribution test feeders," IEEE PES Winter Meeting 2001; IEEE PES
    Distribution System Analysis Subcommittee, Test Feeder Working Group. The tables were
    written by :func:`gridv2g.feeders.from_opendss` from the OpenDSS model of EPRI's OpenDSS
    distribution (dss-extensions/electricdss-tst, BSD-style licence; see
    ``networks/ieee123/README.md`` for the credit line) by ``scripts/regen_ieee123.py``.

    Parameters
    ----------
    taps
        Regulator tap steps by transformer name (``reg1a``, ``reg2a``, ``reg3a``, ``reg3c``,
        ``reg4a``, ``reg4b``, ``reg4c``); each step is 0.00625 pu on winding 2. Missing names
        keep Kersting's published fixed taps (7, -1, 0, -1, 8, 1, 5).
    """
    feeder = Feeder.from_dir(networks_dir() / "ieee123")
    if not taps:
        return feeder
    unknown = sorted(set(taps) - set(IEEE123_FIXED_TAPS))
    if unknown:
        raise FeederError(
            f"ieee123: unknown regulator(s) {unknown}; valid: {sorted(IEEE123_FIXED_TAPS)}"
        )
    trafo = feeder.transformer.copy()
    for name, step in taps.items():
        trafo.loc[name, "to_tap"] = 1.0 + REGULATOR_STEP_PU * float(step)
    return feeder.replace(transformer=trafo)


#: the shipped feeders by name
SHIPPED: dict[str, Callable[[], Feeder]] = {"ieee33": ieee33, "ieee123": ieee123}


def load_feeder(name: str) -> Feeder:
    """A shipped feeder by name (``ieee33``, ``ieee123``)."""
    try:
        return SHIPPED[name]()
    except KeyError:
        raise FeederError(f"unknown feeder '{name}'; shipped feeders: {sorted(SHIPPED)}") from None
