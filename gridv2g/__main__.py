"""``python -m gridv2g``: the ``gridv2g`` command of the package on the path."""

from gridv2g.cli import app

app(prog_name="gridv2g")
