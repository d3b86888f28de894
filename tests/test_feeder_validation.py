"""Bad feeder data is rejected at construction with a message naming the culprit."""

from __future__ import annotations

import pandas as pd
import pytest

from gridv2g.errors import FeederError
from gridv2g.feeders import Feeder


def build(tables):
    return Feeder(name="tiny", **tables)


def add_line(tables, name, a, b, **extra):
    row = {
        "name": name,
        "from_bus": a,
        "to_bus": b,
        "from_nodes": "1.2.3",
        "to_nodes": "1.2.3",
        "linecode": "lc3",
        "length_km": 0.3,
        **extra,
    }
    tables["line"] = pd.concat([tables["line"], pd.DataFrame([row])], ignore_index=True)


def test_valid_tiny_feeder_builds(tables):
    feeder = build(tables)
    assert feeder.summary()["buses"] == 4
    assert feeder.source_bus == "s"


def test_loop_names_the_buses_of_the_cycle(tables):
    add_line(tables, "tie", "b", "c")
    with pytest.raises(FeederError, match="not radial") as err:
        build(tables)
    msg = str(err.value)
    for bus in ("a", "b", "c"):
        assert f" {bus} " in f" {msg.replace('-', ' ')} "
    assert "line.tie" in msg


def test_open_switch_is_not_part_of_the_topology(tables):
    add_line(tables, "tie", "b", "c", is_switch=True, closed=False)
    feeder = build(tables)
    assert ("b", "c") not in feeder.graph().edges
    assert not feeder.line.at["tie", "closed"]


def test_island_names_the_unreachable_buses(tables):
    tables["bus"] = pd.concat(
        [tables["bus"], pd.DataFrame({"name": ["x", "y"], "vn_kv": 12.47})], ignore_index=True
    )
    add_line(tables, "lxy", "x", "y")
    with pytest.raises(FeederError, match="not connected to the source") as err:
        build(tables)
    assert "x" in str(err.value) and "y" in str(err.value)


def test_bus_behind_an_open_switch_is_an_island(tables):
    tables["line"].loc[tables["line"].name == "l3", ["is_switch", "closed"]] = [True, False]
    with pytest.raises(FeederError, match=r"not connected to the source bus 's': c"):
        build(tables)


def test_duplicate_names_are_named(tables):
    tables["load"].loc[1, "name"] = "ld_b"
    with pytest.raises(FeederError, match=r"table 'load': duplicate name\(s\) ld_b"):
        build(tables)


@pytest.mark.parametrize(
    ("table", "column", "row"),
    [("line", "to_bus", 1), ("load", "bus", 0), ("source", "bus", 0)],
)
def test_unknown_bus_is_named(tables, table, column, row):
    tables[table].loc[row, column] = "nowhere"
    name = tables[table].loc[row, "name"]
    with pytest.raises(FeederError, match=rf"table '{table}', row '{name}': unknown bus 'nowhere'"):
        build(tables)


def test_negative_length_is_named(tables):
    tables["line"].loc[2, "length_km"] = -0.2
    with pytest.raises(FeederError, match=r"row 'l3': negative length \(length_km = -0.2\)"):
        build(tables)


def test_negative_impedance_is_named(tables):
    lcm = tables["linecode_matrix"]
    lcm.loc[(lcm.row == 1) & (lcm.col == 1), "r_ohm_per_km"] = -0.1
    with pytest.raises(FeederError, match=r"'lc3': negative self impedance \(r_ohm_per_km\[1\]"):
        build(tables)


def test_negative_transformer_impedance_is_named(tables):
    tables["bus"] = pd.concat(
        [tables["bus"], pd.DataFrame({"name": ["lv"], "vn_kv": [0.48]})], ignore_index=True
    )
    tables["transformer"] = pd.DataFrame(
        {
            "name": ["t1"],
            "from_bus": ["c"],
            "to_bus": ["lv"],
            "from_nodes": "1.2.3",
            "to_nodes": "1.2.3",
            "from_kv": [12.47],
            "to_kv": [0.48],
            "sn_kva": [500.0],
            "x_percent": [-4.0],
        }
    )
    with pytest.raises(FeederError, match=r"transformer', row 't1': negative impedance"):
        build(tables)


def test_unknown_linecode_is_named(tables):
    tables["line"].loc[0, "linecode"] = "nosuch"
    with pytest.raises(FeederError, match=r"row 'l1': unknown linecode 'nosuch'"):
        build(tables)


def test_node_missing_at_bus_is_named(tables):
    tables["bus"].loc[tables["bus"].name == "c", "nodes"] = "1.2"
    with pytest.raises(FeederError, match=r"node\(s\) \[3\] not present at bus 'c'"):
        build(tables)


def test_unknown_column_lists_the_valid_ones(tables):
    tables["load"]["p_mw"] = 0.1
    with pytest.raises(FeederError, match=r"unknown column\(s\) \['p_mw'\]; valid columns are"):
        build(tables)


def test_missing_required_column_is_named(tables):
    tables["line"] = tables["line"].drop(columns="length_km")
    with pytest.raises(FeederError, match="required column 'length_km' is missing"):
        build(tables)


def test_zero_length_line_builds_and_solves(tables):
    import pandapower as pp

    tables["bus"] = pd.concat(
        [tables["bus"], pd.DataFrame({"name": ["d"], "vn_kv": [12.47]})], ignore_index=True
    )
    add_line(tables, "l0", "c", "d", length_km=0.0)
    feeder = build(tables)
    balanced = feeder.balanced()
    assert balanced.branch.at["l0", "kind"] == "switch"
    net = feeder.to_pandapower()
    pp.runpp(net)
    vm = dict(zip(net.bus.name, net.res_bus.vm_pu, strict=True))
    assert vm["d"] == pytest.approx(vm["c"], abs=1e-12)


def test_replace_revalidates(tables):
    feeder = build(tables)
    line = feeder.line.copy()
    line.loc["l2", "to_bus"] = "nowhere"
    with pytest.raises(FeederError, match="unknown bus 'nowhere'"):
        feeder.replace(line=line)
