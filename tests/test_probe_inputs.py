"""Generated bad inputs end as a valid result or a typed gridv2g error, never as a raw
exception, a NaN in a summary, a program run or a file written outside the example's folder.

The edit space is the one of ``scripts/probe_inputs.py`` (edits of the shipped cases, of a
session CSV and of the IEEE 13 feeder: hostile values, deleted and unknown fields, duplicate
keys, non-UTF-8 bytes, YAML tags and aliases, injected OpenDSS commands); hypothesis draws a
small, fixed (derandomized) sample of it here so that CI stays within its budget. The script
runs thousands of examples, each in a worker process that is replaced on a crash or hang.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "probe_inputs.py"
_spec = importlib.util.spec_from_file_location("probe_inputs", SCRIPT)
probe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(probe)

INDEX = st.integers(0, 10**6)
SETTINGS = dict(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def outcome_of(kind: str, edits: list, base: str | None = None) -> str:
    scratch = Path(tempfile.mkdtemp(prefix="gridv2g_probe_test_"))
    try:
        folder = scratch / "example"
        folder.mkdir()
        return probe.run_in(kind, edits, base, folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def acceptable(outcome: str) -> bool:
    return outcome.startswith(("result", "typed:"))


@settings(max_examples=40, **SETTINGS)
@given(
    base=st.sampled_from(sorted(probe.BASE_CASES)),
    edits=st.lists(
        st.tuples(st.sampled_from(["set", "scale", "delete", "unknown", "text"]), INDEX, INDEX),
        min_size=1,
        max_size=3,
    ),
)
def test_generated_case_files(base, edits):
    outcome = outcome_of("case", edits, base)
    assert acceptable(outcome), (base, edits, outcome)


@settings(max_examples=60, **SETTINGS)
@given(edits=st.lists(st.tuples(INDEX, INDEX, INDEX, INDEX), min_size=1, max_size=3))
def test_generated_session_files(edits):
    outcome = outcome_of("sessions", edits)
    assert acceptable(outcome), (edits, outcome)


@settings(max_examples=30, **SETTINGS)
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(["delete", "duplicate", "number", "inject"]), INDEX, INDEX),
        min_size=1,
        max_size=3,
    )
)
def test_generated_feeder_files(edits):
    outcome = outcome_of("dss", edits)
    assert acceptable(outcome), (edits, outcome)


def test_every_hostile_feeder_command_stays_inert():
    """Each injected command of the pool on its own: no program runs, nothing is written
    outside the example's folder (the markers), and the outcome is typed or a result."""
    for k in range(len(probe.DSS_INJECT)):
        outcome = outcome_of("dss", [("inject", 30, k)])
        assert acceptable(outcome), (probe.DSS_INJECT[k], outcome)


def test_the_probe_sees_a_raw_exception(monkeypatch, tmp_path):
    """The probe's own detector: a raw exception of gridv2g is reported as raw, a typed one
    as typed (so the tests above can fail)."""
    import gridv2g.fleet
    from gridv2g.errors import SessionError

    def raw(path):
        raise KeyError("boom")

    def typed(path):
        raise SessionError("bad")

    monkeypatch.setattr(gridv2g.fleet, "read_sessions", raw)
    outcome = probe.run_example("sessions", [(0, 0, 0, 0)], None, tmp_path)
    assert outcome.startswith("raw:KeyError") and not acceptable(outcome)
    monkeypatch.setattr(gridv2g.fleet, "read_sessions", typed)
    assert probe.run_example("sessions", [(0, 0, 0, 0)], None, tmp_path) == "typed:SessionError"
