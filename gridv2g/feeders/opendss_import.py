"""Read any radial OpenDSS model into a :class:`~gridv2g.feeders.Feeder`.

OpenDSS (through ``opendssdirect``) compiles the model, so every OpenDSS input feature (line
codes, geometries, ``like=``, RPN expressions, redirects) is interpreted by OpenDSS itself; the
importer then reads the circuit elements back through the API: lines (phase matrices, node
order, ampacity, switch and open state; jumpers are lines too), loads (models 1/2/5 and the
exponential model 4 exactly; others mapped to the closest with a warning), capacitors, 2-winding
transformers and regulators with the taps OpenDSS holds, and the source. Elements it cannot
represent are listed in one warning, never dropped silently.

Connections are read conductor by conductor (:func:`_connection`), which is what the IEEE test
feeders need: an explicit ground node (``bus1=832.1.0``) is a grounded wye, a 1-phase element
from a phase to ground written as delta is a grounded wye, and a single-phase wye winding whose
neutral sits on another phase (IEEE 37's ``799.1.2``) keeps that neutral node, so open- and
closed-delta regulator banks are represented exactly.
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g.errors import FeederError, GridV2GWarning, OpenDSSError
from gridv2g.feeders.dss_guard import compile_guarded
from gridv2g.feeders.model import Feeder, linecode_matrix_rows

#: OpenDSS length unit code -> km per unit. Code 0 ("none") is read as km: OpenDSS only ever
#: uses the product of length and per-length impedance, which is what the Feeder keeps.
_KM_PER_UNIT = {
    0: 1.0,
    1: 1.609344,
    2: 0.3048,
    3: 1.0,
    4: 1e-3,
    5: 0.3048e-3,
    6: 0.0254e-3,
    7: 1e-5,
    8: 1e-6,
}

#: OpenDSS load model -> (gridv2g model, note). 1, 2, 4, 5 are exact; the rest are mapped.
_LOAD_MODELS = {
    1: ("pq", None),
    2: ("z", None),
    3: ("pq", "model 3 (P constant, Q quadratic) mapped to constant PQ"),
    4: ("exp", None),
    5: ("i", None),
    6: ("pq", "model 6 (P constant, Q fixed) mapped to constant PQ"),
    7: ("pq", "model 7 (P constant, Q fixed impedance) mapped to constant PQ"),
    8: ("pq", "model 8 (ZIPV) mapped to constant PQ"),
}

#: classes that carry no power-flow physics gridv2g needs (metering, control we read once)
#: OpenDSS's default (normamps, emergamps) of a line, i.e. no rating given
_DEFAULT_AMPS = (400.0, 600.0)

_IGNORED_CLASSES = {"energymeter", "monitor", "regcontrol", "sensor"}
_HANDLED_CLASSES = {"line", "load", "capacitor", "transformer", "vsource"}


def _dss():
    import opendssdirect

    return opendssdirect


def run_command(command: str, source: str | Path | None = None) -> str:
    """Run one OpenDSS command; an OpenDSS error becomes :class:`OpenDSSError` with its text."""
    dss = _dss()
    try:
        dss.Text.Command(command)
    except Exception as exc:  # DSSException is not exported under a stable name
        where = f" in {source}" if source else ""
        raise OpenDSSError(f"OpenDSS failed{where} on '{command}': {exc}") from None
    return dss.Text.Result()


def compile_model(master: str | Path, commands=()) -> Path:
    """Clear OpenDSS, build the circuit of ``master`` and run the extra ``commands``; returns
    the path. Both are judged first (:mod:`gridv2g.feeders.dss_guard`): only commands that
    build and solve a circuit run, reports are skipped, files stay inside ``master``'s folder."""
    master = Path(master).resolve()
    if not master.is_file():
        raise OpenDSSError(f"OpenDSS model not found: {master}")
    # never OpenDSS's own compile: feeder files are read and judged command by command, so
    # that they cannot run programs, write files or read outside their folder (dss_guard)
    compile_guarded(master, commands, run_command)
    return master


def _prop(element: str, name: str) -> str:
    return run_command(f"? {element}.{name}")


def _split_bus(spec: str) -> tuple[str, list[int]]:
    parts = spec.split(".")
    return parts[0].lower(), [int(p) for p in parts[1:] if p != ""]


def _terminal_nodes(node_order: list[int], n_cond: int, terminal: int, n_nodes: int) -> list[int]:
    """The first ``n_nodes`` connections of one terminal (OpenDSS NodeOrder is flat)."""
    return list(node_order[terminal * n_cond : terminal * n_cond + n_nodes])


