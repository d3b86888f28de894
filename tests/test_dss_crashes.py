"""Feeder files that crash OpenDSS itself get an error instead: a ``~`` line that continues
an element an Edit, Select, Open, property line or ``Set Element`` named but the feeder lacks
makes DSS C-API 0.14 dereference nothing (a segmentation fault of the interpreter). Each file
is imported in a child process, so that a regression fails this test instead of killing the
test run."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAD = "Clear\nNew Circuit.c basekv=12.47 bus1=src\nNew linecode.lc nphases=3\n"
CHILD = """
import sys
from gridv2g.errors import OpenDSSError
from gridv2g.feeders import from_opendss
try:
    from_opendss(sys.argv[1])
except OpenDSSError as exc:
    print("OpenDSSError:", exc)
    sys.exit(3)
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # OpenDSS accepts an Edit of a missing element silently: the guard stops the '~'
        ("Edit linecode.nope r1=1\n~ r0=2\n", "master.dss:4: 'Edit linecode.nope r1=1' edits"),
        ("Edit object=Line.nope length=1\nmore length=2\n", "master.dss:4: 'Edit object=Line"),
        ("BatchEdit Line..* length=2\n~ length=2\n", "master.dss:5: '~ length=2' continues"),
        # here OpenDSS itself reports the missing element (only a caught error went on)
        ("Select Line.nope\n~ length=2\n", "master.dss:4 on 'Select Line.nope': (#245)"),
        ("Line.nope.length=1\n~ length=2\n", "master.dss:4 on 'Line.nope.length=1'"),
        ("Open Line.nope\n~ length=2\n", "master.dss:4 on 'Open Line.nope'"),
        ("Set Element=Line.nope\n~ length=2\n", "master.dss:4 on 'Set Element=Line.nope'"),
    ],
)
def test_a_continuation_of_a_missing_element_is_an_error_not_a_crash(tmp_path, body, expected):
    master = tmp_path / "master.dss"
    master.write_text(HEAD + body)
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(master)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 3, (run.returncode, run.stderr[-500:])
    assert expected in run.stdout


def test_continuation_lines_of_real_elements_still_run(tmp_path):
    master = tmp_path / "master.dss"
    master.write_text(
        HEAD
        + "New Line.a bus1=src bus2=b linecode=lc\n~ length=2\n"
        + "New Transformer.t windings=2 buses=[b c] kVs=[12.47 0.48] kVAs=[500 500]\n"
        + "~ xhl=3\nEdit Line.a\n~ length=4\nSet voltagebases=[12.47 0.48]\ncalcv\n"
    )
    from gridv2g.feeders import from_opendss

    feeder = from_opendss(master)
    assert feeder.line.loc["a", "length_km"] == pytest.approx(4.0)


@pytest.mark.parametrize(
    "line",
    [
        "New Transformer.t phases=10000000 windings=2 buses=[src b] kVs=[12.47 0.48]",
        "New Line.a bus1=src bus2=b phases=1e9",
        "New linecode.big nphases=100000",
    ],
)
def test_array_sizes_beyond_reason_are_an_error_not_a_crash(tmp_path, line):
    master = tmp_path / "master.dss"
    master.write_text(HEAD + line + "\n")
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(master)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 3, (run.returncode, run.stderr[-500:])
    assert "master.dss:4" in run.stdout and "OpenDSS would allocate" in run.stdout
