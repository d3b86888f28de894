"""Read any radial OpenDSS model into a :class:`~gridv2g.feeders.Feeder`.

OpenDSS (through ``opendssdirect``) compiles the model, so every OpenDSS input feature (line
codes, geometries, ``like=``, RPN expressions, redirects) is interpreted by OpenDSS itself; the
importer then reads the circuit elements back through the API: lines (phase matrices, node
order, ampacity, switch and open state; jumpers are lines too), loads (models 1/2/5 and the
exponential model 4 exactly; others mapped to the closest with a warning), capacitors, 2-winding
transformers and regulators with the taps OpenDSS holds, and the source. Elements it cannot
represent are listed in one warning, never dropped silently.

Topology is read as OpenDSS solves it. Disabled elements (``enabled=no``, ``Disable``) are not
there. A line or transformer whose terminal is open (``Open Line.sw 1``) carries nothing: an
open line stays in the table with ``closed=False`` (so a normally-open tie is no loop), an open
transformer, load or capacitor is left out. Buses that no closed path joins to the source are
de-energized (OpenDSS gives them 0 V): they are left out with everything on them, in the one
warning, which names the open or disabled elements that cut them off. What gridv2g cannot import
faithfully is a :class:`~gridv2g.errors.FeederError` naming the master file and the element: a
source connected to nothing, an element with some but not all phases open, and an element the
tables cannot hold (a transformer with 3 windings, a series reactor) through which OpenDSS
energizes buses.

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
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
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
        The circuit is not a radial feeder, or its data is inconsistent; or an element's
        connection has no place in the tables (a line or a multi-phase element with a phase
        conductor on ground, a short-circuited element, a transformer winding from ground to a
        phase); or the source is connected to nothing; or an element has some but not all of
        its phases open; or OpenDSS energizes buses through an element the tables cannot hold
        (a transformer with 3 windings, a series reactor). The message names the master file
        and the element.

    Warns
    -----
    GridV2GWarning
        Once, listing everything left out or approximated: de-energized buses with the elements
        on them and the open or disabled elements that cut them off, disabled elements, open
        transformers, loads and capacitors, elements of classes gridv2g does not read.
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
    try:
        feeder = _import(dss, notes, name, keep_default_amps, master)
    except FeederError as exc:
        # the element is named inside; the file it came from only here
        raise FeederError(f"{master}: {exc}") from None
    if notes:
        warnings.warn(
            f"from_opendss({master.name}): " + "; ".join(notes), GridV2GWarning, stacklevel=2
        )
    return feeder


def _import(dss, notes: list[str], name, keep_default_amps: bool, master: Path) -> Feeder:
    """Read the compiled circuit into a Feeder; what is left out goes to ``notes``."""
    census = _census(dss)
    disabled = [e.label for e in census.values() if not e.enabled]
    if disabled:
        notes.append(f"disabled elements ignored, as OpenDSS does: {_some(disabled)}")
    source = _read_source(dss, notes)
    if source.empty:
        raise FeederError("the circuit has no enabled Vsource")
    line, linecode, lcm = _read_lines(dss, census)
    if not keep_default_amps and len(line):
        default = (line.max_i_a == _DEFAULT_AMPS[0]) & (line.emerg_i_a == _DEFAULT_AMPS[1])
        line.loc[default, ["max_i_a", "emerg_i_a"]] = np.nan
    transformer = _read_transformers(dss, notes, census)
    load = _read_loads(dss, notes, census)
    capacitor = _read_capacitors(dss, notes, census)
    bus = _read_buses(dss, source, line, transformer)
    notes.extend(_unrepresented(census))

    bus, removed, idle_note = _drop_isolated(bus, source, line, transformer, census)
    if idle_note:
        notes.append(idle_note)
    kept = set(bus["name"])
    if removed:
        left_out = {
            "lines": _off_buses(line, kept, "from_bus", "to_bus"),
            "transformers": _off_buses(transformer, kept, "from_bus", "to_bus")
            + [
                e.label.partition(".")[2]
                for e in census.values()
                if e.enabled and e.multiwinding and not set(e.buses) & kept
            ],
            "loads": _off_buses(load, kept, "bus"),
            "capacitors": _off_buses(capacitor, kept, "bus"),
        }
        with_them = "; ".join(f"{k} {_some(v)}" for k, v in left_out.items() if v)
        cut = _cut_by(census, set(removed), kept)
        notes.append(
            f"{len(removed)} de-energized bus(es) left out (no closed path to the source, "
            f"OpenDSS gives them 0 V): {_some(sorted(removed))}; "
            + (f"cut off by {cut}" if cut else "no element joins them to the source")
            + (f"; left out with them: {with_them}" if with_them else "")
        )
        line = _on_buses(line, kept, "from_bus", "to_bus")
        transformer = _on_buses(transformer, kept, "from_bus", "to_bus")
        load = _on_buses(load, kept, "bus")
        capacitor = _on_buses(capacitor, kept, "bus")
        if len(line):
            linecode = linecode[linecode["name"].isin(line.linecode)]
            lcm = lcm[lcm.linecode.isin(linecode["name"])]
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


#: most element names quoted in one message
_MAX_LISTED = 20


def _some(names) -> str:
    """Comma-separated names, the first :data:`_MAX_LISTED` of them and the count."""
    names = list(names)
    text = ", ".join(str(n) for n in names[:_MAX_LISTED])
    return text + (f", ... ({len(names)} in all)" if len(names) > _MAX_LISTED else "")


@dataclass
class _Element:
    """What OpenDSS holds about one circuit element's connections."""

    label: str  # "Line.sw", as OpenDSS spells it
    enabled: bool
    buses: list[str]  # bus of each terminal
    open_terminals: list[int]  # 1-based terminals with every phase conductor open

    @property
    def closed_buses(self) -> set[str]:
        """Buses of the terminals that are not open: the ones it joins (one = shunt only)."""
        return {b for t, b in enumerate(self.buses, start=1) if t not in self.open_terminals}

    @property
    def multiwinding(self) -> bool:
        """A transformer with other than 2 windings (one terminal per winding)."""
        return self.label.lower().startswith("transformer.") and len(self.buses) != 2

    def joins(self) -> bool:
        """Whether OpenDSS lets current through it between two different buses."""
        return self.enabled and len(self.closed_buses) >= 2