def _nodes_str(nodes) -> str:
    return ".".join(str(int(n)) for n in nodes)


def _terminal(order: list[int], n_cond: int, terminal: int) -> list[int]:
    """All conductors' nodes of one terminal (0-based), from OpenDSS's flat NodeOrder."""
    return list(order[terminal * n_cond : (terminal + 1) * n_cond])


def _connection(
    element: str, spec: str, conductors: list[int], phases: int, is_delta: bool, neutral: int
) -> tuple[str, str, int]:
    """Phase nodes, connection and neutral node of one terminal of a shunt element or winding.

    ``conductors`` are the terminal's nodes in conductor order and ``neutral`` the node of the
    wye neutral (0 = ground). OpenDSS allows node 0 anywhere; the tables keep phase nodes only:

    - a 1-phase element between a phase and ground is a grounded wye on that phase, whether
      written wye (``832.1.0``) or delta (``832.1.0`` with conn=delta): ground removes the
      only entry in which the two differ;
    - a 1-phase wye element whose neutral is another phase (``799.1.2``) keeps it as
      ``neutral``: OpenDSS's antifloat admittance is not the same as for delta, so mapping
      it to delta would move the floating nodes of a delta feeder;
    - a 1-phase delta element spans its two nodes (``"1.2"``);
    - node 0 on a phase conductor of any other element is not a connection the tables can
      hold, and gives a FeederError naming the element.

    ``element`` (``"load.x"``) and ``spec`` (its bus spec) only name it in errors; a reversed
    winding (``0.2``) is refused for transformers, where the polarity matters.
    """
    where = f"{element} (bus {spec})"
    if phases == 1:
        a, b = conductors[0], conductors[1] if is_delta else neutral
        if a == b:
            raise FeederError(f"{where}: both ends on node {a}, the element is short-circuited")
        if a == 0:
            if element.startswith("transformer."):
                raise FeederError(
                    f"{where}: winding from ground to node {b}: reversed polarity is not "
                    "supported, write the phase node first"
                )
            a, b = b, 0  # a load or capacitor does not care which end is which
        if b == 0:
            return str(a), "wye", 0
        return (f"{a}.{b}", "delta", 0) if is_delta else (str(a), "wye", b)
    nodes = conductors[:phases]
    if 0 in nodes:
        raise FeederError(
            f"{where}: a phase conductor of this {phases}-phase element is on ground (node 0)"
        )
    if is_delta:
        return _nodes_str(nodes), "delta", 0
    if neutral in nodes:
        raise FeederError(f"{where}: the wye neutral is on its own phase node {neutral}")
    return _nodes_str(nodes), "wye", neutral


def _wye_neutral(conductors: list[int], phases: int) -> int:
    """Node of the neutral conductor that follows the phase conductors (0 if there is none)."""
    return conductors[phases] if len(conductors) > phases else 0


