"""OpenDSS features of the IEEE test feeders, each checked by a round trip against OpenDSS.

One small hand-written feeder per feature in ``tests/data/dss/`` (and ``combined.dss`` with all
of them): an explicit ground node, an open-delta and a closed-delta regulator bank, jumpers, a
delta 3-wire feeder and exponential loads. For each, OpenDSS solves the original input; the
importer reads it (:func:`from_opendss`), :meth:`Feeder.to_opendss` writes it back and OpenDSS
solves that: node voltages (line-to-line too, which is what a delta 3-wire feeder defines) and
losses must agree with OpenDSS's own solution of the original. The expected numbers are
OpenDSS's; nothing here is computed by gridv2g's own power flow.

The installed ``dss_python`` / ``opendssdirect`` packages ship no IEEE test feeder files
(no ``IEEE13Nodeckt.dss`` nor ``ieee37.dss`` in site-packages), so there is no test importing
those directly.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import opendssdirect as dss
import pandas as pd
import pytest
from conftest import DATA, tiny_tables

from gridv2g.errors import FeederError, GridV2GWarning
from gridv2g.feeders import Feeder, from_opendss, solve_opendss
from gridv2g.feeders.balanced import zip_shares
from gridv2g.feeders.compare import balanced_error, opendss_solution, pandapower_summary
from gridv2g.feeders.library import ieee123_tap_commands

FOLDER = DATA / "dss"

#: feeder file -> (read settled RegControl taps, nothing below the substation is grounded)
FEEDERS = {
    "ground_node": (False, False),
    "open_delta_regulator": (False, True),
    "closed_delta_regulator": (False, True),
    "jumpers": (False, False),
    "delta_3wire": (False, True),
    "exp_loads": (False, False),
    "combined": (True, True),
}

#: largest allowed difference [pu] of a line-to-line voltage and of a grounded node's voltage
TOL_PU = 1e-10
#: nodes of a delta 3-wire feeder float on the line capacitances: their voltage to ground is
#: only as well defined as OpenDSS's solution tolerance (1e-10) over that weak coupling allows
TOL_FLOATING_PU = 1e-8
#: relative difference of losses and substation power (small differences of large numbers)
TOL_POWER_REL = 1e-8


def complex_pu(res_node: pd.DataFrame) -> pd.Series:
    """Complex node voltages [pu of the bus's line-to-neutral base], by (bus, node)."""
    v = res_node.vm_pu.to_numpy() * np.exp(1j * np.radians(res_node.va_degree.to_numpy()))
    return pd.Series(v, index=pd.MultiIndex.from_frame(res_node[["bus", "node"]]))


def line_to_line_pu(v: pd.Series) -> pd.Series:
    """Complex voltages between every pair of phase nodes (1-3) of a bus [pu of the LL base]."""
    out = {}
    for bus, nodes in v.groupby(level="bus"):
        values = nodes.droplevel("bus")
        phases = sorted(n for n in values.index if n <= 3)
        for i, a in enumerate(phases):
            for b in phases[i + 1 :]:
                out[(bus, f"{a}-{b}")] = (values[a] - values[b]) / math.sqrt(3.0)
    return pd.Series(out)


def round_trip(name: str, tmp_path, settle: bool = False):
    """OpenDSS's solution of the original, the imported Feeder and OpenDSS's of its export."""
    master = FOLDER / f"{name}.dss"
    original = solve_opendss(master)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridV2GWarning)  # every feature is represented exactly
        feeder = from_opendss(master, solve=settle)
    exported = solve_opendss(feeder.to_opendss(tmp_path))
    return original, feeder, exported


def differences(original, exported) -> dict:
    """Largest node (LN and LL) voltage differences [pu] and relative power differences."""
    v0, v1 = complex_pu(original.res_node), complex_pu(exported.res_node)
    assert set(v0.index) == set(v1.index)
    v1 = v1[v0.index]
    ll0, ll1 = line_to_line_pu(v0), line_to_line_pu(v1)
    s0, s1 = original.summary, exported.summary
    rel = {
        key: abs(s1[key] - s0[key]) / abs(s0[key])
        for key in ("losses_kw", "losses_kvar", "substation_kw", "substation_kvar")
    }
    return {
        "ln_pu": float(np.max(np.abs(v1 - v0))),
        "ll_pu": float(np.max(np.abs(ll1[ll0.index] - ll0))),
        **rel,
    }


