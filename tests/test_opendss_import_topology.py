"""OpenDSS topology the importer must read as OpenDSS solves it: isolated buses, open switches,
disabled elements, and transformers with 3 windings.

Every feeder here is a small DSS file written into ``tmp_path``: a 12.47 kV source, a 3-phase
trunk ``src - a - b`` with loads, and one topology feature on top. The reference is OpenDSS's
own solution of that same file, computed in the test with opendssdirect alone (not through
gridv2g). An imported feeder must keep exactly the buses OpenDSS energizes, and its export
(:func:`gridv2g.feeders.compare.opendss_solution`) and its balanced power flow
(:func:`gridv2g.feeders.compare.pandapower_summary`, exact here: balanced loads on line codes with
equal mutual impedances) must reproduce OpenDSS's voltages there. What cannot be imported is a
typed error naming the master file and the element.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import opendssdirect as dss
import pandas as pd
import pytest

from gridv2g.errors import FeederError, GridV2GWarning
from gridv2g.feeders import from_opendss
from gridv2g.feeders.compare import opendss_solution, pandapower_summary
from gridv2g.feeders.dss_guard import Command, judge

#: a 3-phase trunk src - a - b with balanced loads, every bus near 1 pu; a stiff source, as
#: the balanced power flow holds the source bus at 1 pu
HEAD = """clear
new circuit.topo basekv=12.47 bus1=src pu=1.0 r1=1e-6 x1=1e-6 r0=1e-6 x0=1e-6
new linecode.lc nphases=3 units=km rmatrix=[0.3|0.1 0.3|0.1 0.1 0.3]
~ xmatrix=[0.6|0.2 0.6|0.2 0.2 0.6]
new line.l1 bus1=src bus2=a linecode=lc length=1
new line.l2 bus1=a bus2=b linecode=lc length=1
new load.la bus1=a kw=300 kvar=100 kv=12.47
new load.lb bus1=b kw=200 kvar=80 kv=12.47
"""
#: OpenDSS solution tolerance used for the reference and the export
TOLERANCE = 1e-10
#: largest allowed node voltage difference [pu] between OpenDSS and the imported feeder
TOL_PU = 1e-8


def write(tmp_path: Path, body: str, bases: str = "12.47", name: str = "topo.dss") -> Path:
    master = tmp_path / name
    master.write_text(f"{HEAD}{body}\nset voltagebases=[{bases}]\ncalcv\n")
    return master


def opendss_voltages(master: Path) -> pd.Series:
    """OpenDSS's own snapshot solution of ``master``: complex node voltages [pu of the bus's
    line-to-neutral base] by (bus, node), compiled and solved with opendssdirect alone."""
    dss.Basic.AllowChangeDir(False)  # keep pytest's working directory
    dss.Text.Command("clear")
    dss.Text.Command(f'compile "{master}"')
    dss.Text.Command(f"set tolerance={TOLERANCE}")
    dss.Text.Command("solve")
    assert dss.Solution.Converged()
    volts = np.asarray(dss.Circuit.AllBusVolts()).reshape(-1, 2) @ np.array([1.0, 1j])
    base = {}
    for bus in dss.Circuit.AllBusNames():
        dss.Circuit.SetActiveBus(bus)
        base[bus.lower()] = 1000.0 * dss.Bus.kVBase()
    index = [tuple(n.lower().rsplit(".", 1)) for n in dss.Circuit.AllNodeNames()]
    index = pd.MultiIndex.from_tuples([(b, int(n)) for b, n in index], names=["bus", "node"])
    return pd.Series(volts / np.array([base[b] for b, _ in index]), index=index)


def import_with_one_warning(master: Path):
    """``from_opendss(master)`` and the text of the one GridV2GWarning it must give."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        feeder = from_opendss(master)
    ours = [str(w.message) for w in record if issubclass(w.category, GridV2GWarning)]
    assert len(ours) == 1, ours
    return feeder, ours[0]


