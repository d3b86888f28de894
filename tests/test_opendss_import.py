"""OpenDSS import on a small hand-written feeder, checked against OpenDSS itself.

``tests/data/small_feeder/Master.dss`` has a 3-phase trunk with phase-matrix line codes (kft and
mi), a 2-phase and a 1-phase lateral, a line given by sequence impedances per foot, a closed
switch, wye / delta / 3-phase loads of models 1, 2 and 5, two capacitors and a delta-wye
step-down transformer. OpenDSS (opendssdirect, compiled directly here) is the reference for
every count, impedance and voltage. opendssdirect has one global engine: each test compiles
what it reads.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import opendssdirect as dss
import pytest
from conftest import DATA

from gridv2g.errors import GridV2GWarning, OpenDSSError
from gridv2g.feeders import from_opendss, solve_opendss

FOLDER = DATA / "small_feeder"
MASTER = FOLDER / "Master.dss"
WITH_UNSUPPORTED = FOLDER / "with_unsupported.dss"
BROKEN = FOLDER / "broken.dss"

KM_PER_FT = 0.3048e-3
KM_PER_KFT = 0.3048
KM_PER_MI = 1.609344


def compile_directly(path) -> None:
    """Compile ``path`` with opendssdirect alone (not through gridv2g)."""
    dss.Basic.AllowChangeDir(False)  # keep pytest's working directory
    dss.Text.Command("clear")
    dss.Text.Command(f'compile "{path}"')


def opendss_line(name: str) -> dict:
    """Total R, X [ohm] and C [nF] matrices, units code and length of one line, from OpenDSS."""
    dss.Lines.Name(name)
    n = dss.Lines.Phases()
    length = dss.Lines.Length()
    return {
        "r": np.reshape(dss.Lines.RMatrix(), (n, n)) * length,
        "x": np.reshape(dss.Lines.XMatrix(), (n, n)) * length,
        "c": np.reshape(dss.Lines.CMatrix(), (n, n)) * length,
        "units": dss.Lines.Units(),
        "length": length,
    }


@pytest.fixture(scope="module")
def feeder():
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridV2GWarning)  # Master.dss is fully representable
        return from_opendss(MASTER)


def test_counts_match_opendss(feeder):
    compile_directly(MASTER)
    assert len(feeder.bus) == dss.Circuit.NumBuses() == 9
    assert len(feeder.line) == dss.Lines.Count() == 7
    assert len(feeder.load) == dss.Loads.Count() == 6
    assert len(feeder.capacitor) == dss.Capacitors.Count() == 2
    assert len(feeder.transformer) == dss.Transformers.Count() == 1
    assert set(feeder.bus.index) == {b.lower() for b in dss.Circuit.AllBusNames()}
    assert feeder.name == "small_feeder"
    assert feeder.frequency_hz == 60.0
    assert feeder.source.iloc[0].bus == "sourcebus"


def test_bus_nodes_and_bases_match_opendss(feeder):
    compile_directly(MASTER)
    for bus in dss.Circuit.AllBusNames():
        dss.Circuit.SetActiveBus(bus)
        nodes = ".".join(str(n) for n in sorted(dss.Bus.Nodes()))
        assert feeder.bus.at[bus, "nodes"] == nodes, bus
        assert feeder.bus.at[bus, "vn_kv"] == pytest.approx(dss.Bus.kVBase() * math.sqrt(3.0))
    assert feeder.bus.at["b5", "nodes"] == "1.3"
    assert feeder.bus.at["b6", "nodes"] == "2"
    assert feeder.bus.at["lv", "vn_kv"] == pytest.approx(0.48, rel=1e-12)
    assert feeder.bus.at["b4", "vn_kv"] == pytest.approx(12.47, rel=1e-12)


def test_laterals_switch_and_lengths(feeder):
    line = feeder.line
    assert (line.at["l4", "from_nodes"], line.at["l4", "to_nodes"]) == ("1.3", "1.3")
    assert (line.at["l5", "from_nodes"], line.at["l5", "to_nodes"]) == ("2", "2")
    for name in ("l1", "l2", "l3", "l6", "sw1"):
        assert line.at[name, "from_nodes"] == line.at[name, "to_nodes"] == "1.2.3"
    assert feeder.linecode.at[line.at["l4", "linecode"], "n_phases"] == 2
    assert feeder.linecode.at[line.at["l5", "linecode"], "n_phases"] == 1
    assert line.at["sw1", "is_switch"] and line.at["sw1", "closed"]
    assert not line.drop(index="sw1")["is_switch"].any()
    assert line["closed"].all()
    # lengths in km from the units written in the file (ft, kft, mi)
    expected_km = {
        "l1": 2.0 * KM_PER_KFT,
        "l2": 1.5 * KM_PER_MI,
        "l3": 3.0 * KM_PER_KFT,
        "l4": 1600 * KM_PER_FT,
        "l5": 2.5 * KM_PER_KFT,
        "l6": 800 * KM_PER_FT,
    }
    for name, km in expected_km.items():
        assert line.at[name, "length_km"] == pytest.approx(km, rel=1e-12), name
    assert line.at["l1", "max_i_a"] == 420.0
    assert line.at["l1", "emerg_i_a"] == 630.0
    # 400/600 A is OpenDSS's default pair: read as "no rating" unless asked to keep it
    assert np.isnan(line.at["l3", "max_i_a"])


def test_default_amps_can_be_kept():
    line = from_opendss(MASTER, keep_default_amps=True).line
    assert line.at["l3", "max_i_a"] == 400.0
    assert line.at["l3", "emerg_i_a"] == 600.0


def test_line_impedances_match_opendss(feeder):
    """Total ohm / nF matrices equal OpenDSS's per-length matrices times its length."""
    compile_directly(MASTER)
    units = {}
    for name in feeder.line.index:
        ref = opendss_line(name)
        units[name] = ref["units"]
        z = feeder.line_z_ohm(name)
        np.testing.assert_allclose(z.real, ref["r"], rtol=1e-12, atol=1e-15, err_msg=name)
        np.testing.assert_allclose(z.imag, ref["x"], rtol=1e-12, atol=1e-15, err_msg=name)
        c = feeder.linecode_z(feeder.line.at[name, "linecode"])[2]
        c_total = c * feeder.line.at[name, "length_km"]
        np.testing.assert_allclose(c_total, ref["c"], rtol=1e-12, atol=1e-15, err_msg=name)
    # the file exercises OpenDSS length units kft (2), mi (1) and ft (5)
    assert units["l1"] == units["l3"] == units["l5"] == 2
    assert units["l2"] == 1
    assert units["l4"] == units["l6"] == 5