@pytest.mark.parametrize("name", list(FEEDERS))
def test_round_trip_reproduces_opendss(name, tmp_path):
    settle, floating = FEEDERS[name]
    original, _, exported = round_trip(name, tmp_path, settle)
    assert original.summary["converged"] and exported.summary["converged"]
    merged = original.res_node.merge(exported.res_node, on=["bus", "node"], validate="1:1")
    assert len(merged) == len(original.res_node) == len(exported.res_node)
    np.testing.assert_allclose(merged.vn_kv_ln_x, merged.vn_kv_ln_y, rtol=1e-12)
    diff = differences(original, exported)
    assert diff["ll_pu"] < TOL_PU, diff
    assert diff["ln_pu"] < (TOL_FLOATING_PU if floating else TOL_PU), diff
    for key in ("losses_kw", "losses_kvar", "substation_kw", "substation_kvar"):
        assert diff[key] < TOL_POWER_REL, (key, diff)
    # the test feeders are physically sensible: line-to-line voltages near 1 pu
    ll = line_to_line_pu(complex_pu(original.res_node)).abs()
    assert ll.between(0.9, 1.1).all(), ll[~ll.between(0.9, 1.1)]


def test_ground_node_connections():
    """``.0`` is ground: wye loads, capacitors and windings are grounded; 1-phase delta
    elements from a phase to ground are grounded wye; a wye neutral on a phase is kept."""
    feeder = from_opendss(FOLDER / "ground_node.dss")
    load = feeder.load[["nodes", "conn", "neutral"]].apply(tuple, axis=1).to_dict()
    assert load == {
        "wye1": ("1", "wye", 0),
        "wye3": ("1.2.3", "wye", 0),
        "d_to_ground": ("2", "wye", 0),  # bus1=b2.2.0 conn=delta
        "ground_to_d": ("3", "wye", 0),  # bus1=b1.0.3 conn=delta
        "across": ("1", "wye", 2),  # bus1=b2.1.2 phases=1 conn=wye
        "b3": ("3", "wye", 0),
        "lv": ("1", "wye", 0),
    }
    cap = feeder.capacitor[["nodes", "conn", "neutral"]].apply(tuple, axis=1).to_dict()
    assert cap == {"c3": ("1.2.3", "wye", 0), "c1": ("3", "wye", 0), "cd": ("2", "wye", 0)}
    t = feeder.transformer.loc["t1"]
    assert (t.from_nodes, t.to_nodes, t.from_neutral, t.to_neutral) == ("1", "1", 0, 0)
    # buses list their phase nodes only, as OpenDSS does apart from ground
    assert feeder.bus.at["lv", "nodes"] == "1"
    assert feeder.bus.at["b3", "nodes"] == "3"


def test_open_delta_bank_is_read_unit_by_unit():
    feeder = from_opendss(FOLDER / "open_delta_regulator.dss")
    t = feeder.transformer
    cols = ["from_bus", "to_bus", "from_nodes", "to_nodes", "from_neutral", "to_neutral"]
    assert tuple(t.loc["reg1", cols]) == ("799", "799r", "1", "1", 2, 2)
    assert tuple(t.loc["reg2", cols]) == ("799", "799r", "3", "3", 2, 2)
    assert t.loc["reg1", "to_tap"] == 1.0375 and t.loc["reg2", "to_tap"] == 1.025
    jumper = feeder.line.loc["jumper"]
    assert (jumper.from_bus, jumper.to_bus, jumper.from_nodes) == ("799", "799r", "2")
    # the bank and the jumper share one edge of the bus graph, carrying phases 1, 3 and 2
    edge = feeder.graph().edges["799", "799r"]
    assert sorted(edge["elements"]) == ["line.jumper", "transformer.reg1", "transformer.reg2"]


