"""A case written into a result folder so that the folder travels: ``case.yaml`` with relative
paths and every input file it names copied under ``inputs/``.

``gridv2g validate`` (and anyone with the folder) reads the case back from the folder alone,
wherever it was moved: no absolute ``base_dir`` is written (``load_case`` sets it to the
folder), and the copied inputs sit inside the folder, which is where a case file may read.

What is copied: a ``csv`` file as it is; a ``tables`` folder (``Feeder.to_dir``) whole; an
``opendss`` master with the ``.dss``, ``.csv`` and ``.txt`` files of its folder tree, because
its ``Redirect``/``Compile`` lines and LoadShape ``mult=(file=...)`` name them relative to the
master. Shipped feeders and standard profiles are the package's own and are not copied.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from gridv2g.case.specs import CaseError

#: case fields that name input files or folders (relative to the case's folder)
FILE_FIELDS = ("csv", "opendss", "tables")
#: what an OpenDSS master's folder contributes (its redirects, load shapes, bus coordinates)
DSS_SUFFIXES = (".dss", ".csv", ".txt")
#: refuse to copy more than this into a result folder [bytes]
MAX_COPY_BYTES = 500 * 2**20
INPUTS = "inputs"


def _files(root: Path, skip: Path, suffixes: tuple[str, ...] | None) -> list[Path]:
    """Files under ``root`` (recursive), leaving out anything inside ``skip`` (the result
    folder itself, when it lies inside the input folder)."""
    out = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.resolve().is_relative_to(skip):
            continue
        if suffixes is None or path.suffix.lower() in suffixes:
            out.append(path)
    return out


def portable_mapping(case, folder: str | Path) -> dict:
    """Copy the inputs that ``case`` names into ``folder/inputs`` and return the case as a
    mapping whose paths are relative to ``folder`` (no ``base_dir``). Raises a CaseError when
    the inputs exceed :data:`MAX_COPY_BYTES`."""
    folder = Path(folder).resolve()
    base = Path(case.base_dir).resolve()
    raw = case.model_dump(mode="json")
    raw.pop("base_dir", None)
    copies: dict[Path, Path] = {}  # source file -> path relative to the folder
    outside = 0

    def place(source: Path) -> Path:
        """Where ``source`` goes under inputs/: its path below the case's folder, or
        ``outside/<n>/<name>`` for a file the case was allowed to read from elsewhere."""
        nonlocal outside
        source = source.resolve()
        if source.is_relative_to(base):
            return Path(INPUTS) / source.relative_to(base)
        outside += 1
        return Path(INPUTS) / "outside" / str(outside) / source.name

    def visit(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in FILE_FIELDS and isinstance(value, str):
                    node[key] = plan(key, value)
                else:
                    visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    def plan(key: str, value: str) -> str:
        source = case.path(value)
        if key == "csv":
            target = place(source)
            copies[source.resolve()] = target
            return target.as_posix()
        root = source if key == "tables" else source.parent
        target_root = place(root)
        suffixes = None if key == "tables" else DSS_SUFFIXES
        for member in _files(root, folder, suffixes):
            copies[member.resolve()] = target_root / member.resolve().relative_to(root.resolve())
        target = target_root if key == "tables" else target_root / source.name
        return target.as_posix()

    visit(raw)
    size = sum(src.stat().st_size for src in copies)
    if size > MAX_COPY_BYTES:
        raise CaseError(
            f"case '{case.name}': its input files take {size / 2**20:.0f} MB, more than the "
            f"{MAX_COPY_BYTES / 2**20:.0f} MB a result folder copies"
        )
    for source, target in copies.items():
        destination = folder / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    return raw


def write_case(case, folder: str | Path) -> Path:
    """Write ``folder/case.yaml`` (relative paths) and copy its inputs (module docstring)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    raw = portable_mapping(case, folder)
    path = folder / "case.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path
