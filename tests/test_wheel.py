"""A built wheel, installed non-editable into a folder of its own, loads every shipped feeder.

The wheel goes to a ``pip install --target`` folder put first on the path of the interpreter
running the tests: its dependencies are whatever that interpreter has (a user's venv, CI's
system Python), and the wheel's own gridv2g shadows any installed one. A venv with system
site-packages would see the *base* interpreter's packages instead, not those of a venv the
tests run in (the failure a fresh-venv run showed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIP = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q"]

CHECK = """
import gridv2g, sys
from pathlib import Path
from gridv2g.feeders import SHIPPED, networks_dir
print(gridv2g.__file__)
site = Path(sys.argv[1]).resolve()
assert Path(gridv2g.__file__).resolve().is_relative_to(site), gridv2g.__file__
assert networks_dir().resolve().is_relative_to(site), networks_dir()
for name, make in SHIPPED.items():
    s = make().summary()
    print(name, s["buses"], s["p_kw"])
"""


def test_wheel_ships_the_feeder_data(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("gridv2g-*.whl"))
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run(
        [sys.executable, "-c", CHECK, str(target)],
        cwd=outside,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert "ieee123 132 3490.0" in run.stdout
    assert "ieee33 33 3715.0" in run.stdout