def test_jumpers_keep_opendss_impedances():
    """Jumper and switch impedances are OpenDSS's per-length matrices times its length."""
    master = FOLDER / "jumpers.dss"
    feeder = from_opendss(master)
    dss.Basic.AllowChangeDir(False)
    dss.Text.Command("clear")
    dss.Text.Command(f'compile "{master}"')
    dss.Text.Command("solve")  # OpenDSS's own matrices of sequence-impedance lines
    for name in ("jumper", "sw1", "short", "tie"):
        dss.Lines.Name(name)
        n = dss.Lines.Phases()
        r = np.reshape(dss.Lines.RMatrix(), (n, n)) * dss.Lines.Length()
        x = np.reshape(dss.Lines.XMatrix(), (n, n)) * dss.Lines.Length()
        z = feeder.line_z_ohm(name)
        np.testing.assert_allclose(z.real, r, rtol=1e-12, atol=1e-18, err_msg=name)
        np.testing.assert_allclose(z.imag, x, rtol=1e-12, atol=1e-18, err_msg=name)
    assert feeder.line_z_ohm("jumper")[0, 0] == pytest.approx(1e-3)  # r1=1e-3, x1=0, 1 unit
    assert feeder.line.at["sw1", "is_switch"]
    assert not feeder.line.at["jumper", "is_switch"]
    assert feeder.line.at["tie", "is_switch"] and not feeder.line.at["tie", "closed"]


def test_exponential_loads_are_exact(tmp_path):
    master = FOLDER / "exp_loads.dss"
    feeder = from_opendss(master)
    load = feeder.load
    assert set(load.index[load.model == "exp"]) == {"cvr3", "cvrd", "cvrdef"}
    dss.Basic.AllowChangeDir(False)
    dss.Text.Command("clear")
    dss.Text.Command(f'compile "{master}"')
    for name in ("cvr3", "cvrd", "cvrdef"):
        dss.Loads.Name(name)
        assert dss.Loads.Model() == 4
        assert load.at[name, "cvr_p"] == dss.Loads.CVRwatts()
        assert load.at[name, "cvr_q"] == dss.Loads.CVRvars()
    assert (load.at["cvrdef", "cvr_p"], load.at["cvrdef", "cvr_q"]) == (1.0, 2.0)
    assert load.loc["pq", ["cvr_p", "cvr_q"]].isna().all()
    text = feeder.to_opendss(tmp_path).read_text()
    assert "New Load.cvr3 " in text and "model=4 cvrwatts=0.8 cvrvars=3.0 " in text


def test_exponential_loads_in_the_balanced_equivalent():
    """Exponential loads become the ZIP load of equal power and slope at 1 pu."""
    z, i = zip_shares(np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0]))
    np.testing.assert_allclose(z, [0.0, 0.0, 0.0, 0.5, 1.0, 2.0])
    np.testing.assert_allclose(i, [0.0, 0.5, 1.0, 0.5, 0.0, -1.0])
    feeder = from_opendss(FOLDER / "exp_loads.dss")
    balanced = feeder.balanced()
    # bus b: cvr3 (900 kW with a = 0.8, 400 kvar with a = 3) and cvrdef (200 kW, 60 kvar;
    # OpenDSS's default a = 1 and 2)
    # (cvrdef is rated 7.2 kV on a 12.47 / sqrt(3) kV base: hence rel=1e-4)
    row = balanced.load.loc["b"]
    assert row.p_kw == pytest.approx(1100.0, rel=1e-4)
    assert row.const_i_p_percent == pytest.approx(100.0 * (900 * 0.8 + 200) / 1100, rel=1e-4)
    assert row.const_z_q_percent == pytest.approx(100.0 * (400 * 2.0 + 60) / 460, rel=1e-4)
    table = balanced_error(feeder)
    assert abs(table.at["substation_kw", "error_percent"]) < 1.0


