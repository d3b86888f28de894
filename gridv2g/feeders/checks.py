"""Checks run once when a :class:`~gridv2g.feeders.Feeder` is built.

Each check raises :class:`~gridv2g.errors.FeederError` naming the table and the offending row
(and the bus, node or value), so bad input is caught before any power flow or solve.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from gridv2g.errors import FeederError
from gridv2g.feeders import schema

_MAX_LISTED = 20


def _listing(items) -> str:
    items = list(items)
    text = ", ".join(str(i) for i in items[:_MAX_LISTED])
    if len(items) > _MAX_LISTED:
        text += f", ... ({len(items)} in all)"
    return text


def normalize_table(table: str, df: pd.DataFrame | None) -> pd.DataFrame:
    """Return ``df`` with the schema's columns in order, defaults filled and dtypes cast.

    Raises FeederError for a missing required column, an unknown column (listing the valid
    ones), a missing value in a required column or a value that cannot be cast.
    """
    spec = schema.TABLES[table]
    named = table in schema.NAMED_TABLES
    if df is None:
        df = pd.DataFrame(columns=list(spec))
    df = df.copy()
    if named:
        if "name" in df.columns:
            df = df.set_index("name")
        df.index = df.index.map(str)
        df.index.name = "name"
    unknown = [c for c in df.columns if c not in spec]
    if unknown:
        raise FeederError(
            f"table '{table}': unknown column(s) {unknown}; valid columns are {list(spec)}"
        )
    for col, (dtype, default) in spec.items():
        if col not in df.columns:
            if default is schema.REQUIRED:
                if len(df) == 0:
                    df[col] = pd.Series(dtype=object if dtype is str else dtype)
                    continue
                raise FeederError(f"table '{table}': required column '{col}' is missing")
            df[col] = default
        missing = df[col].isna()
        if missing.any():
            if default is schema.REQUIRED or (dtype is not float):
                if default is schema.REQUIRED:
                    row = df.index[missing.to_numpy()][0]
                    raise FeederError(f"table '{table}', row '{row}': column '{col}' is empty")
                df.loc[missing, col] = default
        try:
            if dtype is str:
                df[col] = df[col].map(_as_str).astype(object)
            elif dtype is bool:
                df[col] = df[col].map(_as_bool).astype(bool)
            else:
                df[col] = df[col].astype(dtype)
        except (TypeError, ValueError) as exc:
            raise FeederError(f"table '{table}', column '{col}': {exc}") from exc
    return df[list(spec)]


def _as_str(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_bool(value) -> bool:
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "yes", "y", "1", "t"):
            return True
        if low in ("false", "no", "n", "0", "f", ""):
            return False
        raise ValueError(f"'{value}' is not a boolean")
    return bool(value)


def parse_nodes(text: str) -> tuple[int, ...]:
    """``"1.3"`` -> ``(1, 3)``; raises ValueError on anything that is not positive integers."""
    parts = tuple(int(p) for p in str(text).split(".") if p != "")
    if not parts or any(p <= 0 for p in parts):
        raise ValueError(f"'{text}' is not a node list like '1.2.3'")
    return parts


def carried_phases(nodes: str, conn: str) -> set[int]:
    """Phases an element carries from bus to bus, for the radiality check.

    A 1-phase delta unit spans two nodes but drives one phase (its first node, against the
    second): so the units of an open- or closed-delta regulator bank (``1.2``, ``3.2``; or
    ``1.2``, ``2.3``, ``3.1``) and a jumper on the common phase are not parallel paths. Lines
    and wye elements carry every node they list.
    """
    parts = parse_nodes(nodes)
    if conn == "delta" and len(parts) == 2:
        return {parts[0]}
    return set(parts)


#: (table, bus column, nodes column, connection column, neutral column) of wye elements
_NEUTRALS = (
    ("load", "bus", "nodes", "conn", "neutral"),
    ("capacitor", "bus", "nodes", "conn", "neutral"),
    ("transformer", "from_bus", "from_nodes", "from_conn", "from_neutral"),
    ("transformer", "to_bus", "to_nodes", "to_conn", "to_neutral"),
)


def check_neutrals(feeder, bus_nodes: dict) -> None:
    """A neutral other than ground (0) is a node of the element's bus, not one of its phases.

    Only wye elements have a neutral; it may sit on another phase node (a single-phase unit
    across two phases) or on a node of its own (a floating star point).
    """
    for table, bus_col, node_col, conn_col, neutral_col in _NEUTRALS:
        df = getattr(feeder, table)
        tied = df[df[neutral_col] != 0]
        for name, bus, text, conn, neutral in zip(
            tied.index,
            tied[bus_col],
            tied[node_col],
            tied[conn_col],
            tied[neutral_col],
            strict=True,
        ):
            where = f"table '{table}', row '{name}': {neutral_col} = {neutral}"
            if conn == "delta":
                raise FeederError(f"{where}, but a delta element has no neutral (use 0)")
            if neutral not in bus_nodes[bus]:
                raise FeederError(
                    f"{where} is not a node of bus '{bus}' (which has nodes "
                    f"{feeder.bus.at[bus, 'nodes']})"
                )
            if neutral in parse_nodes(text):
                raise FeederError(f"{where} is one of the element's own phase nodes ({text})")


def check_unique(table: str, df: pd.DataFrame) -> None:
    dup = df.index[df.index.duplicated()].unique()
    if len(dup):
        raise FeederError(f"table '{table}': duplicate name(s) {_listing(dup)}")


def check_nodes(feeder) -> None:
    """Node strings parse, counts match the element, and every node exists at its bus."""
    bus_nodes = {}
    for name, text in feeder.bus["nodes"].items():
        try:
            bus_nodes[name] = set(parse_nodes(text))
        except ValueError as exc:
            raise FeederError(f"table 'bus', row '{name}': {exc}") from None
    refs = [
        ("line", "from_bus", "from_nodes"),
        ("line", "to_bus", "to_nodes"),
        ("transformer", "from_bus", "from_nodes"),
        ("transformer", "to_bus", "to_nodes"),
        ("load", "bus", "nodes"),
        ("capacitor", "bus", "nodes"),
    ]
    for table, bus_col, node_col in refs:
        df = getattr(feeder, table)
        for name, bus, text in zip(df.index, df[bus_col], df[node_col], strict=True):
            try:
                nodes = parse_nodes(text)
            except ValueError as exc:
                raise FeederError(f"table '{table}', row '{name}': {node_col}: {exc}") from None
            extra = set(nodes) - bus_nodes[bus]
            if extra:
                raise FeederError(
                    f"table '{table}', row '{name}': node(s) {sorted(extra)} not present at "
                    f"bus '{bus}' (which has nodes {feeder.bus.at[bus, 'nodes']})"
                )
    check_neutrals(feeder, bus_nodes)
    for table in ("line", "transformer"):
        df = getattr(feeder, table)
        for name, a, b in zip(df.index, df["from_nodes"], df["to_nodes"], strict=True):
            if len(parse_nodes(a)) != len(parse_nodes(b)):
                raise FeederError(
                    f"table '{table}', row '{name}': from_nodes '{a}' and to_nodes '{b}' "
                    "have different numbers of phases"
                )
    n_code = feeder.linecode["n_phases"]
    for name, code, text in zip(
        feeder.line.index, feeder.line["linecode"], feeder.line["from_nodes"], strict=True
    ):
        if len(parse_nodes(text)) != n_code[code]:
            raise FeederError(
                f"table 'line', row '{name}': {len(parse_nodes(text))} phase(s) but linecode "
                f"'{code}' has {n_code[code]}"
            )


def check_references(feeder) -> None:
    """Every bus and linecode an element names exists; no element connects a bus to itself."""
    buses = feeder.bus.index
    refs = [
        ("line", "from_bus"),
        ("line", "to_bus"),
        ("transformer", "from_bus"),
        ("transformer", "to_bus"),
        ("load", "bus"),
        ("capacitor", "bus"),
        ("source", "bus"),
    ]
    for table, col in refs:
        df = getattr(feeder, table)
        bad = ~df[col].isin(buses)
        if bad.any():
            row = df.index[bad.to_numpy()][0]
            raise FeederError(
                f"table '{table}', row '{row}': unknown bus '{df.at[row, col]}' in column '{col}'"
            )
    bad = ~feeder.line["linecode"].isin(feeder.linecode.index)
    if bad.any():
        row = feeder.line.index[bad.to_numpy()][0]
        raise FeederError(
            f"table 'line', row '{row}': unknown linecode '{feeder.line.at[row, 'linecode']}'"
        )
    bad = ~feeder.linecode_matrix["linecode"].isin(feeder.linecode.index)
    if bad.any():
        code = feeder.linecode_matrix["linecode"][bad].iloc[0]
        raise FeederError(f"table 'linecode_matrix': unknown linecode '{code}'")
    for table in ("line", "transformer"):
        df = getattr(feeder, table)
        same = df["from_bus"] == df["to_bus"]
        if same.any():
            row = df.index[same.to_numpy()][0]
            raise FeederError(
                f"table '{table}', row '{row}': connects bus '{df.at[row, 'from_bus']}' to itself"
            )
    if len(feeder.source) != 1:
        raise FeederError(f"table 'source': exactly one source expected, got {len(feeder.source)}")


def _first_bad(table: str, df: pd.DataFrame, mask, what: str, col: str) -> None:
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        row = df.index[mask][0]
        raise FeederError(f"table '{table}', row '{row}': {what} ({col} = {df.at[row, col]})")


def check_values(feeder) -> None:
    """Physical ranges: positive voltages and ratings, non-negative lengths and impedances."""
    _first_bad("bus", feeder.bus, feeder.bus.vn_kv <= 0, "base voltage must be > 0", "vn_kv")
    line = feeder.line
    _first_bad("line", line, line.length_km < 0, "negative length", "length_km")
    _first_bad("line", line, line.max_i_a <= 0, "ampacity must be > 0", "max_i_a")
    for table, df in (("load", feeder.load), ("capacitor", feeder.capacitor)):
        _first_bad(table, df, ~df.conn.isin(schema.CONNECTIONS), "conn must be wye/delta", "conn")
        _first_bad(table, df, df.vn_kv <= 0, "rated voltage must be > 0", "vn_kv")
    load = feeder.load
    models = "/".join(schema.LOAD_MODELS)
    _first_bad(
        "load", load, ~load.model.isin(schema.LOAD_MODELS), f"model must be {models}", "model"
    )
    for col in ("cvr_p", "cvr_q"):
        _first_bad(
            "load",
            load,
            (load.model == "exp") & ~np.isfinite(load[col]),
            "an exponential load needs its exponents cvr_p and cvr_q",
            col,
        )
    for table, _, _, _, col in _NEUTRALS:
        df = getattr(feeder, table)
        _first_bad(table, df, df[col] < 0, "neutral node must be >= 0 (0 = ground)", col)
    trafo = feeder.transformer
    for col in ("from_kv", "to_kv", "sn_kva", "from_tap", "to_tap"):
        _first_bad("transformer", trafo, trafo[col] <= 0, "must be > 0", col)
    for col in ("from_r_percent", "to_r_percent", "x_percent"):
        _first_bad("transformer", trafo, trafo[col] < 0, "negative impedance", col)
    for col in ("from_conn", "to_conn"):
        _first_bad(
            "transformer", trafo, ~trafo[col].isin(schema.CONNECTIONS), "must be wye/delta", col
        )
    src = feeder.source
    _first_bad("source", src, src.vn_kv <= 0, "base voltage must be > 0", "vn_kv")
    _first_bad("source", src, src.vm_pu <= 0, "voltage must be > 0", "vm_pu")
    for col in ("r1_ohm", "x1_ohm", "r0_ohm", "x0_ohm"):
        _first_bad("source", src, src[col] < 0, "negative impedance", col)
    # line codes: complete symmetric matrices with non-negative self impedances
    lcm = feeder.linecode_matrix
    for code, n in feeder.linecode["n_phases"].items():
        rows = lcm[lcm.linecode == code]
        if len(rows) != n * n or set(zip(rows.row, rows.col, strict=True)) != {
            (i, j) for i in range(n) for j in range(n)
        }:
            raise FeederError(
                f"table 'linecode', row '{code}': {n}-phase code needs all {n * n} matrix "
                f"entries in linecode_matrix, got {len(rows)}"
            )
        diag = rows[rows.row == rows.col]
        for col in ("r_ohm_per_km", "x_ohm_per_km", "c_nf_per_km"):
            neg = diag[col] < 0
            if neg.any():
                raise FeederError(
                    f"table 'linecode', row '{code}': negative self impedance "
                    f"({col}[{int(diag.row[neg].iloc[0])}] = {diag[col][neg].iloc[0]})"
                )


def check_topology(feeder) -> None:
    """The closed lines and the transformers form one tree rooted at the source bus.

    A loop gives an error naming the buses around it; buses not reachable from the source an
    error naming them. Open switches are not part of the topology.
    """
    graph = feeder.graph()
    for a, b, data in graph.edges(data=True):
        seen: set[int] = set()
        for nodes in data["nodes"]:
            if seen & nodes:
                raise FeederError(
                    f"feeder is not radial: parallel elements between buses {a} and {b} on "
                    f"the same phase(s) {sorted(seen & nodes)} ({', '.join(data['elements'])})"
                )
            seen |= nodes
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        buses = [edge[0] for edge in cycle]
        elements = [graph.edges[edge]["elements"][0] for edge in cycle]
        raise FeederError(
            "feeder is not radial: loop through buses "
            f"{' - '.join(buses)} - {buses[0]} (elements {_listing(elements)})"
        )
    root = feeder.source_bus
    reached = nx.node_connected_component(graph, root)
    unreachable = [b for b in feeder.bus.index if b not in reached]
    if unreachable:
        raise FeederError(
            f"{len(unreachable)} bus(es) not connected to the source bus '{root}': "
            f"{_listing(unreachable)} (open switches are not part of the topology)"
        )