def _census(dss) -> dict[str, _Element]:
    """Every circuit element, disabled ones included (the class iterators skip those), with
    its terminal buses and open terminals; by lower-case ``class.name``.

    A terminal is open when all its phase conductors are (``Open Line.sw 1``, ``Open Line.sw
    1 0``); some but not all of them open on a line, transformer, load or capacitor is a
    FeederError: the tables hold whole elements, and dropping or keeping it would be wrong.
    """
    out = {}
    for element in dss.Circuit.AllElementNames():
        dss.Circuit.SetActiveElement(element)
        buses = [_split_bus(b)[0] for b in dss.CktElement.BusNames()]
        enabled = bool(dss.CktElement.Enabled())
        opened = []
        if enabled:
            phases = dss.CktElement.NumPhases()
            n_cond = dss.CktElement.NumConductors()
            for t in range(1, len(buses) + 1):
                if not dss.CktElement.IsOpen(t, 0):  # no conductor of it open (the usual case)
                    continue
                conductors = [c for c in range(1, n_cond + 1) if dss.CktElement.IsOpen(t, c)]
                if set(range(1, phases + 1)) <= set(conductors):
                    opened.append(t)
                elif element.partition(".")[0].lower() in _HANDLED_CLASSES:
                    raise FeederError(
                        f"{element} (terminal {t} at bus {buses[t - 1]}): conductor(s) "
                        f"{conductors} of {n_cond} open but not all its phases; a partly open "
                        "element is not supported: open all its phases, or model the phases "
                        "that stay closed as an element of their own"
                    )
        out[element.lower()] = _Element(element, enabled, buses, opened)
    return out


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


def _read_lines(dss, census: dict[str, _Element]):
    """Line, line code and line code matrix tables of the enabled lines (open ones too)."""
    rows, codes, matrices = [], {}, []
    code_units = _linecode_units(dss)
    idx = dss.Lines.First()
    while idx > 0:
        name = dss.Lines.Name()
        if not dss.CktElement.Enabled():  # the iterator skips them; kept should that change
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
                "closed": not census[f"line.{name.lower()}"].open_terminals,
            }
        )
        idx = dss.Lines.Next()
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