def test_closed_delta_bank_in_the_balanced_equivalent():
    feeder = from_opendss(FOLDER / "closed_delta_regulator.dss")
    branch = feeder.balanced().branch
    bank = branch[branch.kind == "transformer"]
    assert len(bank) == 1
    assert bank.iloc[0].n_phases == 3
    assert bank.iloc[0].tap == pytest.approx((1.025 + 1.025 + 1.01875) / 3)
    table = balanced_error(feeder)
    assert abs(table.at["substation_kw", "error_percent"]) < 1.0
    # unequal taps: the real bank mixes them, the mean ratio is off by a few 1e-3 pu
    assert balanced_vs_line_to_line_pu(feeder) < 5e-3


@pytest.mark.parametrize("name", ["jumpers", "delta_3wire", "ground_node"])
def test_balanced_equivalent_runs(name):
    table = balanced_error(from_opendss(FOLDER / f"{name}.dss"))
    assert abs(table.at["substation_kw", "error_percent"]) < 1.0


def balanced_vs_line_to_line_pu(feeder) -> float:
    """Largest |balanced voltage - mean line-to-line voltage in OpenDSS| over buses [pu]."""
    ll = line_to_line_pu(complex_pu(opendss_solution(feeder).res_node)).abs()
    _, vm = pandapower_summary(feeder)
    mean_ll = ll.groupby(level=0).mean()
    return float((vm[mean_ll.index] - mean_ll).abs().max())


@pytest.mark.parametrize("name", ["open_delta_regulator", "combined"])
def test_open_delta_bank_in_the_balanced_equivalent(name):
    """One branch: mean ratio of the two units, the jumper folded in; checked against OpenDSS."""
    feeder = from_opendss(FOLDER / f"{name}.dss", solve=FEEDERS[name][0])
    branch = feeder.balanced().branch
    bank = branch[(branch.from_bus == "799") & (branch.to_bus == "799r")]
    assert len(bank) == 1 and bank.iloc[0].kind == "transformer"
    assert bank.iloc[0].elements == "transformer.reg1,transformer.reg2,line.jumper"
    assert "jumper" not in branch.index
    taps = feeder.transformer.loc[["reg1", "reg2"], "to_tap"]
    assert bank.iloc[0].tap == pytest.approx(taps.mean(), rel=1e-12)
    assert bank.iloc[0].sn_kva == pytest.approx(4000.0)  # 3/3 of the two units' 2000 kVA
    table = balanced_error(feeder)
    assert abs(table.at["substation_kw", "error_percent"]) < 1.0
    # a delta feeder's voltages are line-to-line: the equivalent follows their mean closely
    assert balanced_vs_line_to_line_pu(feeder) < 2e-3


def test_units_across_one_pair_twice_are_refused_by_the_equivalent():
    feeder = from_opendss(FOLDER / "open_delta_regulator.dss")
    trafo = feeder.transformer.copy()
    # reg2 across phases 2-1 (node 2, neutral 1): radial (it drives phase 2), but no delta bank
    trafo.loc["reg2", ["from_nodes", "to_nodes"]] = "2"
    trafo.loc["reg2", ["from_neutral", "to_neutral"]] = 1
    line = feeder.line.drop(index="jumper")
    odd = feeder.replace(transformer=trafo, line=line)
    with pytest.raises(FeederError, match="neither an open nor a closed delta") as info:
        odd.balanced()
    assert "transformer.reg1, transformer.reg2" in str(info.value)


def test_combined_feeder_reads_settled_regulator_taps():
    feeder = from_opendss(FOLDER / "combined.dss", solve=True)
    t = feeder.transformer
    assert t.is_regulator.sum() == 2
    assert (t.loc[["reg1", "reg2"], "to_tap"] > 1.0).all()  # the RegControls raised them
    assert set(t.loc[["rab", "rbc", "rca"], "from_conn"]) == {"delta"}
    assert list(t.loc[["rab", "rbc", "rca"], "from_nodes"]) == ["1.2", "2.3", "3.1"]
    assert set(feeder.load.model) == {"pq", "exp", "i", "z"}


def test_new_columns_survive_csv_storage(tmp_path):
    feeder = from_opendss(FOLDER / "combined.dss", solve=True)
    again = Feeder.from_dir(feeder.to_dir(tmp_path))
    for table in ("load", "capacitor", "transformer"):
        pd.testing.assert_frame_equal(getattr(again, table), getattr(feeder, table))