def from_opendss(
    master: str | Path,
    commands=(),
    solve: bool = False,
    name: str | None = None,
    keep_default_amps: bool = False,
) -> Feeder:
    """Compile an OpenDSS model and read it into a :class:`Feeder`.

    Parameters
    ----------
    master
        Path of the master ``.dss`` file (compiled with OpenDSS's ``compile``).
    commands
        Extra OpenDSS commands run after compiling, e.g. fixing regulator taps
        (``"Transformer.reg1a.wdg=2 Tap=1.04375"``) or ``"Buscoords BusCoords.dat"``.
    solve
        Solve a snapshot first so that controls (RegControl, CapControl) settle and the
        importer reads the taps and capacitor states they reach. Otherwise the taps and states
        held after compiling are read.
    name
        Feeder name; default: the OpenDSS circuit name.
    keep_default_amps
        OpenDSS gives every line normamps=400, emergamps=600 unless told otherwise, so that
        pair almost always means "no rating given" (the IEEE 123-bus trunk carries 629 A).
        By default such lines get an unknown ampacity (NaN); set True to keep 400/600 A.

    Raises
    ------
    OpenDSSError
        The file is missing or OpenDSS cannot compile it (OpenDSS's message, file and line).
    FeederError
        The circuit is not a radial, connected feeder, or its data is inconsistent; or an
        element's connection has no place in the tables (a line or a multi-phase element with
        a phase conductor on ground, a short-circuited element, a transformer winding from
        ground to a phase): the message names the element and its bus spec.
    """
    master = compile_model(master, commands)
    dss = _dss()
    run_command("makebuslist")
    if solve:
        run_command("solve", source=master)
    # OpenDSS computes the phase matrices of a line given by sequence impedances (r1 x1 r0 x0,
    # as jumpers are) only when it builds the Y matrix: before a solve, Lines.RMatrix still
    # holds the defaults. Building Y updates them without solving or moving any control.
    dss.Solution.BuildYMatrix(1, 1)
    notes: list[str] = []
    source = _read_source(dss, notes)
    line, linecode, lcm = _read_lines(dss, notes)
    if not keep_default_amps and len(line):
        default = (line.max_i_a == _DEFAULT_AMPS[0]) & (line.emerg_i_a == _DEFAULT_AMPS[1])
        line.loc[default, ["max_i_a", "emerg_i_a"]] = np.nan
    transformer = _read_transformers(dss, notes)
    load = _read_loads(dss, notes)
    capacitor = _read_capacitors(dss, notes)
    bus = _read_buses(dss, source, transformer)
    notes.extend(_unrepresented(dss))

    bus, removed = _drop_isolated(bus, source, line, transformer)
    if removed:
        notes.append(
            f"{len(removed)} bus(es) not connected to the source were left out, with the "
            f"elements on them: {', '.join(sorted(removed)[:20])}"
        )
        kept = set(bus["name"])
        line = _on_buses(line, kept, "from_bus", "to_bus")
        transformer = _on_buses(transformer, kept, "from_bus", "to_bus")
        load = _on_buses(load, kept, "bus")
        capacitor = _on_buses(capacitor, kept, "bus")
        if len(line):
            linecode = linecode[linecode["name"].isin(line.linecode)]
            lcm = lcm[lcm.linecode.isin(linecode["name"])]
    if notes:
        warnings.warn(
            f"from_opendss({master.name}): " + "; ".join(notes), GridV2GWarning, stacklevel=2
        )
    return Feeder(
        name=name or dss.Circuit.Name(),
        description=f"imported from {master.name} by gridv2g.feeders.from_opendss",
        frequency_hz=float(dss.Solution.Frequency()),
        bus=bus,
        linecode=linecode,
        linecode_matrix=lcm,
        line=line,
        load=load,
        capacitor=capacitor,
        transformer=transformer,
        source=source,
    )


def _read_source(dss, notes: list[str]) -> pd.DataFrame:
    rows = []
    idx = dss.Vsources.First()
    while idx > 0:
        element = f"vsource.{dss.Vsources.Name()}"
        bus, _ = _split_bus(dss.CktElement.BusNames()[0])
        rows.append(
            {
                "name": dss.Vsources.Name(),
                "bus": bus,
                "vn_kv": dss.Vsources.BasekV(),
                "vm_pu": dss.Vsources.PU(),
                "va_degree": dss.Vsources.AngleDeg(),
                "r1_ohm": float(_prop(element, "r1")),
                "x1_ohm": float(_prop(element, "x1")),
                "r0_ohm": float(_prop(element, "r0")),
                "x0_ohm": float(_prop(element, "x0")),
            }
        )
        idx = dss.Vsources.Next()
    if len(rows) > 1:
        notes.append(f"only the first Vsource is kept; ignored: {[r['name'] for r in rows[1:]]}")
    return pd.DataFrame(rows[:1])


def _linecode_units(dss) -> dict[str, int]:
    """Length-unit code of every OpenDSS line code, by lower-case name."""
    units = {}
    idx = dss.LineCodes.First()
    while idx > 0:
        units[dss.LineCodes.Name().lower()] = dss.LineCodes.Units()
        idx = dss.LineCodes.Next()
    return units