def test_per_km_values_from_the_file(feeder):
    """Per-km line codes computed by hand from the numbers written in Master.dss."""
    r, x, c = feeder.linecode_z(feeder.line.at["l1", "linecode"])
    assert r[0, 0] == pytest.approx(0.086666667 / KM_PER_KFT, rel=1e-12)
    assert x[2, 1] == pytest.approx(0.080227273 / KM_PER_KFT, rel=1e-12)
    assert c[1, 0] == pytest.approx(-0.920293787 / KM_PER_KFT, rel=1e-12)
    np.testing.assert_allclose(r, r.T)
    r, x, c = feeder.linecode_z(feeder.line.at["l2", "linecode"])
    assert r[1, 1] == pytest.approx(0.3375 / KM_PER_MI, rel=1e-12)
    assert x[2, 0] == pytest.approx(0.4236 / KM_PER_MI, rel=1e-12)
    r, x, _ = feeder.linecode_z(feeder.line.at["l4", "linecode"])  # per mi, length in ft
    assert r[0, 1] == pytest.approx(0.2066 / KM_PER_MI, rel=1e-12)
    assert x[1, 1] == pytest.approx(1.3471 / KM_PER_MI, rel=1e-12)
    # l6: sequence impedances per ft -> Zs = (2 Z1 + Z0) / 3, Zm = (Z0 - Z1) / 3
    z = feeder.line_z_ohm("l6")
    ft = 800.0
    assert z[0, 0] == pytest.approx(complex(2 * 5.8e-5 + 1.5e-4, 2 * 1.19e-4 + 3.6e-4) / 3 * ft)
    assert z[0, 1] == pytest.approx(complex(1.5e-4 - 5.8e-5, 3.6e-4 - 1.19e-4) / 3 * ft)