def test_ieee123_round_trip_stays_exact(tmp_path):
    """The IEEE 123-bus input at fixed taps: the export reproduces OpenDSS to ~1e-13 pu."""
    master = DATA / "ieee123" / "dss" / "IEEE123Master.dss"
    commands = [*ieee123_tap_commands(), "Set Controlmode=OFF"]
    original = solve_opendss(master, commands)
    feeder = from_opendss(master, commands=commands)
    diff = differences(original, solve_opendss(feeder.to_opendss(tmp_path)))
    assert diff["ln_pu"] < 1e-11, diff
    assert diff["losses_kw"] < 1e-9, diff


# ---------------------------------------------------------------------- bad input
def _write(tmp_path, body: str):
    master = tmp_path / "bad.dss"
    master.write_text(
        "clear\n"
        "new circuit.bad basekv=12.47 bus1=a\n"
        "new line.l1 bus1=a bus2=b r1=0.1 x1=0.2 r0=0.3 x0=0.6 length=1 units=km\n"
        f"{body}\n"
        "set voltagebases=[12.47]\ncalcv\n"
    )
    return master


@pytest.mark.parametrize(
    ("body", "element", "what"),
    [
        (
            "new transformer.t phases=1 buses=[b.0.1 c.1] kvs=[7.2 7.2] kvas=[50 50] xhl=2",
            "transformer.t",
            "reversed polarity",
        ),
        (
            "new line.l2 phases=2 bus1=b.1.0 bus2=c.1.2 r1=0.1 x1=0.2 length=1",
            "line.l2",
            "ground",
        ),
        (
            "new load.x bus1=b.1.2.0 phases=3 conn=delta kv=12.47 kw=10",
            "load.x",
            "ground",
        ),
        ("new load.x bus1=b.2.2 phases=1 kv=7.2 kw=10", "load.x", "short-circuited"),
        ("new load.x bus1=b.1.2.3.2 phases=3 kv=12.47 kw=10", "load.x", "own phase node"),
    ],
)
def test_unrepresentable_connections_name_the_element(tmp_path, body, element, what):
    with pytest.raises(FeederError, match=what) as info:
        from_opendss(_write(tmp_path, body))
    assert element in str(info.value)


def test_series_capacitor_is_listed_in_the_warning(tmp_path):
    master = _write(tmp_path, "new capacitor.cs bus1=b bus2=c kvar=300 kv=12.47")
    with pytest.warns(GridV2GWarning, match=r"series capacitors .*\['cs'\]"):
        feeder = from_opendss(master)
    assert feeder.capacitor.empty


def _tiny(changes: dict) -> dict:
    """Tables of conftest's tiny feeder with ``{(table, column): value}`` set on every row."""
    tables = tiny_tables()
    for (table, column), value in changes.items():
        tables[table][column] = value
    return tables


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({("load", "conn"): "delta", ("load", "neutral"): 1}, "delta element has no neutral"),
        ({("load", "nodes"): "1", ("load", "neutral"): 1}, "own phase nodes"),
        ({("load", "nodes"): "1", ("load", "neutral"): 7}, "not a node of bus"),
        ({("load", "neutral"): -1}, "neutral node must be >= 0"),
        ({("load", "model"): "exp"}, "needs its exponents cvr_p and cvr_q"),
        ({("load", "model"): "zipv"}, "model must be pq/z/i/exp"),
    ],
)
def test_bad_tables_name_the_row(changes, message):
    with pytest.raises(FeederError, match=message) as info:
        Feeder(name="tiny", **_tiny(changes))
    assert "table 'load', row 'ld_b'" in str(info.value)


def test_parallel_units_on_one_phase_pair_are_not_radial():
    feeder = from_opendss(FOLDER / "open_delta_regulator.dss")
    trafo = feeder.transformer.copy()
    trafo.loc["reg2", ["from_nodes", "to_nodes"]] = "1"  # both units now across phases 1-2
    with pytest.raises(FeederError, match=r"not radial.*799 and 799r"):
        feeder.replace(transformer=trafo)