def _read_transformers(dss, notes: list[str], census: dict[str, _Element]) -> pd.DataFrame:
    """The enabled 2-winding transformers that are not open.

    One with another number of windings is not read here: :func:`_drop_isolated` refuses it
    if it is energized and leaves it out with its de-energized island otherwise. An open one
    (a terminal with every phase open) carries no power and is left out, with a note.
    """
    regulated = {}
    idx = dss.RegControls.First()
    while idx > 0:
        regulated[dss.RegControls.Transformer().lower()] = dss.RegControls.Name()
        idx = dss.RegControls.Next()
    rows, opened, magnetizing = [], [], []
    idx = dss.Transformers.First()
    while idx > 0:
        name = dss.Transformers.Name()
        element = f"transformer.{name}"
        if dss.Transformers.NumWindings() != 2 or not dss.CktElement.Enabled():
            idx = dss.Transformers.Next()
            continue
        open_terminals = census[element.lower()].open_terminals
        if open_terminals:
            opened.append(f"{name} (terminal {_nodes_str(open_terminals)})")
            # open on the secondary only, the primary still draws its no-load current
            no_load = float(_prop(element, "%noloadloss")) + float(_prop(element, "%imag"))
            if 1 not in open_terminals and no_load > 0:
                magnetizing.append(name)
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
    if opened:
        notes.append(f"open transformers left out (they carry no power): {_some(opened)}")
    if magnetizing:
        notes.append(
            "the no-load losses and magnetizing current of the open transformers "
            f"{_some(magnetizing)}, which OpenDSS still draws from their primary, are not "
            "represented"
        )
    return pd.DataFrame(rows)


def _read_loads(dss, notes: list[str], census: dict[str, _Element]) -> pd.DataFrame:
    """The enabled loads; an open one draws nothing and is left out, with a note."""
    rows, mapped, opened = [], {}, []
    idx = dss.Loads.First()
    while idx > 0:
        name = dss.Loads.Name()
        if not dss.CktElement.Enabled():
            idx = dss.Loads.Next()
            continue
        if census[f"load.{name.lower()}"].open_terminals:
            opened.append(name)
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
    if opened:
        notes.append(f"open loads left out (they draw nothing): {_some(opened)}")
    return pd.DataFrame(rows)


def _read_capacitors(dss, notes: list[str], census: dict[str, _Element]) -> pd.DataFrame:
    """The enabled shunt capacitors with the kvar of their closed steps.

    One open at its bus terminal draws nothing and is left out, with a note; one open at its
    star point only (a floating wye) is a FeederError.
    """
    rows, series, opened = [], [], []
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
        open_terminals = census[f"capacitor.{name.lower()}"].open_terminals
        if 1 in open_terminals:
            opened.append(name)
            idx = dss.Capacitors.Next()
            continue
        if open_terminals:
            raise FeederError(
                f"capacitor.{name}: open at its star point (terminal 2) only; a floating wye "
                "capacitor is not supported"
            )
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
    if opened:
        notes.append(f"open capacitors left out (they draw nothing): {_some(opened)}")
    return pd.DataFrame(rows)


def _read_buses(
    dss, source: pd.DataFrame, line: pd.DataFrame, transformer: pd.DataFrame
) -> pd.DataFrame:
    """Every bus OpenDSS knows: line-to-line base [kV], phase nodes, coordinates."""
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
        bus["vn_kv"] = _propagate_bases(bus, source, line, transformer)
    return bus.reset_index()


