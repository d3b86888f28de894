"""Write a :class:`~gridv2g.feeders.Feeder` as a complete OpenDSS model.

The export is one self-contained ``Master.dss`` (plus ``BusCoords.csv`` when coordinates are
known). Numbers are written with full double precision, line codes in ohm/km and nF/km, every
bus's voltage base pinned with ``SetkVBase`` so per-unit results compare one to one with the
source model. Regulators are exported as transformers with their fixed taps (no RegControl).
A wye neutral tied to a node other than ground is written as the conductor after the phases
(``799.1.2`` for ``nodes="1"``, ``neutral=2``); exponential loads as model 4 with CVRwatts and
CVRvars.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

#: reactance given to an ideal (zero-impedance) source, which OpenDSS cannot represent
IDEAL_SOURCE_X_OHM = 1e-6


def _num(value: float) -> str:
    return repr(float(value))


def _matrix(m: np.ndarray) -> str:
    """Lower-triangular OpenDSS matrix syntax ``[a | b c | d e f]``."""
    rows = [" ".join(_num(m[i, j]) for j in range(i + 1)) for i in range(m.shape[0])]
    return "[" + " | ".join(rows) + "]"


def _bus(bus: str, nodes: str, conn: str = "wye", neutral: int = 0) -> str:
    """OpenDSS bus spec; a wye neutral on a node other than ground follows the phase nodes."""
    tail = f".{int(neutral)}" if (conn == "wye" and neutral) else ""
    return f"{bus}.{nodes}{tail}"


def _n_phases(nodes: str, conn: str) -> int:
    n = len(nodes.split("."))
    return 1 if (conn == "delta" and n == 2) else n


def _sequence_spec(r: np.ndarray, x: np.ndarray, c: np.ndarray) -> str | None:
    """``r1= x1= r0= x0= c1= c0=`` [per km] if the matrices are exactly symmetric-component."""
    n = r.shape[0]
    off = ~np.eye(n, dtype=bool)
    parts = []
    for m in (r, x, c):
        s = m[0, 0]
        mu = m[off][0] if n > 1 else 0.0
        if not (np.allclose(np.diag(m), s, rtol=1e-12) and np.allclose(m[off], mu, rtol=1e-12)):
            return None
        parts.append((s - mu, s + 2 * mu))
    (r1, r0), (x1, x0), (c1, c0) = parts
    return f"r1={_num(r1)} x1={_num(x1)} r0={_num(r0)} x0={_num(x0)} c1={_num(c1)} c0={_num(c0)}"


def opendss_lines(feeder) -> list[str]:
    """The OpenDSS script of a feeder, one command per line."""
    src = feeder.source.iloc[0].copy()
    # OpenDSS refuses a zero source impedance; an ideal source becomes a 1e-6 ohm stiff one
    for r, x in (("r1_ohm", "x1_ohm"), ("r0_ohm", "x0_ohm")):
        if src[r] == 0.0 and src[x] == 0.0:
            src[x] = IDEAL_SOURCE_X_OHM
    out = [
        f"! OpenDSS model of feeder '{feeder.name}' written by gridv2g",
        "Clear",
        f"Set DefaultBaseFrequency={_num(feeder.frequency_hz)}",
        f"New Circuit.{feeder.name} phases=3 bus1={src.bus} basekv={_num(src.vn_kv)} "
        f"pu={_num(src.vm_pu)} angle={_num(src.va_degree)} "
        f"R1={_num(src.r1_ohm)} X1={_num(src.x1_ohm)} R0={_num(src.r0_ohm)} X0={_num(src.x0_ohm)}",
        "",
        "! line codes (per km)",
    ]
    for code, n in feeder.linecode["n_phases"].items():
        r, x, c = feeder.linecode_z(code)
        out.append(
            f"New Linecode.{code} nphases={n} units=km rmatrix={_matrix(r)} "
            f"xmatrix={_matrix(x)} cmatrix={_matrix(c)}"
        )
    out += ["", "! lines and switches"]
    for name, ln in feeder.line.iterrows():
        n = feeder.linecode.at[ln.linecode, "n_phases"]
        amps = ""
        if not math.isnan(ln.max_i_a):
            amps += f" normamps={_num(ln.max_i_a)}"
        if not math.isnan(ln.emerg_i_a):
            amps += f" emergamps={_num(ln.emerg_i_a)}"
        head = f"New Line.{name} phases={n} bus1={_bus(ln.from_bus, ln.from_nodes)} "
        head += f"bus2={_bus(ln.to_bus, ln.to_nodes)} "
        impedance = f"linecode={ln.linecode}"
        if ln.is_switch:
            sequence = _sequence_spec(*feeder.linecode_z(ln.linecode))
            if sequence is not None:
                # OpenDSS resets a switch's impedance at every solve unless it is given in
                # sequence form (r1 x1 r0 x0 c1 c0) after switch=yes
                head += "switch=yes "
                impedance = sequence
            else:
                out.append(f"! {name} is a switch whose matrices have no sequence form")
        out.append(f"{head}{impedance} length={_num(ln.length_km)} units=km{amps}")
    opened = feeder.line.index[~feeder.line["closed"]]
    out += [f"Open Line.{name} 1" for name in opened]
    out += ["", "! transformers and regulators (fixed taps)"]
    for name, t in feeder.transformer.iterrows():
        bank = f" bank={t.bank}" if t.bank else ""
        out.append(
            f"New Transformer.{name} phases={_n_phases(t.from_nodes, t.from_conn)} windings=2 "
            f"buses=[{_bus(t.from_bus, t.from_nodes, t.from_conn, t.from_neutral)} "
            f"{_bus(t.to_bus, t.to_nodes, t.to_conn, t.to_neutral)}] "
            f"conns=[{t.from_conn} {t.to_conn}] kvs=[{_num(t.from_kv)} {_num(t.to_kv)}] "
            f"kvas=[{_num(t.sn_kva)} {_num(t.sn_kva)}] "
            f"%rs=[{_num(t.from_r_percent)} {_num(t.to_r_percent)}] xhl={_num(t.x_percent)} "
            f"taps=[{_num(t.from_tap)} {_num(t.to_tap)}] %noloadloss={_num(t.noloadloss_percent)} "
            f"%imag={_num(t.imag_percent)} ppm_antifloat={_num(t.ppm_antifloat)}{bank}"
        )
    out += ["", "! capacitors"]
    for name, c in feeder.capacitor.iterrows():
        # a wye capacitor's star point is its second terminal (OpenDSS default: grounded), so
        # a neutral tied to a node puts every phase's second conductor on that node
        star = ""
        if c.conn == "wye" and c.neutral:
            star = f"bus2={c.bus}" + f".{int(c.neutral)}" * _n_phases(c.nodes, c.conn) + " "
        out.append(
            f"New Capacitor.{name} bus1={_bus(c.bus, c.nodes)} {star}"
            f"phases={_n_phases(c.nodes, c.conn)} conn={c.conn} "
            f"kvar={_num(c.q_kvar)} kv={_num(c.vn_kv)}"
        )
    out += ["", "! loads"]
    model = {"pq": 1, "z": 2, "i": 5, "exp": 4}
    for name, ld in feeder.load.iterrows():
        cvr = ""
        if ld.model == "exp":
            cvr = f"cvrwatts={_num(ld.cvr_p)} cvrvars={_num(ld.cvr_q)} "
        out.append(
            f"New Load.{name} bus1={_bus(ld.bus, ld.nodes, ld.conn, ld.neutral)} "
            f"phases={_n_phases(ld.nodes, ld.conn)} conn={ld.conn} model={model[ld.model]} {cvr}"
            f"kv={_num(ld.vn_kv)} kw={_num(ld.p_kw)} kvar={_num(ld.q_kvar)} "
            f"vminpu={_num(ld.vmin_pu)} vmaxpu={_num(ld.vmax_pu)}"
        )
    bases = sorted(feeder.bus["vn_kv"].round(9).unique(), reverse=True)
    out += [
        "",
        "! voltage bases: the list for reports, and every bus pinned to its own base",
        "! (no CalcVoltageBases: it resets the impedance of lines flagged switch=yes)",
        "Set VoltageBases=[" + " ".join(_num(v) for v in bases) + "]",
        "MakeBusList",
    ]
    out += [f"SetkVBase bus={b} kVLL={_num(v)}" for b, v in feeder.bus["vn_kv"].items()]
    return out


def write_opendss(feeder, directory) -> Path:
    """Write ``Master.dss`` (and ``BusCoords.csv``) into ``directory``; returns the master path.

    Compile it with ``compile Master.dss``; add ``Buscoords BusCoords.csv`` for plots.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    master = directory / "Master.dss"
    master.write_text("\n".join(opendss_lines(feeder)) + "\n")
    xy = feeder.bus[["x", "y"]].dropna()
    if len(xy):
        xy.to_csv(directory / "BusCoords.csv", header=False)
    return master
