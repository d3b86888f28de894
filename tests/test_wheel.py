"""A built wheel, installed non-editable into a fresh venv, loads every shipped feeder."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import gridv2g, sys
from pathlib import Path
from gridv2g.feeders import SHIPPED, networks_dir
print(gridv2g.__file__)
assert Path(gridv2g.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()), gridv2g.__file__
assert networks_dir().resolve().is_relative_to(Path(sys.prefix).resolve()), networks_dir()
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
    env_dir = tmp_path / "venv"
    # system site-packages give the dependencies; the wheel itself goes into the venv
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    python = env_dir / "bin" / "python"
    # --ignore-installed: the same version may already sit in the system site-packages
    # (CI installs the project there), and pip would then skip the wheel
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--ignore-installed",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    run = subprocess.run(
        [python, "-c", CHECK], cwd=outside, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "ieee123 132 3490.0" in run.stdout
    assert "ieee33 33 3715.0" in run.stdout