def assert_matches_opendss(feeder, master: Path, energized: set[str]) -> None:
    """The feeder holds exactly the buses OpenDSS energizes (``energized``, checked against
    OpenDSS's own 0 V on the others), and reproduces OpenDSS's voltages on them."""
    ref = opendss_voltages(master)
    live = ref.groupby(level="bus").apply(lambda v: bool((v.abs() > 0.5).all()))
    dead = ref.groupby(level="bus").apply(lambda v: bool((v.abs() < 1e-12).all()))
    assert set(live.index[live]) == energized
    assert set(dead.index[dead]) == set(ref.index.get_level_values("bus")) - energized
    assert set(feeder.bus.index) == energized
    # the export of the imported feeder, solved by OpenDSS
    res = opendss_solution(feeder).res_node
    v = pd.Series(
        res.vm_pu.to_numpy() * np.exp(1j * np.radians(res.va_degree.to_numpy())),
        index=pd.MultiIndex.from_frame(res[["bus", "node"]]),
    )
    ref_live = ref[ref.index.get_level_values("bus").isin(energized)]
    assert set(v.index) == set(ref_live.index)
    assert np.max(np.abs(v[ref_live.index] - ref_live)) < TOL_PU
    # gridv2g's balanced power flow: exact for these balanced feeders
    _, vm = pandapower_summary(feeder)
    mean = ref_live.abs().groupby(level="bus").mean()
    np.testing.assert_allclose(vm[mean.index], mean, rtol=0, atol=1e-6)


# ---------------------------------------------------------------------- 1. isolated buses
def test_isolated_buses_are_left_out_with_one_warning(tmp_path):
    """A load on a bus nothing feeds, and a line (with a capacitor) between two such buses."""
    master = write(
        tmp_path,
        "new load.lx bus1=x kw=50 kv=12.47\n"
        "new line.lyz bus1=y bus2=z linecode=lc length=1\n"
        "new capacitor.cz bus1=z kvar=100 kv=12.47\n",
    )
    feeder, message = import_with_one_warning(master)
    assert "3 de-energized bus(es) left out" in message
    assert "x, y, z" in message
    assert "lines lyz" in message and "loads lx" in message and "capacitors cz" in message
    assert "no element joins them to the source" in message
    assert list(feeder.load.index) == ["la", "lb"] and feeder.capacitor.empty
    assert_matches_opendss(feeder, master, {"src", "a", "b"})


def test_source_connected_to_nothing_is_an_error(tmp_path):
    """The only line out of the source starts elsewhere: OpenDSS energizes no other bus."""
    master = tmp_path / "nosource.dss"
    master.write_text(HEAD.replace("bus1=src bus2=a", "bus1=q bus2=a") + "calcv\n")
    with pytest.raises(FeederError, match="is connected to nothing") as info:
        from_opendss(master)
    message = str(info.value)
    assert str(master) in message
    assert "Vsource.source at bus 'src'" in message and "q, a, b" in message
    ref = opendss_voltages(master)
    assert (ref.drop("src", level="bus").abs() < 1e-12).all()


def test_source_cut_off_by_an_open_line_names_it(tmp_path):
    master = write(tmp_path, "open line.l1 1\n")
    with pytest.raises(FeederError, match=r"connected to nothing.*Line\.l1 \(open at terminal 1\)"):
        from_opendss(master)


# ---------------------------------------------------------------------- 2. open switches
@pytest.mark.parametrize("opening", ["open line.sw 1", "open line.sw", "open line.sw 2 0"])
def test_open_switch_de_energizes_what_lies_behind_it(tmp_path, opening):
    """Buses reachable only through an open switch are left out, the switch named as the
    cause; the open tie from the dead part back to the trunk is no loop and no path."""
    master = write(
        tmp_path,
        "new line.sw bus1=b bus2=c switch=yes\n"
        "new line.l3 bus1=c bus2=d linecode=lc length=1\n"
        "new load.ld bus1=d kw=100 kv=12.47\n"
        "new line.tie bus1=d bus2=a switch=yes\n"
        f"{opening}\n"
        "open line.tie 1\n",
    )
    feeder, message = import_with_one_warning(master)
    terminal = "2" if " 2" in opening else "1"
    assert "2 de-energized bus(es) left out" in message and ": c, d;" in message
    assert f"cut off by Line.sw (open at terminal {terminal}), Line.tie" in message
    assert "loads ld" in message
    assert set(feeder.line.index) == {"l1", "l2"}
    assert_matches_opendss(feeder, master, {"src", "a", "b"})