def test_loads_capacitors_transformer(feeder):
    compile_directly(MASTER)
    load = feeder.load
    assert load.at["ld_b7_delta", "conn"] == "delta"
    assert load.at["ld_b7_delta", "nodes"] == "1.2"
    assert load.at["ld_b7_delta", "vn_kv"] == pytest.approx(12.47)
    assert (load.at["ld_b6", "conn"], load.at["ld_b6", "nodes"]) == ("wye", "2")
    assert (load.at["ld_b5", "bus"], load.at["ld_b5", "nodes"]) == ("b5", "3")
    assert load.at["ld_b4_z", "nodes"] == load.at["ld_b7_i", "nodes"] == "1.2.3"
    models = {"pq": 1, "z": 2, "i": 5}
    idx = dss.Loads.First()
    while idx > 0:
        name = dss.Loads.Name()
        assert models[load.at[name, "model"]] == dss.Loads.Model(), name
        assert load.at[name, "p_kw"] == pytest.approx(dss.Loads.kW(), rel=1e-12)
        assert load.at[name, "q_kvar"] == pytest.approx(dss.Loads.kvar(), rel=1e-12)
        assert load.at[name, "vn_kv"] == pytest.approx(dss.Loads.kV(), rel=1e-12)
        idx = dss.Loads.Next()
    assert load.model.to_dict() == {
        "ld_b6": "pq",
        "ld_b5": "pq",
        "ld_b7_delta": "pq",
        "ld_b4_z": "z",
        "ld_b7_i": "i",
        "ld_lv": "pq",
    }

    cap = feeder.capacitor
    assert (cap.at["cap3", "nodes"], cap.at["cap3", "q_kvar"]) == ("1.2.3", 300.0)
    assert (cap.at["cap1", "bus"], cap.at["cap1", "nodes"]) == ("b5", "1")
    assert (cap.at["cap1", "q_kvar"], cap.at["cap1", "vn_kv"]) == (50.0, 7.2)

    t = feeder.transformer.loc["t1"]
    assert (t.from_bus, t.to_bus, t.from_conn, t.to_conn) == ("b4", "lv", "delta", "wye")
    assert (t.from_nodes, t.to_nodes) == ("1.2.3", "1.2.3")
    assert (t.from_kv, t.to_kv, t.sn_kva, t.x_percent) == (12.47, 0.48, 300.0, 2.5)
    assert (t.from_r_percent, t.to_r_percent) == (0.55, 0.55)
    assert not t.is_regulator


def test_round_trip_reproduces_opendss(feeder, tmp_path):
    """Master.dss -> Feeder -> to_opendss: OpenDSS solves both to the same node voltages."""
    original = solve_opendss(MASTER)
    exported = solve_opendss(feeder.to_opendss(tmp_path))
    s0, s1 = original.summary, exported.summary
    assert s0["converged"] and s1["converged"]
    assert 0.93 < s0["vmin_pu"] and s0["vmax_pu"] < 1.05  # a physically sensible test feeder
    merged = original.res_node.merge(exported.res_node, on=["bus", "node"], validate="1:1")
    assert len(merged) == len(original.res_node) == len(exported.res_node) == 24
    np.testing.assert_allclose(merged.vn_kv_ln_x, merged.vn_kv_ln_y, rtol=1e-12)
    np.testing.assert_allclose(merged.vm_pu_x, merged.vm_pu_y, rtol=0, atol=1e-6)
    np.testing.assert_allclose(merged.va_degree_x, merged.va_degree_y, rtol=0, atol=1e-4)
    assert s1["losses_kw"] == pytest.approx(s0["losses_kw"], rel=1e-4)
    assert s1["losses_kvar"] == pytest.approx(s0["losses_kvar"], rel=1e-4)
    assert s1["substation_kw"] == pytest.approx(s0["substation_kw"], rel=1e-4)
    assert s1["substation_kvar"] == pytest.approx(s0["substation_kvar"], rel=1e-4)


def test_balanced_total_load_equals_rated_load(feeder):
    """The z and i loads are rated at their bus base voltage, so nothing is rescaled."""
    compile_directly(MASTER)
    rated_kw = 0.0
    idx = dss.Loads.First()
    while idx > 0:
        rated_kw += dss.Loads.kW()
        idx = dss.Loads.Next()
    assert rated_kw == pytest.approx(2240.0)
    balanced = feeder.balanced()
    assert balanced.total_load_kw == pytest.approx(rated_kw, rel=5e-3)
    assert balanced.total_load_kw == pytest.approx(rated_kw, rel=1e-9)
    assert balanced.load.at["b7", "p_kw"] == pytest.approx(80.0 + 700.0, rel=1e-9)


