r"""Balanced single-phase equivalent of a multi-phase feeder, and its pandapower network.

The DistFlow SOCP and the pandapower replay work on one equivalent three-phase-balanced
network: per-phase (wye-equivalent) impedances in ohm, three-phase total powers, line-to-line
voltages. :func:`balance` builds it from a :class:`~gridv2g.feeders.Feeder` with these rules.

**Lines** (phase matrices :math:`Z` [ohm/km], :math:`C` [nF/km], length :math:`\ell`, *n*
phases). With :math:`Z_s` the mean of the diagonal and :math:`Z_m` the mean of the
off-diagonal entries, the impedance one phase sees when its *n* phases carry equal, balanced
currents (120 degrees apart) is :math:`Z_n = Z_s + \kappa_n Z_m` with
:math:`\kappa_n = -(n-1)/2` (:math:`\kappa_3=-1`: the positive-sequence impedance
:math:`Z_1 = Z_s - Z_m`; :math:`\kappa_2 = -1/2`; :math:`\kappa_1 = 0`: the self impedance, which
already holds the Kron-reduced neutral return). An *n*-phase section carrying three-phase power
*S* has phase current :math:`S/(n V_{ln})`; the balanced equivalent carries :math:`S/(3 V_{ln})`.
Equal voltage drop and equal losses then give

.. math:: Z_{eq} = \tfrac{3}{n} Z_n \ell, \qquad C_{eq} = \tfrac{n}{3} (C_s + \kappa_n C_m) \ell,
          \qquad I^{max}_{eq} = \tfrac{n}{3} I^{max}.

So a 1-phase lateral is three times its self impedance, which keeps the voltage drop of a
lateral whose load sits on one phase; for 3-phase sections it is the usual positive sequence.

**Switches** (closed) and lines with :math:`|Z_{eq}| <` ``z_min_ohm`` become zero-impedance
branches of kind ``"switch"`` (pandapower bus-bus switches), so no near-zero impedance reaches
a solver. Open switches are left out.

**Transformers and regulators**: units between the same two buses (a bank, e.g. three
single-phase regulators) form one branch. Its off-nominal ratio ``tap`` (to-bus voltage over
from-bus voltage at no load, per unit of the bus bases) is the mean over units of
:math:`(k V_2 t_2 / V_{b2}) / (k V_1 t_1 / V_{b1})`, i.e. regulators become fixed ratios. Its
impedance is the mean unit per-unit impedance :math:`(\%r_1 + \%r_2 + j\,\%x)/100` on the
equivalent rating :math:`S_{eq} = \tfrac{3}{n} \sum S_{unit}` (the same 3/n rule), referred to
the to-bus base in ohm. Winding connections and phase shifts are not represented. A closed-delta
bank (three single-phase units across the phase pairs, delta windings or wye windings whose
neutral is the next phase) is a bank like any other: each unit's ratio is taken on the
line-to-line base, so the bank's ratio is the mean of its three units' (exact when the taps
are equal; with unequal taps the real bank mixes them and drives a small circulating current).
An open-delta bank (two units across phase pairs A-B and C-B, phase B through a jumper) is
approximated by one branch too: ratio the mean of its two units', impedance the mean unit
per-unit impedance on the sum of their ratings. Under balanced load each unit drops
:math:`Z_u I/\sqrt{3}` rotated by -30 and +30 degrees; the mean of the two is
:math:`Z_u I/2`, which is that rule. The jumper is part of the bank's branch (its
``elements`` list it); the unbalance an open delta causes is not represented. Any other line
in parallel with a transformer is refused (:func:`balance` raises a FeederError naming them).

**Loads** are summed per bus, each first expressed at the bus base voltage (power scales with
:math:`(V_b/V_{rated})^a`: :math:`a` = 0 constant power, 1 constant current, 2 constant Z, and
``cvr_p`` / ``cvr_q`` for exponential loads); the per-bus ZIP shares (``const_z_p_percent`` ...)
keep the voltage dependence. An exponential load :math:`P_0 v^a` has no exact ZIP form: it
becomes the ZIP load with the same power and the same slope :math:`dP/dv = a P_0` at 1 pu,
Z share :math:`\max(a-1, 0)` and I share :math:`a - 2\max(a-1, 0)` (exact for a = 0, 1, 2;
for :math:`a > 2` the I share is negative, which pandapower accepts). Its relative error is of
second order, :math:`(a(a-1)/2 - \max(a-1, 0))\,(v-1)^2` (0.25 % for a = 3 at 0.95 pu).
OpenDSS's switch to constant Z outside ``[vmin_pu, vmax_pu]`` is not modelled. **Capacitors**
become shunts with their reactive power at the bus base voltage.

The error of this equivalent on the IEEE 123-bus feeder, measured against OpenDSS's unbalanced
solution, is reported in the README (``gridv2g powerflow ieee123`` prints it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridv2g.errors import FeederError
from gridv2g.feeders.checks import parse_nodes

SQRT3 = math.sqrt(3.0)


@dataclass
class BalancedFeeder:
    """Single-phase equivalent of a feeder (three-phase totals, per-phase ohm).

    Tables:
      ``bus`` (index name): ``vn_kv`` line-to-line base [kV], ``n_phases`` of the original
      bus, ``x``, ``y``.
      ``branch`` (index name): ``from_bus``, ``to_bus``, ``kind`` (line / switch /
      transformer), ``r_ohm``, ``x_ohm`` (per phase, on the to-bus voltage), ``c_nf`` (total
      shunt capacitance per phase, lines), ``max_i_ka`` (NaN if unknown), ``tap`` (off-nominal
      ratio, 1 for lines), ``sn_kva`` (transformers), ``n_phases``, ``elements`` (the feeder
      elements it stands for).
      ``load`` (index bus): ``p_kw``, ``q_kvar`` at the bus base voltage, and the ZIP shares
      ``const_z_p_percent``, ``const_i_p_percent``, ``const_z_q_percent``,
      ``const_i_q_percent``.
      ``shunt`` (index bus): ``q_kvar`` injected at 1.0 pu (capacitors).
      ``source``: dict with ``bus``, ``vm_pu``, ``va_degree``.
    """

    name: str
    bus: pd.DataFrame
    branch: pd.DataFrame
    load: pd.DataFrame
    shunt: pd.DataFrame
    source: dict
    frequency_hz: float = 60.0

    @property
    def total_load_kw(self) -> float:
        return float(self.load["p_kw"].sum())

    @property
    def total_load_kvar(self) -> float:
        return float(self.load["q_kvar"].sum())

    def to_pandapower(self):
        """A pandapower network of this equivalent; see :func:`to_pandapower`."""
        from gridv2g.feeders.pandapower_bridge import to_pandapower

        return to_pandapower(self)


def _kappa(n: int) -> float:
    return -(n - 1) / 2.0


def _sequence(m: np.ndarray) -> tuple[float, float]:
    """Mean diagonal and mean off-diagonal entry of a square matrix."""
    n = m.shape[0]
    diag = float(np.trace(m)) / n
    off = (float(m.sum()) - n * diag) / (n * (n - 1)) if n > 1 else 0.0
    return diag, off


def element_base_kv(vn_kv: float, nodes: str, conn: str, neutral: int = 0) -> float:
    """Voltage across one branch of an element at its bus's base [kV] (OpenDSS convention).

    Line-to-neutral for a 1-phase wye element, line-to-line otherwise, and also for a 1-phase
    wye element whose neutral is tied to another phase node (it sits across two phases).
    """
    n = len(parse_nodes(nodes))
    grounded = neutral == 0 or neutral > 3  # a floating star point: the nominal base holds
    return vn_kv / SQRT3 if (conn == "wye" and n == 1 and grounded) else vn_kv


def _across_pair(nodes: str, conn: str, neutral: int) -> frozenset | None:
    """The two phases a single-phase unit spans (delta, or wye tied to a phase); else None."""
    parts = parse_nodes(nodes)
    if conn == "delta" and len(parts) == 2:
        return frozenset(parts)
    if conn == "wye" and len(parts) == 1 and 1 <= neutral <= 3:
        return frozenset((parts[0], neutral))
    return None


_CLOSED_DELTA = {frozenset((1, 2)), frozenset((2, 3)), frozenset((1, 3))}


def _spanned_pairs(group: pd.DataFrame) -> list[frozenset]:
    """Phase pairs spanned by the units of a bank that sit across two phases."""
    pairs = [
        _across_pair(n, c, k)
        for n, c, k in zip(group.to_nodes, group.to_conn, group.to_neutral, strict=True)
    ]
    return [p for p in pairs if p is not None]


def open_delta_phase(group: pd.DataFrame) -> int | None:
    """The phase both units of an open-delta bank share (B for A-B and C-B), else None.

    Raises FeederError naming the units for any other mix of several units across phase pairs
    than an open delta (two pairs sharing a phase) or a closed delta (the three pairs).
    """
    spanning = _spanned_pairs(group)
    if len(spanning) == 2 and len(spanning[0] & spanning[1]) == 1:
        return next(iter(spanning[0] & spanning[1]))
    if len(spanning) <= 1 or (len(spanning) == 3 and set(spanning) == _CLOSED_DELTA):
        return None
    listed = ", ".join(f"transformer.{n}" for n in group.index)
    phases = ", ".join("-".join(map(str, sorted(p))) for p in spanning)
    raise FeederError(
        f"{listed} between buses {group.from_bus.iloc[0]} and {group.to_bus.iloc[0]}: units "
        f"across phases {phases} are neither an open nor a closed delta bank"
    )


def _lines(feeder, z_min_ohm: float) -> pd.DataFrame:
    line = feeder.line[feeder.line["closed"]]
    rows = []
    for name, ln in line.iterrows():
        r, x, c = feeder.linecode_z(ln.linecode)
        n = r.shape[0]
        k = _kappa(n)
        rs, rm = _sequence(r)
        xs, xm = _sequence(x)
        cs, cm = _sequence(c)
        scale = 3.0 / n
        r_eq = scale * (rs + k * rm) * ln.length_km
        x_eq = scale * (xs + k * xm) * ln.length_km
        c_eq = (cs + k * cm) * ln.length_km / scale
        is_switch = bool(ln.is_switch) or math.hypot(r_eq, x_eq) < z_min_ohm
        rows.append(
            {
                "name": name,
                "from_bus": ln.from_bus,
                "to_bus": ln.to_bus,
                "kind": "switch" if is_switch else "line",
                "r_ohm": 0.0 if is_switch else r_eq,
                "x_ohm": 0.0 if is_switch else x_eq,
                "c_nf": 0.0 if is_switch else c_eq,
                "max_i_ka": ln.max_i_a / 1000.0 / scale,
                "tap": 1.0,
                "sn_kva": np.nan,
                "n_phases": n,
                "elements": f"line.{name}",
            }
        )
    return pd.DataFrame(rows)


def _transformers(feeder) -> pd.DataFrame:
    trafo = feeder.transformer
    if trafo.empty:
        return pd.DataFrame()
    vn = feeder.bus["vn_kv"]
    rows = []
    for (fb, tb), group in trafo.groupby(["from_bus", "to_bus"], sort=False):
        open_delta_phase(group)  # refuses banks it cannot represent
        # the phases a bank serves: units across two phases serve both (an open-delta bank
        # serves all three, so its rating counts 3/3 like a closed delta's)
        phases = set().union(*_spanned_pairs(group))
        taps, z_pu = [], []
        for _, t in group.iterrows():
            phases |= set(parse_nodes(t.to_nodes))
            v1 = element_base_kv(vn[fb], t.from_nodes, t.from_conn, t.from_neutral)
            v2 = element_base_kv(vn[tb], t.to_nodes, t.to_conn, t.to_neutral)
            taps.append((t.to_kv * t.to_tap / v2) / (t.from_kv * t.from_tap / v1))
            z_pu.append(complex(t.from_r_percent + t.to_r_percent, t.x_percent) / 100.0)
        n = min(len(phases), 3)
        sn_kva = 3.0 / n * float(group.sn_kva.sum())
        z_ohm = np.mean(z_pu) * vn[tb] ** 2 / (sn_kva / 1000.0)
        names = list(group.index)
        banks = sorted(set(group.bank) - {""})
        rows.append(
            {
                "name": banks[0] if len(banks) == 1 and len(names) > 1 else "+".join(names),
                "from_bus": fb,
                "to_bus": tb,
                "kind": "transformer",
                "r_ohm": z_ohm.real,
                "x_ohm": z_ohm.imag,
                "c_nf": 0.0,
                "max_i_ka": np.nan,
                "tap": float(np.mean(taps)),
                "sn_kva": sn_kva,
                "n_phases": n,
                "elements": ",".join(f"transformer.{x}" for x in names),
            }
        )
    return pd.DataFrame(rows)


def _at_base(feeder, table: pd.DataFrame) -> pd.DataFrame:
    """Ratio of each element's base voltage (at its bus) to its rated voltage."""
    vn = feeder.bus["vn_kv"].reindex(table["bus"]).to_numpy()
    base = np.array(
        [
            element_base_kv(v, nodes, conn, neutral)
            for v, nodes, conn, neutral in zip(
                vn, table["nodes"], table["conn"], table["neutral"], strict=True
            )
        ]
    )
    return base / table["vn_kv"].to_numpy()


