"""``python -m gridv2g``: the ``gridv2g`` command of the package on the path."""

from gridv2g.cli import app

if __name__ == "__main__":  # importing the module (e.g. pkgutil.walk_packages) runs nothing
    app(prog_name="gridv2g")