def test_normally_open_tie_is_not_a_loop(tmp_path):
    """A tie switch that would close a loop: open, it stays in the table, open, and the feeder
    is radial; closed, the same file is a loop (so the open state is what makes it radial)."""
    body = (
        "new line.l3 bus1=b bus2=c linecode=lc length=1\n"
        "new line.tie bus1=c bus2=a switch=yes\n"
        "new load.lc bus1=c kw=100 kv=12.47\n"
    )
    master = write(tmp_path, body + "open line.tie 2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridV2GWarning)  # nothing left out
        feeder = from_opendss(master)
    assert feeder.line.at["tie", "is_switch"] and not feeder.line.at["tie", "closed"]
    assert feeder.line.drop(index="tie")["closed"].all()
    assert_matches_opendss(feeder, master, {"src", "a", "b", "c"})
    closed = write(tmp_path, body, name="closed.dss")
    with pytest.raises(FeederError, match="not radial") as info:
        from_opendss(closed)
    assert str(closed) in str(info.value)


def test_partly_open_line_is_an_error(tmp_path):
    """One phase open: OpenDSS keeps the other two energized, so neither dropping the line
    nor keeping it whole is right."""
    master = write(
        tmp_path,
        "new line.l3 bus1=b bus2=c linecode=lc length=1\n"
        "new load.lc bus1=c kw=100 kv=12.47\n"
        "open line.l3 1 2\n",
    )
    with pytest.raises(FeederError, match="partly open") as info:
        from_opendss(master)
    message = str(info.value)
    assert str(master) in message and "Line.l3 (terminal 1 at bus b)" in message
    assert "conductor(s) [2]" in message
    ref = opendss_voltages(master)
    assert abs(ref["c", 1]) > 0.9 and abs(ref["c", 3]) > 0.9  # what dropping c would deny


def test_open_transformer_is_left_out(tmp_path):
    master = write(
        tmp_path,
        "new transformer.t phases=3 windings=2 buses=[b lv] conns=[delta wye] "
        "kvs=[12.47 0.48] kvas=[300 300] xhl=2\n"
        "new load.llv bus1=lv kw=50 kv=0.48\n"
        "open transformer.t 2\n",
        bases="12.47 0.48",
    )
    feeder, message = import_with_one_warning(master)
    assert "open transformers left out (they carry no power): t (terminal 2)" in message
    assert "cut off by Transformer.t (open at terminal 2)" in message
    assert feeder.transformer.empty
    assert_matches_opendss(feeder, master, {"src", "a", "b"})


@pytest.mark.parametrize(
    "command", ["Open Line.sw 1", "Close Line.sw 1", "Disable Line.sw", "Enable Line.sw"]
)
def test_topology_commands_pass_the_guard(tmp_path, command):
    assert judge(Command(command, None, 0, tmp_path), tmp_path) == "run"


# ---------------------------------------------------------------------- 3. 3-winding transformers
THREE_WINDING = {
    "three_phase": (
        "new transformer.t3 phases=3 windings=3 buses=[b m lv] conns=[wye wye delta] "
        "kvs=[12.47 4.16 0.48] kvas=[1000 600 400] xhl=5 xht=6 xlt=4\n"
        "new load.lm bus1=m kw=100 kv=4.16\n"
        "new load.llv bus1=lv kw=50 kv=0.48\n",
        "12.47 4.16 0.48",
        "Transformer.t3 has 3 windings (buses b, m, lv)",
    ),
    "center_tapped": (
        "new transformer.t3 phases=1 windings=3 buses=[b.1 s.1.0 s.0.2] conns=[wye wye wye] "
        "kvs=[7.2 0.12 0.12] kvas=[50 50 50] %rs=[0.6 1.2 1.2] xhl=2.04 xht=2.04 xlt=1.36\n"
        "new load.house bus1=s.1.2 phases=1 kv=0.24 kw=10\n",
        "12.47 0.24",
        "Transformer.t3 has 3 windings (buses b, s, s)",
    ),
}


@pytest.mark.parametrize("kind", list(THREE_WINDING))
def test_energized_three_winding_transformer_is_refused(tmp_path, kind):
    body, bases, what = THREE_WINDING[kind]
    master = write(tmp_path, body, bases=bases)
    with pytest.raises(FeederError) as info:
        from_opendss(master)
    message = str(info.value)
    assert str(master) in message and what in message
    assert "gridv2g holds 2-winding transformers only" in message
    assert "model it as 2-winding transformers" in message
    assert "only through it, so they cannot be imported" in message
    # OpenDSS does energize what lies behind it: leaving it out would be a false claim
    ref = opendss_voltages(master)
    behind = ref[ref.index.get_level_values("bus").isin(["m", "lv", "s"])]
    assert len(behind) and (behind.abs() > 0.5).all()


def test_three_winding_transformer_in_a_dead_island_is_left_out(tmp_path):
    master = write(
        tmp_path,
        "new line.lyz bus1=y bus2=z linecode=lc length=1\n"
        "new transformer.t3 phases=3 windings=3 buses=[z m lv] conns=[wye wye delta] "
        "kvs=[12.47 4.16 0.48] kvas=[1000 600 400] xhl=5 xht=6 xlt=4\n"
        "new load.lm bus1=m kw=100 kv=4.16\n",
        bases="12.47 4.16 0.48",
    )
    feeder, message = import_with_one_warning(master)
    assert ": lv, m, y, z;" in message and "transformers t3" in message
    assert_matches_opendss(feeder, master, {"src", "a", "b"})


def test_series_element_feeding_buses_is_refused(tmp_path):
    """A series reactor gridv2g does not read, with a load behind it that OpenDSS feeds."""
    master = write(
        tmp_path,
        "new reactor.rs phases=3 bus1=b bus2=r r=0.1 x=1\nnew load.lr bus1=r kw=10 kv=12.47\n",
    )
    with pytest.raises(FeederError, match=r"Reactor\.rs \(buses b, r\)") as info:
        from_opendss(master)
    assert str(master) in str(info.value) and "bus(es) r only through it" in str(info.value)


# ---------------------------------------------------------------------- 4. disabled elements
DISABLING = {
    "property": "new line.l3 bus1=b bus2=c linecode=lc length=1 enabled=no\n",
    "edit": "new line.l3 bus1=b bus2=c linecode=lc length=1\nline.l3.enabled=false\n",
    "command": "new line.l3 bus1=b bus2=c linecode=lc length=1\ndisable line.l3\n",
}


@pytest.mark.parametrize("how", list(DISABLING))
def test_disabled_elements_are_not_there(tmp_path, how):
    """A disabled line, load, capacitor and transformer are ignored as OpenDSS ignores them;
    what only the disabled line fed is de-energized, the line named as the cause."""
    master = write(
        tmp_path,
        DISABLING[how] + "new load.lc bus1=c kw=100 kv=12.47\n"
        "new load.off bus1=b kw=999 kvar=300 kv=12.47 enabled=no\n"
        "new capacitor.coff bus1=b kvar=999 kv=12.47\n"
        "disable capacitor.coff\n"
        "new transformer.toff phases=3 windings=2 buses=[a lv] conns=[delta wye] "
        "kvs=[12.47 0.48] kvas=[300 300] xhl=2 %noloadloss=5 %imag=5\n"
        "new load.llv bus1=lv kw=100 kv=0.48\n"
        "transformer.toff.enabled=no\n",
        bases="12.47 0.48",
    )
    feeder, message = import_with_one_warning(master)
    assert (
        "disabled elements ignored, as OpenDSS does: "
        "Line.l3, Load.off, Capacitor.coff, Transformer.toff" in message
    )
    assert "cut off by Line.l3 (disabled)" in message
    assert "de-energized bus(es) left out" in message and ": c, lv;" in message
    assert set(feeder.load.index) == {"la", "lb"}
    assert feeder.capacitor.empty and feeder.transformer.empty
    assert_matches_opendss(feeder, master, {"src", "a", "b"})