def _propagate_bases(
    bus: pd.DataFrame, source: pd.DataFrame, line: pd.DataFrame, transformer: pd.DataFrame
):
    """Voltage bases when the model sets none: the source kV, scaled across transformers.

    Used only if OpenDSS has no ``VoltageBases``; lines (open ones too) keep the base, a
    transformer scales it by its rated ratio (line-to-line equivalents of the winding kV).
    Only the elements read are followed: a disabled or open transformer, whose ratio is not
    read, must not pass on its primary's base.
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
    adjacency: dict[str, list[str]] = {}
    for df in (line, transformer):
        if df.empty:
            continue
        for a, b in zip(df.from_bus, df.to_bus, strict=True):
            adjacency.setdefault(a, []).append(b)
            adjacency.setdefault(b, []).append(a)
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


def _unrepresented(census: dict[str, _Element]) -> list[str]:
    """Notes naming the enabled elements of classes gridv2g does not read, by class."""
    skipped: dict[str, list[str]] = {}
    for element in census.values():
        cls, _, name = element.label.partition(".")
        if not element.enabled or cls.lower() in _HANDLED_CLASSES | _IGNORED_CLASSES:
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


def _off_buses(df: pd.DataFrame, buses: set, *columns: str) -> list[str]:
    """Names of the rows of ``df`` that :func:`_on_buses` leaves out."""
    if df.empty:
        return []
    return list(df.name[~df.index.isin(_on_buses(df, buses, *columns).index)])


def _energized(src: str, edges) -> set[str]:
    """Buses joined to ``src`` by ``edges`` (pairs of bus names), ``src`` included."""
    graph = nx.Graph()
    graph.add_edges_from(edges)
    graph.add_node(src)
    return nx.node_connected_component(graph, src)


def _star(buses) -> list[tuple[str, str]]:
    """Edges joining every bus of an element to its first: connectivity is all that counts."""
    buses = sorted(buses)
    return [(buses[0], b) for b in buses[1:]]


def _drop_isolated(bus, source, line, transformer, census: dict[str, _Element]):
    """The buses that a closed line or transformer path joins to the source, the
    de-energized others, and a note on idle buses left out (see below).

    OpenDSS's own topology (every enabled element that joins buses through closed terminals,
    :func:`_census`) is the reference, so that no bus is reported de-energized that OpenDSS
    energizes. It is a FeederError naming the element when OpenDSS energizes a bus only
    through an element the tables cannot hold, or energizes a transformer with other than 2
    windings (leaving it out would drop or reroute the power it carries); and when the source
    energizes no other bus. Buses OpenDSS reaches only through a series element not read and
    with nothing else on them carry no current: they are left out with a note of their own.
    """
    src = str(source.bus.iloc[0])
    closed = line[line.closed] if len(line) else line
    ours = _energized(
        src,
        [
            *(zip(closed.from_bus, closed.to_bus, strict=True) if len(closed) else []),
            *(
                zip(transformer.from_bus, transformer.to_bus, strict=True)
                if len(transformer)
                else []
            ),
        ],
    )
    joining = [e for e in census.values() if e.joins()]
    theirs = _energized(src, [edge for e in joining for edge in _star(e.closed_buses)])
    # a bus OpenDSS energizes and the tables do not is reached, along OpenDSS's path, through
    # an element with a bus on each side; a line or transformer read would have joined them
    missing = theirs - ours
    culprits = [
        e
        for e in joining
        if (e.multiwinding and e.closed_buses & theirs)
        or (e.closed_buses & ours and e.closed_buses & missing)
    ]
    # buses beyond a series element not read, with nothing else on them, carry no current:
    # leaving them out changes nothing (a series capacitor to an empty bus, say)
    beyond = [e for e in census.values() if e.enabled and set(e.buses) & missing]
    idle = bool(missing) and not any(e.multiwinding for e in culprits)
    idle = idle and {e.label for e in beyond} <= {e.label for e in culprits}
    if culprits and not idle:
        raise FeederError(_not_importable(culprits, missing))
    if theirs == {src}:
        vsource = f"Vsource.{source.name.iloc[0]}"
        others = bus.name[bus.name != src]
        cut = _cut_by(census, {src}, set())
        raise FeederError(
            f"the source ({vsource} at bus '{src}') is connected to nothing: no closed line "
            f"or transformer leaves bus '{src}'"
            + (f" ({cut} at it)" if cut else "")
            + ", so OpenDSS gives every other bus 0 V"
            + (f" ({_some(others)})" if len(others) else "")
        )
    energized = bus.name.isin(ours)
    idle_note = (
        f"bus(es) {_some(sorted(missing))}, reached only through "
        f"{_some(e.label for e in culprits)} (not represented) and with nothing else on them, "
        "left out: no current flows there"
        if idle
        else ""
    )
    dead = bus.name[~energized & ~bus.name.isin(missing)]
    return bus[energized], list(dead), idle_note


def _not_importable(culprits: list[_Element], missing: set) -> str:
    """What OpenDSS energizes that the tables cannot hold, element by element, and why."""
    parts = []
    for e in culprits:
        buses = ", ".join(e.buses)
        if e.multiwinding:
            parts.append(
                f"{e.label} has {len(e.buses)} windings (buses {buses}): gridv2g holds "
                "2-winding transformers only; model it as 2-winding transformers (a "
                "center-tapped split-phase service transformer as one winding to the full "
                "secondary voltage, with the loads across it)"
            )
        else:
            parts.append(f"{e.label} (buses {buses}) is an element gridv2g does not represent")
    text = "; ".join(parts)
    if missing:
        text += (
            f"; OpenDSS energizes bus(es) {_some(sorted(missing))} only through "
            f"{'it' if len(culprits) == 1 else 'them'}, so they cannot be imported"
        )
    return text


def _cut_by(census: dict[str, _Element], cut: set, kept: set) -> str:
    """The open or disabled elements joining a bus in ``cut`` to one in ``kept`` (or, with
    ``kept`` empty, touching ``cut``): what cuts the de-energized part off ("" if none)."""
    found = []
    for e in census.values():
        buses = set(e.buses)
        if len(buses) < 2 or not buses & cut or (kept and not buses & kept):
            continue
        if not e.enabled:
            found.append(f"{e.label} (disabled)")
        elif e.open_terminals:
            found.append(f"{e.label} (open at terminal {_nodes_str(e.open_terminals)})")
    return _some(found)
