"""The AC replay takes pandapower's compiled numba kernels once they exist.

pandapower 3.x compiles ``create_J2`` (not ``create_J``) for feeders without PV buses; a check
that looked at ``create_J`` alone never saw the compiled kernel. Run in a fresh interpreter so
that "not compiled yet" is a real starting point."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import pandapower as pp, pandapower.networks as pn
from gridv2g.validation.pandapower import numba_compiled, use_numba
before = numba_compiled()
net = pn.case33bw()
pp.runpp(net, numba=True)   # forces the compile of the kernels this feeder uses
print(before, numba_compiled(), use_numba(33, 1))
"""


def test_compiled_kernels_are_detected_and_used():
    run = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=False, timeout=300
    )
    assert run.returncode == 0, run.stderr
    before, after, used = run.stdout.split()
    assert before == "False"  # nothing compiled in a fresh process
    assert after == "True"  # the kernel pandapower compiled is seen
    assert used == "True"  # and a small replay then takes the compiled path


def test_matplotlib_backend_is_left_alone():
    """Importing every gridv2g module leaves matplotlib's backend as the user set it."""
    code = (
        "import matplotlib; matplotlib.use('svg'); import pkgutil, importlib, gridv2g\n"
        "for m in pkgutil.walk_packages(gridv2g.__path__, 'gridv2g.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(matplotlib.get_backend())"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "svg"