#: voltage exponent of the power of each load model (exponential loads: their own)
_EXPONENT = {"pq": 0.0, "i": 1.0, "z": 2.0}


def _exponents(load: pd.DataFrame, column: str) -> np.ndarray:
    """Voltage exponent of each load's P (``cvr_p``) or Q (``cvr_q``)."""
    exponent = load["model"].map(_EXPONENT).to_numpy(dtype=float)
    exp = (load["model"] == "exp").to_numpy()
    exponent[exp] = load[column].to_numpy()[exp]
    return exponent


def zip_shares(exponent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Constant-Z and constant-I shares of the ZIP load matching ``P0 v^exponent`` at 1 pu.

    Same power and same slope at v = 1: ``2 z + i = exponent`` with ``z = max(exponent-1, 0)``;
    exact for exponents 0, 1 and 2 (constant power, current, impedance).
    """
    z = np.maximum(np.asarray(exponent, dtype=float) - 1.0, 0.0)
    return z, exponent - 2.0 * z


def _loads(feeder) -> pd.DataFrame:
    load = feeder.load
    cols = ["p_kw", "q_kvar", "const_z_p_percent", "const_i_p_percent"]
    cols += ["const_z_q_percent", "const_i_q_percent"]
    if load.empty:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="bus"))
    rho = _at_base(feeder, load)
    df = pd.DataFrame({"bus": load["bus"].to_numpy()})
    for q, cvr in (("p_kw", "cvr_p"), ("q_kvar", "cvr_q")):
        exponent = _exponents(load, cvr)
        df[q] = load[q].to_numpy() * rho**exponent
        z, i = zip_shares(exponent)
        df[f"{q}_z"] = df[q] * z
        df[f"{q}_i"] = df[q] * i
    agg = df.groupby("bus", sort=False).sum(numeric_only=True)
    out = pd.DataFrame(index=agg.index)
    out["p_kw"] = agg.p_kw
    out["q_kvar"] = agg.q_kvar
    for q, tag in (("p_kw", "p"), ("q_kvar", "q")):
        total = agg[q].where(agg[q] != 0.0)
        z = (100.0 * agg[f"{q}_z"] / total).fillna(0.0)
        i = (100.0 * agg[f"{q}_i"] / total).fillna(0.0)
        # exponents above 2 give z + i = 100 exactly in theory; pandapower refuses any excess
        out[f"const_z_{tag}_percent"] = z
        out[f"const_i_{tag}_percent"] = np.minimum(i, 100.0 - z)
    out.index.name = "bus"
    return out[cols]


def _shunts(feeder) -> pd.DataFrame:
    cap = feeder.capacitor
    if cap.empty:
        return pd.DataFrame({"q_kvar": []}, index=pd.Index([], name="bus"))
    q = cap["q_kvar"].to_numpy() * _at_base(feeder, cap) ** 2
    return pd.DataFrame({"bus": cap["bus"].to_numpy(), "q_kvar": q}).groupby("bus").sum()


def _bus_pairs(branch: pd.DataFrame) -> pd.Series:
    """Unordered (from, to) bus pair of every branch, as a sorted "a|b" key."""
    a, b = branch["from_bus"].astype(str), branch["to_bus"].astype(str)
    return a.where(a < b, b) + "|" + b.where(a < b, a)


def _merge_jumpers(feeder, lines: pd.DataFrame, trafos: pd.DataFrame):
    """Fold the jumper of each open-delta bank (a line on the shared phase) into its branch."""
    trafo = feeder.transformer
    if lines.empty or trafo.empty:
        return lines, trafos
    line_pairs, trafo_pairs = _bus_pairs(lines), _bus_pairs(trafos)
    nodes = feeder.line["from_nodes"].reindex(lines["name"]).to_numpy()
    drop = np.zeros(len(lines), dtype=bool)
    trafos = trafos.copy()
    for _, group in trafo.groupby(["from_bus", "to_bus"], sort=False):
        phase = open_delta_phase(group)
        if phase is None:
            continue
        key = _bus_pairs(group.iloc[:1]).iloc[0]
        jumper = ((line_pairs == key) & (nodes == str(phase))).to_numpy()
        drop |= jumper
        row = (trafo_pairs == key).to_numpy()
        extra = ",".join(f"line.{n}" for n in lines.name[jumper])
        if extra:
            trafos.loc[row, "elements"] = trafos.loc[row, "elements"] + "," + extra
    return lines[~drop], trafos


def _check_no_parallel(lines: pd.DataFrame, trafos: pd.DataFrame) -> None:
    """The equivalent is a tree: no line may join the two buses of a transformer branch."""
    if lines.empty or trafos.empty:
        return
    line_pairs, trafo_pairs = _bus_pairs(lines), _bus_pairs(trafos)
    shared = line_pairs.isin(trafo_pairs)
    if shared.any():
        pair = line_pairs[shared].iloc[0]
        names = ", ".join(f"line.{n}" for n in lines.name[line_pairs == pair])
        units = ", ".join(trafos.elements[trafo_pairs == pair]).replace(",", ", ")
        raise FeederError(
            f"{names} in parallel with {units} between buses {pair.replace('|', ' and ')}: "
            "the balanced equivalent must be a tree"
        )


def balance(feeder, z_min_ohm: float = 1e-4) -> BalancedFeeder:
    """Build the :class:`BalancedFeeder` of ``feeder`` (rules in the module docstring).

    ``z_min_ohm``: lines whose equivalent impedance is below this [ohm] become switches.
    Raises FeederError for what has no branch here: a line in parallel with a transformer
    (other than the jumper of an open-delta bank), units across phase pairs that are neither
    an open nor a closed delta bank.
    """
    lines, trafos = _lines(feeder, z_min_ohm), _transformers(feeder)
    lines, trafos = _merge_jumpers(feeder, lines, trafos)
    _check_no_parallel(lines, trafos)
    branch = pd.concat([lines, trafos], ignore_index=True)
    branch = branch.set_index("name")
    bus = feeder.bus[["vn_kv", "x", "y"]].copy()
    bus.insert(1, "n_phases", feeder.bus["nodes"].map(lambda s: len(parse_nodes(s))))
    src = feeder.source.iloc[0]
    return BalancedFeeder(
        name=feeder.name,
        bus=bus,
        branch=branch,
        load=_loads(feeder),
        shunt=_shunts(feeder),
        source={"bus": src.bus, "vm_pu": float(src.vm_pu), "va_degree": float(src.va_degree)},
        frequency_hz=feeder.frequency_hz,
    )