def _read_lines(dss, notes: list[str]):
    rows, codes, matrices = [], {}, []
    disabled = []
    code_units = _linecode_units(dss)
    idx = dss.Lines.First()
    while idx > 0:
        name = dss.Lines.Name()
        if not dss.CktElement.Enabled():
            disabled.append(name)
            idx = dss.Lines.Next()
            continue
        n = dss.Lines.Phases()
        units = dss.Lines.Units()
        if units == 0:
            # no units on the line: OpenDSS then reads the length in its line code's units
            units = code_units.get(dss.Lines.LineCode().lower(), 0)
        km = _KM_PER_UNIT.get(units, 1.0)
        r = np.reshape(dss.Lines.RMatrix(), (n, n)) / km
        x = np.reshape(dss.Lines.XMatrix(), (n, n)) / km
        c = np.reshape(dss.Lines.CMatrix(), (n, n)) / km
        code = _dedup_code(dss.Lines.LineCode() or f"line_{name}", (r, x, c), codes, matrices)
        b1, b2 = dss.CktElement.BusNames()
        order = list(dss.CktElement.NodeOrder())
        n_cond = dss.CktElement.NumConductors()
        if 0 in _terminal_nodes(order, n_cond, 0, n) + _terminal_nodes(order, n_cond, 1, n):
            raise FeederError(
                f"line.{name} (bus1={b1} bus2={b2}): a conductor is on ground (node 0); a "
                "line must join phase nodes"
            )
        open_terms = [t for t in (1, 2) if dss.CktElement.IsOpen(t, 0)]
        rows.append(
            {
                "name": name,
                "from_bus": _split_bus(b1)[0],
                "to_bus": _split_bus(b2)[0],
                "from_nodes": _nodes_str(_terminal_nodes(order, n_cond, 0, n)),
                "to_nodes": _nodes_str(_terminal_nodes(order, n_cond, 1, n)),
                "linecode": code,
                "length_km": dss.Lines.Length() * km,
                "max_i_a": dss.Lines.NormAmps(),
                "emerg_i_a": dss.Lines.EmergAmps(),
                "is_switch": bool(dss.Lines.IsSwitch()),
                "closed": not open_terms,
            }
        )
        idx = dss.Lines.Next()
    if disabled:
        notes.append(f"disabled lines left out: {disabled}")
    line = pd.DataFrame(rows)
    linecode = pd.DataFrame(
        {"name": list(codes), "n_phases": [codes[k][0].shape[0] for k in codes]}
    )
    lcm = (
        pd.concat(matrices, ignore_index=True)
        if matrices
        else linecode_matrix_rows("none", np.zeros((0, 0)), np.zeros((0, 0))).iloc[:0]
    )
    return line, linecode, lcm


def _dedup_code(base: str, mats, codes: dict, matrices: list) -> str:
    """Name of a line code holding ``mats``: the OpenDSS code name if its matrices match."""
    base = base.lower()
    candidates = [base] + [f"{base}_{k}" for k in range(1, 10_000)]
    for cand in candidates:
        if cand not in codes:
            codes[cand] = mats
            matrices.append(linecode_matrix_rows(cand, *mats))
            return cand
        if all(
            a.shape == b.shape and np.allclose(a, b, rtol=1e-12, atol=0)
            for a, b in zip(codes[cand], mats, strict=True)
        ):
            return cand
    raise RuntimeError("too many distinct line codes")  # pragma: no cover


def _read_transformers(dss, notes: list[str]) -> pd.DataFrame:
    regulated = {}
    idx = dss.RegControls.First()
    while idx > 0:
        regulated[dss.RegControls.Transformer().lower()] = dss.RegControls.Name()
        idx = dss.RegControls.Next()
    rows, skipped = [], []
    idx = dss.Transformers.First()
    while idx > 0:
        name = dss.Transformers.Name()
        element = f"transformer.{name}"
        if dss.Transformers.NumWindings() != 2 or not dss.CktElement.Enabled():
            skipped.append(name)
            idx = dss.Transformers.Next()
            continue
        phases = dss.CktElement.NumPhases()
        n_cond = dss.CktElement.NumConductors()
        order = list(dss.CktElement.NodeOrder())
        buses = dss.CktElement.BusNames()
        wdg = {}
        for w in (1, 2):
            dss.Transformers.Wdg(w)
            wdg[w] = {
                "kv": dss.Transformers.kV(),
                "kva": dss.Transformers.kVA(),
                "r": dss.Transformers.R(),
                "tap": dss.Transformers.Tap(),
                "delta": bool(dss.Transformers.IsDelta()),
            }
            conductors = _terminal(order, n_cond, w - 1)
            wdg[w]["nodes"], wdg[w]["conn"], wdg[w]["neutral"] = _connection(
                element,
                buses[w - 1],
                conductors,
                phases,
                wdg[w]["delta"],
                _wye_neutral(conductors, phases),
            )
        rows.append(
            {
                "name": name,
                "from_bus": _split_bus(buses[0])[0],
                "to_bus": _split_bus(buses[1])[0],
                "from_nodes": wdg[1]["nodes"],
                "to_nodes": wdg[2]["nodes"],
                "from_conn": wdg[1]["conn"],
                "to_conn": wdg[2]["conn"],
                "from_neutral": wdg[1]["neutral"],
                "to_neutral": wdg[2]["neutral"],
                "from_kv": wdg[1]["kv"],
                "to_kv": wdg[2]["kv"],
                "sn_kva": wdg[1]["kva"],
                "from_r_percent": wdg[1]["r"],
                "to_r_percent": wdg[2]["r"],
                "x_percent": dss.Transformers.Xhl(),
                "from_tap": wdg[1]["tap"],
                "to_tap": wdg[2]["tap"],
                "noloadloss_percent": float(_prop(element, "%noloadloss")),
                "imag_percent": float(_prop(element, "%imag")),
                "ppm_antifloat": float(_prop(element, "ppm_antifloat")),
                "is_regulator": name.lower() in regulated,
                "bank": _prop(element, "bank").strip(),
            }
        )
        idx = dss.Transformers.Next()
    if skipped:
        notes.append(f"transformers with other than 2 windings, or disabled, left out: {skipped}")
    return pd.DataFrame(rows)


