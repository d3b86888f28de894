"""Every notebook runs top to bottom and shows at least one figure.

The notebooks are executed here (nbclient, the kernel of the interpreter running the tests)
instead of by a plugin, so that their outputs can be read: a notebook whose plots stopped
appearing (e.g. a library switching matplotlib's backend) fails like one that raises."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def _images(nb) -> int:
    return sum(
        "image/png" in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_shows_a_figure(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    assert _images(nb) >= 1, f"{path.name} ran but shows no figure"


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 10
