"""Export an optimized schedule as OpenDSS LoadShapes and a master that runs it in OpenDSS's own
daily mode: the replay of :mod:`gridv2g.validation.opendss`, runnable with OpenDSS alone.

The folder written by :func:`write_opendss_daily` holds

- ``dss/Master.dss``: the feeder (:meth:`Feeder.to_opendss`, fixed regulator taps);
- ``loadshapes.dss``: one ``LoadShape`` per original load (``mult`` and ``qmult`` both its
  load profile, the multiplier of its nominal kW and kvar) and one per DER unit and station
  slot (``useactual=yes``: ``mult`` its P [kW], ``qmult`` its Q [kvar], load convention for
  slots, generator convention for DER);
- ``devices.dss``: every original load given its ``daily`` shape, and each DER unit as a
  ``Generator`` and each slot as a ``Load``, the very elements of the replay
  (:func:`~gridv2g.feeders.opendss_engine.device_element`: model 1, the replay's phases,
  connection, kV and ``vminpu``/``vmaxpu``, so OpenDSS switches them to constant impedance
  exactly where the replay does) with their ``daily`` shapes;
- ``monitors.dss`` and ``monitors.csv``: ``Monitor`` elements (mode 0) on line and
  transformer terminals covering every node of every bus, and per monitor the bus, its nodes
  in channel order and the nodes' voltage base [kV line-to-neutral], to turn the recorded
  volts into pu; ``export_monitors.dss`` writes them to CSV files (run it after the master);
- ``master_daily.dss``: the feeder, the replay's source voltage (``Vsource.source.pu``), the
  shapes, devices and monitors, the replay's tolerance (1e-10) and iteration limit, then
  ``Set mode=daily stepsize=<period> number=<periods>`` and ``Solve``.

Why a DER is a ``Generator`` and both P and Q come from one shape: a ``Generator`` (model 1)
with a ``useactual=yes`` daily shape produces ``mult`` kW and ``qmult`` kvar (measured with
DSS C-API 0.15: its kvar follows ``qmult``, negative values included), so the exported
element is the replay's own, limits and all. An original load keeps its nominal kW and kvar
and takes ``mult = qmult =`` its profile, as the replay sets ``kW = kW0 * m`` and
``kvar = kvar0 * m``.

Time: OpenDSS's daily mode advances the clock *before* each solve, so solve ``k`` (from 1)
runs at hour ``k * stepsize`` and a fixed-interval shape answers with its point
``round(hour / interval)`` (1-based). With ``sinterval`` equal to the step, solve ``k``
takes point ``k``: period ``k`` of the horizon (0-based) is the shape's ``k``-th value
(0-based), the first solve the first period. Beyond ``npts`` OpenDSS would wrap around; the
master runs exactly ``npts`` steps.

Security: files are written only inside ``directory`` (a path that would resolve outside,
through a symbolic link, is refused); names written into the scripts are the feeder's own
(which must be plain OpenDSS names: letters, digits, ``_ - + ~``) or derived from DER and
station names with every other character replaced, so no name can end a command or start
another. OpenDSS guards aside, gridv2g compiles the master through
:mod:`gridv2g.feeders.dss_guard` like any other feeder.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from gridv2g.errors import OpenDSSError
from gridv2g.feeders.opendss_engine import device_element
from gridv2g.inputs import placement
from gridv2g.validation.opendss import load_multipliers
from gridv2g.validation.tables import per_element

#: names written as they are into OpenDSS scripts (no delimiter, quote, comment or variable)
_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-+~]*$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-+~]")

#: the master, and the files it reads, inside the export folder
MASTER = "master_daily.dss"
FILES = (
    "loadshapes.dss",
    "devices.dss",
    "monitors.dss",
    "monitors.csv",
    "export_monitors.dss",
    MASTER,
)


def _num(value: float) -> str:
    return repr(float(value))


def _plain(name, what: str) -> str:
    """A feeder's own name, written as it is; anything an OpenDSS parser could split is an
    error (the feeder export writes it the same way)."""
    name = str(name)
    if not _PLAIN.match(name):
        raise OpenDSSError(
            f"{what} '{name[:40]}' cannot be written into an OpenDSS script: names may hold "
            "letters, digits, '_', '-', '+' and '~' only"
        )
    return name


class _Namer:
    """Names of our own elements and shapes: the source name with every other character
    replaced by ``_``, numbered when two come out alike (OpenDSS names are case-blind)."""

    def __init__(self):
        self.used: set[str] = set()

    def __call__(self, prefix: str, name) -> str:
        base = prefix + _UNSAFE.sub("_", str(name))[:60]
        out, k = base, 1
        while out.lower() in self.used:
            k += 1
            out = f"{base}_{k}"
        self.used.add(out.lower())
        return out


def _series(values: np.ndarray) -> str:
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)):
        raise OpenDSSError("a schedule to export holds NaN or infinite values")
    return "[" + " ".join(_num(v) for v in values) + "]"


def _interval(hours: float) -> str:
    """``sinterval=`` in seconds when whole, else ``interval=`` in hours."""
    seconds = hours * 3600.0
    if abs(seconds - round(seconds)) < 1e-9:
        return f"sinterval={round(seconds)}"
    return f"interval={_num(hours)}"


def _stepsize(hours: float) -> str:
    minutes = hours * 60.0
    if abs(minutes - round(minutes)) < 1e-9:
        return f"{round(minutes)}m"
    seconds = hours * 3600.0
    if abs(seconds - round(seconds)) < 1e-9:
        return f"{round(seconds)}s"
    return f"{_num(hours)}h"


def _monitor_terminals(feeder) -> list[tuple[str, int, str, str]]:
    """(element, terminal, bus, nodes) of line and transformer terminals covering every node
    of every bus: per bus the terminal with most nodes first, then others for nodes left."""
    candidates: dict[str, list[tuple[str, int, str]]] = {}
    for name, ln in feeder.line[feeder.line.closed.astype(bool)].iterrows():
        candidates.setdefault(str(ln.from_bus), []).append((f"Line.{name}", 1, ln.from_nodes))
        candidates.setdefault(str(ln.to_bus), []).append((f"Line.{name}", 2, ln.to_nodes))
    for name, t in feeder.transformer.iterrows():
        # a winding's conductors: its nodes, then a wye neutral (not monitored)
        candidates.setdefault(str(t.from_bus), []).append((f"Transformer.{name}", 1, t.from_nodes))
        candidates.setdefault(str(t.to_bus), []).append((f"Transformer.{name}", 2, t.to_nodes))
    out = []
    for bus, nodes in feeder.bus.nodes.items():
        left = set(str(nodes).split("."))
        options = sorted(candidates.get(str(bus), []), key=lambda c: -len(str(c[2]).split(".")))
        for element, terminal, on in options:
            on_set = set(str(on).split("."))
            if on_set & left:
                out.append((element, terminal, str(bus), str(on)))
                left -= on_set
            if not left:
                break
    return out


def _inside(directory: Path, name: str) -> Path:
    """``directory / name``, refused if it exists and resolves elsewhere (a symbolic link)."""
    path = directory / name
    if (path.exists() or path.is_symlink()) and path.resolve() != directory / name:
        raise OpenDSSError(f"{path} leads outside the export folder {directory}; refused")
    return path


def export_opendss_daily(result, directory) -> Path:
    """Write a solved grid ``result``'s schedule as an OpenDSS daily-mode run into
    ``directory`` (see the module docstring); returns the path of ``master_daily.dss``."""
    return write_opendss_daily(result.data, result.res_der, result.res_station, directory)


def write_opendss_daily(data, res_der, res_station, directory) -> Path:
    """The daily-mode export from the grid case ``data``
    (:class:`~gridv2g.problems.co_optimize.GridData`) and the result tables ``res_der`` and
    ``res_station`` (``p_kw`` [kW], ``q_kvar`` [kvar] by (time, der|station)), as
    :func:`~gridv2g.validation.opendss.replay_opendss` reads them from a result folder.
    Returns the path of ``master_daily.dss``; run it with ``compile master_daily.dss``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory = directory.resolve()
    # every file written, the feeder's included, checked before the first is written
    paths = {name: _inside(directory, name) for name in (*FILES, "dss")}
    for name in ("dss/Master.dss", "dss/BusCoords.csv"):
        _inside(directory, name)
    feeder = data.feeder
    times = data.horizon.index
    hours = float(data.horizon.hours)
    n = len(times)
    if n < 1:
        raise OpenDSSError("the result has no periods to export")

    feeder.to_opendss(paths["dss"])
    der_units = data.der.units if data.der is not None else pd.DataFrame(columns=["bus"])
    slots = data.stations.slots if data.stations is not None else pd.DataFrame(columns=["bus"])
    interval = _interval(hours)
    names = _Namer()

    title = _UNSAFE.sub("_", str(feeder.name))[:60]  # comments too: a newline would end one
    shapes = [f"! load shapes of {title} written by gridv2g: {n} x {interval}"]
    devices = ["! loads on their profiles, DER units and station slots on their schedules"]
    mult = load_multipliers(data)  # (load x period)
    for i, load in enumerate(feeder.load.index):
        shape = names("ld_", load)
        values = _series(mult[i])
        shapes.append(f"New LoadShape.{shape} npts={n} {interval} mult={values} qmult={values}")
        devices.append(f"Load.{_plain(load, 'load')}.daily={shape}")
    for kind, prefix, table, level, rows in (
        ("Generator", "gv2g_der_", res_der, "der", der_units),
        ("Load", "gv2g_slot_", res_station, "station", slots),
    ):
        p = per_element(table, level, rows.index, "p_kw", times)
        q = per_element(table, level, rows.index, "q_kvar", times)
        buses, phases, conns = placement(rows)
        for i, unit in enumerate(rows.index):
            element = names(prefix, unit)
            shape = names("sh_", element)
            shapes.append(
                f"New LoadShape.{shape} npts={n} {interval} useactual=yes "
                f"mult={_series(p[i])} qmult={_series(q[i])}"
            )
            bus = _plain(buses[i], "bus")
            if phases[i] is not None and not re.fullmatch(r"[0-9](\.[0-9])*", str(phases[i])):
                raise OpenDSSError(f"phases '{str(phases[i])[:20]}' of {unit} are not nodes")
            if conns[i] not in ("wye", "delta"):
                raise OpenDSSError(f"connection '{str(conns[i])[:20]}' of {unit} is not wye/delta")
            new = device_element(kind, element, bus, feeder, phases[i], conns[i])
            devices.append(f"{new} daily={shape}")

    monitors = ["! node voltages [V] of every bus, one sample per period (mode 0: V and I)"]
    exports = ["! run after master_daily.dss: one CSV per monitor in OpenDSS's output folder"]
    table = []
    base_ln = feeder.bus.vn_kv / np.sqrt(3.0)
    for k, (element, terminal, bus, nodes) in enumerate(_monitor_terminals(feeder)):
        cls, _, name = element.partition(".")
        name = _plain(name, cls.lower())
        monitor = f"v{k}_{_UNSAFE.sub('_', bus)}"
        monitors.append(f"New Monitor.{monitor} element={cls}.{name} terminal={terminal} mode=0")
        exports.append(f"Export monitors {monitor}")
        table.append((monitor, f"{cls}.{name}", terminal, bus, nodes, float(base_ln[bus])))

    master = [
        f"! {title}: the optimized schedule in OpenDSS's daily mode, written by gridv2g",
        f"! {n} periods of {_stepsize(hours)} from {times[0]}; solve k (from 1) is period k-1",
        "Redirect dss/Master.dss",
    ]
    if data.v_source_pu is not None:
        master.append(f"Vsource.source.pu={data.v_source_pu:.12g}")
    master += [
        "Redirect loadshapes.dss",
        "Redirect devices.dss",
        "Redirect monitors.dss",
        "Set tolerance=1e-10",
        "Set maxiterations=100",
        f"Set mode=daily stepsize={_stepsize(hours)} number={n}",
        "Solve",
        "! then: Redirect export_monitors.dss (volts; monitors.csv has each node's base kV)",
    ]
    for key, lines in (
        ("loadshapes.dss", shapes),
        ("devices.dss", devices),
        ("monitors.dss", monitors),
        ("export_monitors.dss", exports),
        (MASTER, master),
    ):
        paths[key].write_text("\n".join(lines) + "\n")
    pd.DataFrame(
        table, columns=["monitor", "element", "terminal", "bus", "nodes", "base_kv_ln"]
    ).to_csv(paths["monitors.csv"], index=False)
    return paths[MASTER]
