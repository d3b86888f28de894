"""The engineering feeder model: multi-phase pandas tables in engineering units.

A :class:`Feeder` is what planners know from OpenDSS: buses, lines with phase impedance
matrices (through line codes), loads with phase, connection and voltage model (constant PQ, Z,
I or exponential), capacitors, 2-winding transformers and regulators with fixed taps (also
single-phase units across phase pairs: open- and closed-delta banks), switches and one source.
It is checked once at construction (see :mod:`gridv2g.feeders.checks`) and is immutable by
convention: methods that change it return a new Feeder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from gridv2g.errors import FeederError
from gridv2g.feeders import checks, schema

_TABLE_FILES = ("bus", "linecode", "linecode_matrix", "line", "load", "capacitor", "transformer")


@dataclass
class Feeder:
    """A radial distribution feeder in engineering units.

    Tables (DataFrames indexed by element name; columns in :mod:`gridv2g.feeders.schema`):
    ``bus``, ``linecode`` and ``linecode_matrix`` (per-km phase matrices, long format),
    ``line``, ``load``, ``capacitor``, ``transformer``, ``source`` (one row).
    """

    name: str
    bus: pd.DataFrame
    line: pd.DataFrame
    load: pd.DataFrame
    source: pd.DataFrame
    linecode: pd.DataFrame | None = None
    linecode_matrix: pd.DataFrame | None = None
    capacitor: pd.DataFrame | None = None
    transformer: pd.DataFrame | None = None
    description: str = ""
    frequency_hz: float = 60.0
    _matrices: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for table in schema.TABLES:
            setattr(self, table, checks.normalize_table(table, getattr(self, table)))
            if table in schema.NAMED_TABLES:
                checks.check_unique(table, getattr(self, table))
        checks.check_references(self)
        checks.check_values(self)
        checks.check_nodes(self)
        self._matrices = _matrices_by_code(self.linecode, self.linecode_matrix)
        checks.check_topology(self)

    # ------------------------------------------------------------------ topology
    @property
    def source_bus(self) -> str:
        """Name of the bus the source feeds."""
        return str(self.source["bus"].iloc[0])

    def graph(self) -> nx.Graph:
        """Undirected graph of buses joined by closed lines and transformers.

        Edge attributes: ``elements`` (list of "line.NAME" / "transformer.NAME") and ``nodes``
        (list of the from-side phases each carries, :func:`checks.carried_phases`). Several
        elements between the same two buses (a bank of single-phase regulators, with a jumper
        on the common phase of an open-delta bank) share one edge. Open switches are left out,
        as they carry no current.
        """
        graph = nx.Graph()
        graph.add_nodes_from(self.bus.index)
        closed = self.line[self.line["closed"]]
        trafo = self.transformer
        for kind, df, conns in (
            ("line", closed, ["wye"] * len(closed)),
            ("transformer", trafo, trafo.from_conn),
        ):
            for n, a, b, nodes, conn in zip(
                df.index, df.from_bus, df.to_bus, df.from_nodes, conns, strict=True
            ):
                if not graph.has_edge(a, b):
                    graph.add_edge(a, b, elements=[], nodes=[])
                graph.edges[a, b]["elements"].append(f"{kind}.{n}")
                graph.edges[a, b]["nodes"].append(checks.carried_phases(nodes, conn))
        return graph

    # ------------------------------------------------------------------ impedances
    def linecode_z(self, code: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-km phase matrices ``(R [ohm/km], X [ohm/km], C [nF/km])`` of a line code."""
        return self._matrices[code]

    def line_z_ohm(self, line: str) -> np.ndarray:
        """Series phase impedance matrix of a line [ohm], complex, n_phases x n_phases."""
        row = self.line.loc[line]
        r, x, _ = self._matrices[row.linecode]
        return (r + 1j * x) * row.length_km

    # ------------------------------------------------------------------ summaries
    def summary(self) -> dict:
        """Headline figures: counts, phases, total load [kW, kvar] at rated voltage."""
        n_ph = self.bus["nodes"].map(lambda s: len(checks.parse_nodes(s)))
        return {
            "name": self.name,
            "buses": len(self.bus),
            "lines": len(self.line),
            "switches": int(self.line["is_switch"].sum()),
            "transformers": len(self.transformer),
            "regulators": int(self.transformer["is_regulator"].sum()),
            "loads": len(self.load),
            "capacitors": len(self.capacitor),
            "phases": "/".join(str(p) for p in sorted(n_ph.unique(), reverse=True)),
            "p_kw": float(self.load["p_kw"].sum()),
            "q_kvar": float(self.load["q_kvar"].sum()),
            "vn_kv": "/".join(f"{v:g}" for v in sorted(self.bus["vn_kv"].unique(), reverse=True)),
        }

    # ------------------------------------------------------------------ conversions
    def balanced(self):
        """Single-phase (positive-sequence) equivalent; see :mod:`gridv2g.feeders.balanced`."""
        from gridv2g.feeders.balanced import balance

        return balance(self)

    def to_pandapower(self):
        """Balanced pandapower network of this feeder (:mod:`gridv2g.feeders.pandapower_bridge`),
        with ``net.bus.geo`` (GeoJSON points) from :func:`gridv2g.feeders.layout.bus_xy`: the
        feeder's own coordinates, or a one-line diagram where it has none."""
        import json

        from gridv2g.feeders.layout import bus_xy

        net = self.balanced().to_pandapower()
        xy = bus_xy(self).reindex(net.bus.name.astype(str))
        net.bus["geo"] = [
            json.dumps({"type": "Point", "coordinates": [float(x), float(y)]})
            if np.isfinite(x) and np.isfinite(y)
            else None
            for x, y in zip(xy.x, xy.y, strict=True)
        ]
        return net

    def to_opendss(self, directory: str | Path) -> Path:
        """Write a complete OpenDSS model; returns the path of its master file."""
        from gridv2g.feeders.opendss_export import write_opendss

        return write_opendss(self, directory)

    def replace(self, **tables) -> Feeder:
        """A new, re-validated Feeder with some tables replaced (e.g. ``transformer=...``)."""
        data = {t: getattr(self, t).copy() for t in schema.TABLES}
        data.update(tables)
        return Feeder(
            name=self.name,
            description=self.description,
            frequency_hz=self.frequency_hz,
            **data,
        )

    # ------------------------------------------------------------------ storage
    def to_dir(self, directory: str | Path) -> Path:
        """Write every table as CSV (plus ``meta.json``) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for table in (*_TABLE_FILES, "source"):
            df = getattr(self, table)
            df.to_csv(directory / f"{table}.csv", index=table in schema.NAMED_TABLES)
        meta = {
            "name": self.name,
            "description": self.description,
            "frequency_hz": self.frequency_hz,
        }
        (directory / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        return directory

    @classmethod
    def from_dir(cls, directory: str | Path) -> Feeder:
        """Read a Feeder written by :meth:`to_dir`."""
        directory = Path(directory)
        missing = [
            f for f in ("meta.json", *(f"{t}.csv" for t in (*_TABLE_FILES, "source")))
            if not (directory / f).is_file()
        ]  # fmt: skip
        if missing:
            raise FeederError(
                f"{directory}: not a feeder folder written by Feeder.to_dir (missing "
                f"{', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''})"
            )
        try:
            meta = json.loads((directory / "meta.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FeederError(f"{directory / 'meta.json'}: not valid JSON ({exc})") from None
        tables = {}
        for table in (*_TABLE_FILES, "source"):
            spec = schema.TABLES[table]
            dtypes = {c: str for c, (t, _) in spec.items() if t is str}
            if table in schema.NAMED_TABLES:
                dtypes["name"] = str
            tables[table] = pd.read_csv(
                directory / f"{table}.csv", dtype=dtypes, keep_default_na=False, na_values=[""]
            )
        return cls(
            name=meta["name"],
            description=meta.get("description", ""),
            frequency_hz=meta.get("frequency_hz", 60.0),
            **tables,
        )


def _matrices_by_code(linecode: pd.DataFrame, lcm: pd.DataFrame) -> dict:
    out = {}
    for code, n in linecode["n_phases"].items():
        rows = lcm[lcm.linecode == code]
        mats = []
        for col in ("r_ohm_per_km", "x_ohm_per_km", "c_nf_per_km"):
            m = np.zeros((n, n))
            m[rows.row.to_numpy(), rows.col.to_numpy()] = rows[col].to_numpy()
            mats.append(m)
        out[code] = tuple(mats)
    return out


def linecode_matrix_rows(code: str, r, x, c=None) -> pd.DataFrame:
    """Long-format rows of ``linecode_matrix`` for one code from n x n matrices."""
    r = np.atleast_2d(np.asarray(r, dtype=float))
    x = np.atleast_2d(np.asarray(x, dtype=float))
    c = np.zeros_like(r) if c is None else np.atleast_2d(np.asarray(c, dtype=float))
    n = r.shape[0]
    ii, jj = np.meshgrid(range(n), range(n), indexing="ij")
    return pd.DataFrame(
        {
            "linecode": code,
            "row": ii.ravel(),
            "col": jj.ravel(),
            "r_ohm_per_km": r.ravel(),
            "x_ohm_per_km": x.ravel(),
            "c_nf_per_km": c.ravel(),
        }
    )