def _read_loads(dss, notes: list[str]) -> pd.DataFrame:
    rows, mapped = [], {}
    idx = dss.Loads.First()
    while idx > 0:
        name = dss.Loads.Name()
        if not dss.CktElement.Enabled():
            idx = dss.Loads.Next()
            continue
        phases = dss.CktElement.NumPhases()
        spec = dss.CktElement.BusNames()[0]
        conductors = list(dss.CktElement.NodeOrder())  # one terminal
        nodes, conn, neutral = _connection(
            f"load.{name}",
            spec,
            conductors,
            phases,
            bool(dss.Loads.IsDelta()),
            _wye_neutral(conductors, phases),
        )
        model, note = _LOAD_MODELS.get(dss.Loads.Model(), ("pq", "unknown model"))
        if note:
            mapped.setdefault(note, []).append(name)
        exponential = model == "exp"
        rows.append(
            {
                "name": name,
                "bus": _split_bus(spec)[0],
                "nodes": nodes,
                "conn": conn,
                "neutral": neutral,
                "model": model,
                "vn_kv": dss.Loads.kV(),
                "p_kw": dss.Loads.kW(),
                "q_kvar": dss.Loads.kvar(),
                "vmin_pu": dss.Loads.Vminpu(),
                "vmax_pu": dss.Loads.Vmaxpu(),
                "cvr_p": dss.Loads.CVRwatts() if exponential else np.nan,
                "cvr_q": dss.Loads.CVRvars() if exponential else np.nan,
            }
        )
        idx = dss.Loads.Next()
    for note, names in mapped.items():
        notes.append(f"loads {names}: {note}")
    return pd.DataFrame(rows)


def _read_capacitors(dss, notes: list[str]) -> pd.DataFrame:
    rows, series = [], []
    idx = dss.Capacitors.First()
    while idx > 0:
        name = dss.Capacitors.Name()
        if not dss.CktElement.Enabled():
            idx = dss.Capacitors.Next()
            continue
        phases = dss.CktElement.NumPhases()
        delta = bool(dss.Capacitors.IsDelta())
        order = list(dss.CktElement.NodeOrder())
        specs = dss.CktElement.BusNames()
        # a wye capacitor's second terminal is its star point: to be a shunt it must be on the
        # same bus, every phase on one node (0 = grounded, the OpenDSS default)
        star = set(order[phases:]) if not delta else {0}
        if not delta and (_split_bus(specs[1])[0] != _split_bus(specs[0])[0] or len(star) != 1):
            series.append(name)
            idx = dss.Capacitors.Next()
            continue
        nodes, conn, neutral = _connection(
            f"capacitor.{name}", specs[0], order, phases, delta, star.pop()
        )
        states = list(dss.Capacitors.States())
        n_steps = max(len(states), 1)
        q_kvar = dss.Capacitors.kvar() * sum(states) / n_steps
        if sum(states) < n_steps:
            notes.append(f"capacitor {name}: {n_steps - sum(states)} of {n_steps} steps off")
        rows.append(
            {
                "name": name,
                "bus": _split_bus(specs[0])[0],
                "nodes": nodes,
                "conn": conn,
                "neutral": neutral,
                "vn_kv": dss.Capacitors.kV(),
                "q_kvar": q_kvar,
            }
        )
        idx = dss.Capacitors.Next()
    if series:
        notes.append(f"series capacitors (second terminal not a star point) left out: {series}")
    return pd.DataFrame(rows)