def test_unsupported_elements_are_listed_in_one_warning(feeder):
    with pytest.warns(GridV2GWarning) as record:
        with_extra = from_opendss(WITH_UNSUPPORTED)
    ours = [w for w in record if issubclass(w.category, GridV2GWarning)]
    assert len(ours) == 1
    message = str(ours[0].message)
    assert "Generator" in message and "gen1" in message
    assert "Reactor" in message and "reac1" in message
    # everything else is read as from Master.dss
    for table in ("bus", "line", "load", "capacitor", "transformer"):
        assert list(getattr(with_extra, table).index) == list(getattr(feeder, table).index)


def test_compile_error_names_file_and_line():
    text = BROKEN.read_text().splitlines()
    lineno = next(i for i, s in enumerate(text, start=1) if "no_such_code" in s)
    assert lineno == 9
    with pytest.raises(OpenDSSError) as info:
        from_opendss(BROKEN)
    message = str(info.value)
    assert "broken.dss" in message
    assert "no_such_code" in message  # OpenDSS's own message
    assert f"broken.dss:{lineno}" in message  # the file and the line


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "Missing.dss"
    with pytest.raises(OpenDSSError, match="not found") as info:
        from_opendss(missing)
    assert str(missing.resolve()) in str(info.value)


def test_line_without_units_takes_its_linecode_units(tmp_path):
    """OpenDSS reads a unit-less length in the line code's units; so must the importer."""
    master = tmp_path / "nounits.dss"
    master.write_text(
        "clear\n"
        "new circuit.x basekv=12.47 bus1=a\n"
        "new linecode.lc nphases=3 units=kft rmatrix=[0.1|0.03 0.1|0.03 0.03 0.1] "
        "xmatrix=[0.2|0.1 0.2|0.1 0.1 0.2]\n"
        "new line.l1 bus1=a bus2=b linecode=lc length=0.8\n"
        "new load.x bus1=b kw=100 kv=12.47\n"
        "set voltagebases=[12.47]\ncalcv\n"
    )
    feeder = from_opendss(master)
    assert feeder.line.at["l1", "length_km"] == pytest.approx(0.8 * KM_PER_KFT, rel=1e-12)
    compile_directly(master)
    dss.Lines.Name("l1")
    assert dss.Lines.Units() == 0  # the case this test is about
    total_r = np.reshape(dss.Lines.RMatrix(), (3, 3)) * dss.Lines.Length()
    np.testing.assert_allclose(feeder.line_z_ohm("l1").real, total_r, rtol=1e-12)


def test_other_load_models_are_mapped_with_a_warning(tmp_path):
    master = tmp_path / "models.dss"
    master.write_text(
        "clear\n"
        "new circuit.x basekv=12.47 bus1=a\n"
        "new line.l1 bus1=a bus2=b r1=0.1 x1=0.2 r0=0.3 x0=0.6 length=1 units=km\n"
        "new load.cvr bus1=b kw=100 kv=12.47 model=4\n"
        "new load.zipv bus1=b kw=50 kv=12.47 model=8 zipv=[0.3 0.3 0.4 0.3 0.3 0.4 0.5]\n"
        "new load.pq bus1=b kw=20 kv=12.47 model=1\n"
        "set voltagebases=[12.47]\ncalcv\n"
    )
    with pytest.warns(GridV2GWarning) as record:
        feeder = from_opendss(master)
    message = " ".join(str(w.message) for w in record)
    assert "cvr" not in message  # model 4 (exponential) is represented exactly
    assert "['zipv']: model 8 (ZIPV) mapped to constant PQ" in message
    assert feeder.load.model.to_dict() == {"cvr": "exp", "zipv": "pq", "pq": "pq"}
    # OpenDSS's default exponents: CVRwatts=1, CVRvars=2
    assert (feeder.load.at["cvr", "cvr_p"], feeder.load.at["cvr", "cvr_q"]) == (1.0, 2.0)
