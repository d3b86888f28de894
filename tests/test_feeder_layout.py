"""Feeder drawings: coordinates (own or a one-line diagram), distance along the feeder, the
map, pandapower's bus geodata, and the progress bars' switch."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

import gridv2g as g
from gridv2g import progress
from gridv2g.feeders.layout import branch_segments, bus_xy, distance_km, tree_layout
from gridv2g.plots.maps import feeder_map


def test_ieee33_one_line_diagram_has_the_trunk_on_one_row_and_laterals_below():
    feeder = g.feeders.ieee33()
    xy = tree_layout(feeder)
    trunk = [str(b) for b in range(1, 19)]  # Baran & Wu's main feeder, 1-18
    assert (xy.loc[trunk, "y"] == 0).all()
    assert np.array_equal(xy.loc[trunk, "x"].to_numpy(), np.arange(18))
    # each lateral on a row below, its buses in a row, starting right of the bus it leaves
    for first, last, parent in (("19", "22", "2"), ("23", "25", "3"), ("26", "33", "6")):
        buses = [str(b) for b in range(int(first), int(last) + 1)]
        assert xy.loc[buses, "y"].nunique() == 1 and xy.loc[first, "y"] < 0
        assert xy.loc[first, "x"] == xy.loc[parent, "x"] + 1
        assert np.all(np.diff(xy.loc[buses, "x"]) == 1)
    # no two buses on one point
    assert not xy.duplicated().any()


def test_ieee123_keeps_its_own_coordinates_and_fills_the_open_switch_buses():
    feeder = g.feeders.ieee123()
    xy = bus_xy(feeder)
    own = pd.read_csv("networks/ieee123/bus.csv", index_col="name", dtype={"name": str})
    has = own.x.notna()
    assert np.allclose(xy.loc[own.index[has], ["x", "y"]], own.loc[has, ["x", "y"]])
    assert xy.notna().all().all()  # 94_open and 300_open take a neighbour's point
    seg = branch_segments(feeder, xy)
    assert seg[["x0", "y0", "x1", "y1"]].notna().all().all()


def test_distance_along_the_feeder_sums_the_line_lengths_of_the_path():
    feeder = g.feeders.ieee123()
    d = distance_km(feeder)
    # hand sums from networks/ieee123/line.csv: sw1 (150r-149), l115 (149-1), l1 / l2
    assert d["150"] == 0.0 and d["150r"] == 0.0  # the regulator has no length
    assert d["2"] == pytest.approx(0.001 + 0.12192 + 0.05334, abs=1e-12)
    assert d["3"] == pytest.approx(0.001 + 0.12192 + 0.0762, abs=1e-12)


def test_feeder_map_colours_the_buses_and_lines_it_is_given():
    feeder = g.feeders.ieee33()
    values = pd.Series(np.linspace(0.9, 1.0, 33), index=feeder.bus.index)
    lines = pd.Series(np.arange(32.0), index=feeder.line.index)
    fig = feeder_map(feeder, values, lines, bus_label="V [pu]", line_label="I [A]")
    ax = fig.axes[0]
    coloured = [c for c in ax.collections if c.get_array() is not None]
    arrays = sorted((np.asarray(c.get_array()) for c in coloured), key=len)
    assert np.array_equal(arrays[0], lines.to_numpy())  # 32 lines
    assert np.allclose(arrays[1], values.to_numpy())  # 33 buses
    labels = {cax.get_ylabel() for cax in fig.axes[1:]}
    assert labels == {"V [pu]", "I [A]"}


def test_pandapower_net_carries_the_coordinates_as_geojson():
    feeder = g.feeders.ieee123()
    net = feeder.to_pandapower()
    xy = bus_xy(feeder)
    points = [json.loads(s)["coordinates"] for s in net.bus.geo]
    names = net.bus.name.astype(str)
    assert np.allclose(points, xy.loc[names, ["x", "y"]].to_numpy())


@pytest.fixture
def gridv2g_logger_level():
    logger = logging.getLogger("gridv2g")
    old = logger.level
    yield logger
    logger.setLevel(old)


def test_progress_bars_follow_the_gridv2g_logger(gridv2g_logger_level, capsys):
    gridv2g_logger_level.setLevel(logging.WARNING)
    assert not progress.enabled()
    list(progress.bar(range(3), desc="quiet bar"))
    assert "quiet bar" not in capsys.readouterr().err
    gridv2g_logger_level.setLevel(logging.INFO)
    assert progress.enabled()
    list(progress.bar(range(3), desc="shown bar"))
    assert "shown bar" in capsys.readouterr().err
