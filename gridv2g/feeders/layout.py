"""Bus coordinates for drawing a feeder: its own where it has them, else a one-line diagram.

IEEE 123 ships its coordinates (``BusCoords.dat``, kept in ``networks/ieee123/bus.csv``);
IEEE 33 and many imported feeders have none. For those, :func:`tree_layout` draws the radial
feeder the way its papers do: the longest path from the source (the trunk) on one row, each
lateral on a row below, starting one step right of the bus it leaves, rows reused where
laterals do not overlap. x counts buses from the source (no unit: a drawing, not a distance);
:func:`distance_km` gives the electrical distance for voltage profiles.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd


def bus_xy(feeder) -> pd.DataFrame:
    """(bus x {x, y}) coordinates of ``feeder``: its own when most buses have them (a bus
    without, e.g. IEEE 123's ``94_open`` behind an open switch, takes the point of a
    neighbour that has one, open switches included), else :func:`tree_layout`. Buses stacked
    on one point by the source data (a regulator's two sides) keep that point."""
    own = feeder.bus[["x", "y"]].astype(float)
    known = own.notna().all(axis=1)
    if not len(own) or known.mean() < 0.9:
        return tree_layout(feeder)
    own.index.name = "bus"
    neighbours: dict[str, list[str]] = {b: [] for b in own.index}
    for a, b in zip(feeder.line.from_bus, feeder.line.to_bus, strict=True):
        neighbours[a].append(b)
        neighbours[b].append(a)
    for a, b in zip(feeder.transformer.from_bus, feeder.transformer.to_bus, strict=True):
        neighbours[a].append(b)
        neighbours[b].append(a)
    missing = list(own.index[~known])
    while missing:  # spread known points outwards, one ring per pass
        placed = []
        for bus in missing:
            near = [n for n in neighbours[bus] if known[n]]
            if near:
                own.loc[bus] = own.loc[near[0]].to_numpy()
                placed.append(bus)
        if not placed:  # an island with no coordinates at all: below the drawing
            low = own.y.min() - 0.05 * (own.y.max() - own.y.min() + 1.0)
            own.loc[missing, "y"] = low
            own.loc[missing, "x"] = own.x.min()
            break
        known[placed] = True
        missing = [b for b in missing if b not in placed]
    return own


def _tree(feeder) -> nx.DiGraph:
    """The feeder's spanning tree directed away from the source (breadth first)."""
    return nx.bfs_tree(feeder.graph(), feeder.source_bus)


def tree_layout(feeder) -> pd.DataFrame:
    """One-line-diagram coordinates of a radial feeder (module docstring): (bus x {x, y}).

    Buses not connected to the source (an island behind an open switch) are placed on a row
    of their own below the drawing."""
    tree = _tree(feeder)
    source = feeder.source_bus
    # height of each subtree (longest path to a leaf, in buses): the child with the
    # tallest subtree continues its parent's row, so the trunk is the longest path
    height: dict[str, int] = {}
    for bus in reversed(list(nx.topological_sort(tree))):
        height[bus] = 1 + max((height[c] for c in tree.successors(bus)), default=0)

    xy: dict[str, tuple[float, float]] = {}
    rows: list[list[tuple[int, int]]] = []  # occupied x intervals per row

    def free_row(start: int, end: int, below: int) -> int:
        for r in range(below + 1, len(rows)):
            if all(end < a - 1 or start > b + 1 for a, b in rows[r]):
                return r
        rows.append([])
        return len(rows) - 1

    # iterative depth-first walk: (bus, x, row)
    rows.append([(0, height[source] - 1)])
    stack = [(source, 0, 0)]
    while stack:
        bus, x, row = stack.pop()
        xy[bus] = (float(x), -float(row))
        children = sorted(tree.successors(bus), key=lambda c: (-height[c], str(c)))
        if not children:
            continue
        pushed = [(children[0], x + 1, row)]
        for child in children[1:]:
            start, end = x + 1, x + height[child]
            r = free_row(start, end, row)
            rows[r].append((start, end))
            pushed.append((child, start, r))
        # the trunk child last on the stack, so laterals claim rows in feeder order
        stack.extend(reversed(pushed))
    missing = [b for b in feeder.bus.index if b not in xy]
    for i, bus in enumerate(missing):
        xy[bus] = (float(i), -float(len(rows) + 1))
    frame = pd.DataFrame.from_dict(xy, orient="index", columns=["x", "y"])
    frame.index.name = "bus"
    return frame.reindex(feeder.bus.index)


def distance_km(feeder) -> pd.Series:
    """Each bus's distance from the source along the feeder [km] (line lengths summed;
    switches their own length, transformers 0). NaN for a bus the source does not reach."""
    graph = feeder.graph()
    length = feeder.line["length_km"].astype(float).fillna(0.0)
    for _a, _b, data in graph.edges(data=True):
        km = [
            length.get(e.split(".", 1)[1], 0.0) for e in data["elements"] if e.startswith("line.")
        ]
        data["km"] = float(min(km)) if km else 0.0
    dist = nx.single_source_dijkstra_path_length(graph, feeder.source_bus, weight="km")
    out = pd.Series(np.nan, index=feeder.bus.index, name="distance_km")
    out.loc[list(dist)] = list(dist.values())
    return out


def branch_segments(feeder, xy: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per closed line or transformer: ``element`` ("line.NAME"), ``from_bus``,
    ``to_bus`` and the end coordinates ``x0, y0, x1, y1`` (from :func:`bus_xy`)."""
    xy = bus_xy(feeder) if xy is None else xy
    rows = []
    closed = feeder.line[feeder.line["closed"]]
    for kind, df in (("line", closed), ("transformer", feeder.transformer)):
        for name, a, b in zip(df.index, df.from_bus, df.to_bus, strict=True):
            rows.append((f"{kind}.{name}", a, b))
    seg = pd.DataFrame(rows, columns=["element", "from_bus", "to_bus"])
    for end, col in (("from_bus", "0"), ("to_bus", "1")):
        seg["x" + col] = xy.x.reindex(seg[end]).to_numpy()
        seg["y" + col] = xy.y.reindex(seg[end]).to_numpy()
    return seg
