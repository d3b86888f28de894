"""kill -9 of a running batch, again and again: no finished row lost, no process left, the
resumed table equal to an uninterrupted run's (scripts/probe_batch_kills.py, on a CI budget)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "probe_batch_kills.py"


def _probe_module(monkeypatch):
    # scripts/ is no package: the test runs the script's own code, loaded from its file (and
    # listed in sys.modules while the test runs, where its dataclasses look themselves up)
    spec = importlib.util.spec_from_file_location("probe_batch_kills", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_killed_batches_lose_nothing_and_leave_no_process(tmp_path, monkeypatch):
    """Three kills at seeded random moments of a six-scenario sweep on two pool workers."""
    probe = _probe_module(monkeypatch)
    sweep = probe.write_sweep(tmp_path / "sweep", sizes=(300, 600, 900), seeds=(1, 2))
    report = probe.probe(sweep, tmp_path, kills=3, seed=1, workers=2, echo=lambda _: None)
    assert report.kills == 3
    assert report.lost == []
    assert report.orphans == []
    assert report.differences == []