def _read_buses(dss, source: pd.DataFrame, transformer: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for bus in dss.Circuit.AllBusNames():
        dss.Circuit.SetActiveBus(bus)
        coord = bool(dss.Bus.Coorddefined())
        rows.append(
            {
                "name": bus.lower(),
                "vn_kv": dss.Bus.kVBase() * math.sqrt(3.0),
                "nodes": _nodes_str(sorted(n for n in dss.Bus.Nodes() if n > 0)),
                "x": dss.Bus.X() if coord else np.nan,
                "y": dss.Bus.Y() if coord else np.nan,
            }
        )
    bus = pd.DataFrame(rows).set_index("name")
    if (bus.vn_kv <= 0).any():
        bus["vn_kv"] = _propagate_bases(bus, source, transformer)
    return bus.reset_index()


def _propagate_bases(bus: pd.DataFrame, source: pd.DataFrame, transformer: pd.DataFrame):
    """Voltage bases when the model sets none: the source kV, scaled across transformers.

    Used only if OpenDSS has no ``VoltageBases``; lines keep the base, a transformer scales it
    by its rated ratio (line-to-line equivalents of the winding kV).
    """
    known = bus.vn_kv.where(bus.vn_kv > 0)
    src = source.iloc[0]
    known[src.bus] = src.vn_kv
    ratio = {}
    for _, t in transformer.iterrows():
        ll = (
            _winding_ll_factor(t.from_nodes, t.from_conn, t.from_neutral),
            _winding_ll_factor(t.to_nodes, t.to_conn, t.to_neutral),
        )
        ratio[(t.from_bus, t.to_bus)] = (t.to_kv * ll[1]) / (t.from_kv * ll[0])
        ratio[(t.to_bus, t.from_bus)] = (t.from_kv * ll[0]) / (t.to_kv * ll[1])
    dss = _dss()
    adjacency: dict[str, list[str]] = {}
    for element in dss.Circuit.AllElementNames():
        cls = element.split(".")[0].lower()
        if cls not in ("line", "transformer"):
            continue
        dss.Circuit.SetActiveElement(element)
        names = [_split_bus(b)[0] for b in dss.CktElement.BusNames()]
        if len(names) == 2:
            adjacency.setdefault(names[0], []).append(names[1])
            adjacency.setdefault(names[1], []).append(names[0])
    queue = deque([src.bus])
    seen = {src.bus}
    while queue:
        a = queue.popleft()
        for b in adjacency.get(a, []):
            if b in seen:
                continue
            seen.add(b)
            known[b] = known[a] * ratio.get((a, b), 1.0)
            queue.append(b)
    return known.fillna(src.vn_kv)


def _winding_ll_factor(nodes: str, conn: str, neutral: int) -> float:
    """Factor turning a winding kV into a line-to-line kV: sqrt(3) for 1-phase grounded wye.

    A 1-phase wye winding whose neutral is another phase is across two phases already.
    """
    n = len(nodes.split("."))
    return math.sqrt(3.0) if (conn == "wye" and n == 1 and neutral == 0) else 1.0


def _unrepresented(dss) -> list[str]:
    skipped: dict[str, list[str]] = {}
    for element in dss.Circuit.AllElementNames():
        cls, _, name = element.partition(".")
        if cls.lower() in _HANDLED_CLASSES | _IGNORED_CLASSES:
            continue
        skipped.setdefault(cls, []).append(name)
    return [
        f"{len(names)} {cls} element(s) not represented: {', '.join(names[:20])}"
        for cls, names in skipped.items()
    ]


def _on_buses(df: pd.DataFrame, buses: set, *columns: str) -> pd.DataFrame:
    """Rows of ``df`` whose bus columns are all in ``buses`` (an empty table stays as it is)."""
    if df.empty:
        return df
    keep = np.logical_and.reduce([df[c].isin(buses).to_numpy() for c in columns])
    return df[keep]


def _drop_isolated(bus, source, line, transformer):
    """Remove buses that no closed line or transformer path joins to the source."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(bus.name)
    closed = line[line.closed] if len(line) else line
    if len(closed):
        graph.add_edges_from(zip(closed.from_bus, closed.to_bus, strict=True))
    if len(transformer):
        graph.add_edges_from(zip(transformer.from_bus, transformer.to_bus, strict=True))
    reached = nx.node_connected_component(graph, source.bus.iloc[0])
    removed = [b for b in bus.name if b not in reached]
    return bus[bus.name.isin(reached)], removed
